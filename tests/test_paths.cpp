#include "tests/test_paths.h"

namespace mhub::test {

const std::string& source_dir() {
  static const std::string dir = MHUB_SOURCE_DIR;
  return dir;
}

const std::string& binary_dir() {
  static const std::string dir = MHUB_BINARY_DIR;
  return dir;
}

}  // namespace mhub::test
