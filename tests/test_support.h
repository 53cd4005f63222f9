// Shared helpers for mhub's tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include "tests/test_paths.h"

namespace mhub::test {

// ../shared beside the checkout (MHUB_SHARED overrides).
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("MHUB_SHARED")) return env;
  return std::filesystem::path(mhub::test::source_dir()) / ".." / "shared";
}

inline std::filesystem::path backend_tests_dir() { return shared_dir() / "onnx-backend-tests"; }

// A fresh empty folder under the build tree, removed by nobody (ctest runs are short-lived).
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::path(mhub::test::binary_dir()) / "test-scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace mhub::test
