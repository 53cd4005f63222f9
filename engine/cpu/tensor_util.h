// Small helpers the CPU kernels share: element sizes, strides, axis checks, reading index
// tensors, element copies that also work for string tensors, and broadcast offsets (the
// broadcast shape rule and axis normalisation are engine/ops/shape.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

// Bytes per element; throws mhub::Error (unsupported) naming the node for packed sub-byte types.
size_t element_bytes(const OpContext& ctx, ir::DataType dtype);

inline uint8_t* mutable_bytes(ir::Tensor& tensor) {
  return tensor.storage ? tensor.storage->mutable_data() + tensor.offset : nullptr;
}
template <typename T>
T* mutable_data(ir::Tensor& tensor) {
  return reinterpret_cast<T*>(mutable_bytes(tensor));
}

// Row-major strides (in elements) of `dims`.
std::vector<int64_t> strides_of(const std::vector<int64_t>& dims);

// What a Slice node (attributes before opset 10, else inputs starts, ends [, axes, steps]) takes
// from an input of `dims`: per axis the first index, the step and the output's size (indices
// normalised and clamped as ONNX specifies). Throws mhub::Error (format) naming the node.
struct SliceWindow {
  std::vector<int64_t> begin, step, dims;
};
SliceWindow slice_window(const OpContext& ctx, const std::vector<int64_t>& dims);

// The values of an integer tensor (int32/int64/int16/int8/uint*) as int64.
std::vector<int64_t> read_int_values(const OpContext& ctx, const ir::Tensor& tensor);

// dst[i] = src[source_index(i)] for every element of dst (same dtype), strings included.
// source_index is called in order i = 0, 1, ...
template <typename IndexFn>
void copy_elements(const OpContext& ctx, const ir::Tensor& src, ir::Tensor& dst, IndexFn source_index) {
  size_t count = dst.numel();
  if (src.dtype == ir::DataType::string) {
    for (size_t i = 0; i < count; ++i) dst.strings[i] = src.strings[source_index(i)];
    return;
  }
  size_t width = element_bytes(ctx, src.dtype);
  const uint8_t* in = src.bytes();
  uint8_t* out = mutable_bytes(dst);
  switch (width) {
    case 1: for (size_t i = 0; i < count; ++i) out[i] = in[source_index(i)]; break;
    case 2: for (size_t i = 0; i < count; ++i) std::memcpy(out + 2 * i, in + 2 * source_index(i), 2); break;
    case 4: for (size_t i = 0; i < count; ++i) std::memcpy(out + 4 * i, in + 4 * source_index(i), 4); break;
    case 8: for (size_t i = 0; i < count; ++i) std::memcpy(out + 8 * i, in + 8 * source_index(i), 8); break;
    default:
      for (size_t i = 0; i < count; ++i) std::memcpy(out + width * i, in + width * source_index(i), width);
  }
}

// Copies element src[from] to dst[to] (same dtype).
void copy_one(const ir::Tensor& src, size_t from, ir::Tensor& dst, size_t to, size_t width);

// A fresh tensor with the same contents (allocated through the context).
ir::Tensor& copy_to_output(OpContext& ctx, size_t output, const ir::Tensor& src,
                           const std::vector<int64_t>& dims);

// Source offsets for an output of `out_dims` whose axis i advances the source by strides[i]
// (a table of one offset per element: for small tensors and strings).
std::vector<size_t> strided_offsets(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& strides,
                                    int64_t base);
// dst[i] = src[base + sum(index[a] * strides[a])] over dst's dims `out_dims`, walking counters
// and copying the innermost axis in a tight loop (memcpy when its stride is 1). A stride of 0
// repeats (broadcasts) the source along that axis.
void strided_copy(const OpContext& ctx, const ir::Tensor& src, ir::Tensor& dst,
                  const std::vector<int64_t>& out_dims, const std::vector<int64_t>& strides, int64_t base);

// For each element of `out_dims` (row-major), the element offset in an input of `in_dims`
// broadcast to it.
std::vector<size_t> broadcast_offsets(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& out_dims);

}  // namespace mhub::engine::cpu

namespace mhub::engine::cpu {

// float16 / bfloat16 kernels compute in float: widen an input to a float32 tensor (from the
// session's pool) and narrow a float32 result into an output of the narrow type.
bool is_narrow_float(ir::DataType dtype);
ir::Tensor widen_to_float(OpContext& ctx, const ir::Tensor& tensor);
void narrow_from_float(const ir::Tensor& wide, ir::Tensor& out);

}  // namespace mhub::engine::cpu
