// Pad's geometry, shared by the reference kernel (layout.cpp) and the fast one (layout_fast.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

enum class PadMode : uint8_t { constant, edge, wrap, reflect };

struct PadPlan {
  std::vector<int64_t> dims;    // the output's
  std::vector<int64_t> before;  // elements added (negative: removed) before each axis
  PadMode mode = PadMode::constant;
  ir::Tensor fill;  // constant mode: one element of the input's type
};

// Reads pads, axes, mode and value of the opset in force. Throws mhub::Error (format) naming the
// node for pads of the wrong length or negative padded sizes.
PadPlan plan_pad(OpContext& ctx);

// The input index an output coordinate (already shifted by `before`) reads on an axis of `size`
// elements, or -1 where constant mode (or an empty axis) writes the fill value.
int64_t pad_source_index(PadMode mode, int64_t coordinate, int64_t size);

}  // namespace mhub::engine::cpu
