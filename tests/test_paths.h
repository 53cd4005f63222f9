// Where the checkout and the build folder of the test binaries are. Compiled into one file
// (test_paths.cpp, the only one given the two paths as definitions) so that the absolute paths
// stay out of every other test's compile command: a checkout in another folder then hits the
// compiler cache for everything else.
#pragma once

#include <string>

namespace mhub::test {

const std::string& source_dir();  // PROJECT_SOURCE_DIR of the build
const std::string& binary_dir();  // PROJECT_BINARY_DIR of the build

}  // namespace mhub::test
