// Helpers for the fine-tuning tests: fixture paths and float comparisons.
#pragma once

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/ir/npy.h"
#include "tests/test_support.h"
#include "tests/test_paths.h"

namespace mhub::test {

inline std::filesystem::path train_fixtures() { return std::filesystem::path(mhub::test::source_dir()) / "tests" / "fixtures" / "train"; }

inline std::vector<float> fixture_floats(const std::string& relative) {
  return ir::npy_floats(ir::read_npy(train_fixtures() / relative));
}

// Largest |a - b| / max(1, |b|) over the two arrays (sizes must match; returns inf otherwise).
inline double max_relative_error(const std::vector<float>& actual, const std::vector<float>& expected) {
  if (actual.size() != expected.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::fabs(double(actual[i]) - expected[i]) / std::max(1.0, std::fabs(double(expected[i]))));
  return worst;
}

}  // namespace mhub::test
