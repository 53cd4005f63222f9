// Comparing an engine result with an expected value, as the ONNX backend suite does:
// |actual - expected| <= atol + rtol * |expected| for floating types, NaN equals NaN, infinities
// must match exactly; integers, bools and strings must be equal. Shapes and element types must
// match exactly. The one comparison of results: conformance, the runner and the op specs'
// backend-suite cases (tests/ops/mini_runner) use it.
#pragma once

#include <optional>
#include <string>

#include "engine/core/value.h"

namespace mhub::runner {

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

// nullopt when equal within tolerance, else why not (first differing element, counts).
std::optional<std::string> compare_values(const engine::Value& actual, const engine::Value& expected,
                                          const Tolerance& tolerance = {});

}  // namespace mhub::runner
