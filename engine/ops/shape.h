// Shape rules every backend shares (host code): how errors name a node, axis normalisation,
// products of dims, and the numpy broadcast of operand shapes with the error a kernel reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/host_device.h"

namespace mhub::engine::ops {

// "<op_type> '<name>'" (the name only when it has one): how kernels' errors name their node.
std::string describe(const ir::Node& node);

// Throws mhub::Error (format) "<node>: <what>; check the model with `mhub check`".
[[noreturn]] void fail(const ir::Node& node, const std::string& what);

// ONNX negative axis -> [0, rank) without a check (callers that validated already, device code).
MHUB_HOST_DEVICE constexpr int64_t wrap_axis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

// ONNX negative axis -> [0, rank); throws mhub::Error (format) naming the node when `axis` is
// outside [-rank, rank).
int64_t normalize_axis(const ir::Node& node, int64_t axis, int64_t rank);

// Product of dims[begin, end) (clamped to dims.size()); 1 for an empty range.
int64_t dims_product(const std::vector<int64_t>& dims, size_t begin, size_t end);

// The values of an integer tensor (int8..int64, uint8..uint64) in host memory as int64; throws
// mhub::Error (format) naming the node for other element types.
std::vector<int64_t> int_values(const ir::Node& node, const ir::Tensor& tensor);

// The numpy broadcast of `shapes`; throws mhub::Error (format) naming the node and listing the
// shapes when they do not broadcast.
std::vector<int64_t> broadcast_shapes(const ir::Node& node, const std::vector<std::vector<int64_t>>& shapes);

}  // namespace mhub::engine::ops
