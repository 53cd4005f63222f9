// Helpers shared by the format tests: fixture paths and tensor comparison.
#pragma once

#include <cstring>
#include <filesystem>
#include <string>

#include "engine/ir/tensor.h"
#include "tests/test_paths.h"

namespace mhub::test {

inline std::filesystem::path format_fixture(const std::string& name) {
  return std::filesystem::path(mhub::test::source_dir()) / "tests" / "fixtures" / "formats" / name;
}

// Same dtype, dims and bytes.
inline bool same_tensor(const ir::Tensor& a, const ir::Tensor& b) {
  if (a.dtype != b.dtype || a.dims != b.dims || a.byte_size() != b.byte_size()) return false;
  return a.byte_size() == 0 || std::memcmp(a.bytes(), b.bytes(), a.byte_size()) == 0;
}

}  // namespace mhub::test
