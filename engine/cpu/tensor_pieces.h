// Cutting tensors into pieces along an axis and putting pieces back together: shared by
// Split/ConcatFromSequence, Loop/Scan (scan inputs and outputs) and ReverseSequence.
// Works on every dtype of at least one byte per element and on string tensors; new tensors come
// from `scope` (the session's buffer pool).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

// Elements [start, start+length) of `axis`; the axis stays (size `length`).
ir::Tensor slice_axis(const ir::Tensor& t, size_t axis, int64_t start, int64_t length, ExecutionScope& scope);

// Element `index` of `axis`, with that axis removed.
ir::Tensor take_axis(const ir::Tensor& t, size_t axis, int64_t index, ExecutionScope& scope);

// Joins `parts` along `axis`; when `new_axis`, the parts gain a size-1 axis there first (stack).
// All parts must share dtype and every other dim; `who` names the node for errors. `parts` must
// not be empty.
ir::Tensor concat_axis(const std::vector<ir::Tensor>& parts, size_t axis, bool new_axis,
                       ExecutionScope& scope, const std::string& who);

}  // namespace mhub::engine::cpu
