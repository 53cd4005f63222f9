// Slice's and Pad's geometry, shared by the reference kernels (layout.cpp) and the fast ones
// (layout_fast.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

// Slice as a strided view of its input: output dims, the input element stride of each output
// axis (negative for negative steps) and the offset of the first element.
struct SlicePlan {
  std::vector<int64_t> dims, strides;
  int64_t base = 0;
};

// Reads starts / ends / axes / steps of the opset in force, clamped as the ONNX spec says (a
// negative step clamps the start into [0, dim - 1] and the end into [-1, dim - 1]). Throws mhub::Error (format) naming the node
// for step 0 or operands of different lengths.
SlicePlan plan_slice(OpContext& ctx);

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
