// Small helpers shared by the neural-net op families (conv, pool, norm, matmul, softmax, rnn,
// resize, attention). Kernels of these families compute in float: inputs of float16, bfloat16
// and double are widened to float on entry and narrowed back on exit, which keeps one loop per
// op and stays within the conformance tolerance (rtol 1e-3).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

// True for the element types the float-computing kernels accept.
bool is_nn_float(ir::DataType type);
// SupportsFn: input 0 is float32/float16/bfloat16/double.
bool nn_float_input(const ir::Node& node, std::span<const ir::DataType> types);

// Input `index` as float values (a copy for non-float32 types). Throws mhub::Error (unsupported)
// naming the node for other element types.
std::vector<float> input_floats(OpContext& ctx, size_t index);
// Allocates output `index` with `dtype` and `dims` and stores `values` (numel of them) in it,
// narrowing to dtype.
void output_floats(OpContext& ctx, size_t index, ir::DataType dtype,
                   const std::vector<int64_t>& dims, const float* values);
// For a kernel the passes allowed to write output `out` over input `in` (nn_fusion.h's in-place
// marks: this node reads that input last and a pool-writing node made it): where nothing but the
// session's slot and its buffer pool holds the input's storage now (a view of it elsewhere, such
// as a Reshape's output, adds an owner), output `out` becomes the input's tensor and its writable
// bytes are returned; otherwise nullptr, and the kernel allocates its output as usual. The caller
// must not read an input element after writing the output element over it.
uint8_t* output_over_input(OpContext& ctx, size_t out, size_t in);
// The reference Conv kernel (conv.cpp): also the fast Conv's fallback for a fused residual
// (input 3) that is not exactly the output's shape.
void conv_reference(OpContext& ctx);
// The reference Softmax / LogSoftmax / Hardmax kernel (softmax.cpp), by the node's op: the fast
// kernels' path for axes they do not handle.
void softmax_reference(OpContext& ctx);

// Eight floats at any address (unaligned, may alias float): GCC's vector extension, one ymm
// register in an AVX2 clone (target_clones), two SSE ones in the baseline; `b > a ? b : a` is one
// vmaxps. What the channels-last MaxPool (pool_fast.cpp) and Concat (layout_channels_last.cpp)
// compare and copy by.
typedef float FloatLanes8 __attribute__((vector_size(32), aligned(4), may_alias));

// Writable float pointer into an allocated tensor of dtype float32.
inline float* mutable_floats(ir::Tensor& t) {
  return reinterpret_cast<float*>(t.storage->mutable_data() + t.offset);
}
// Input `index` read as int64 values (int32/int64 tensors), e.g. shapes, sizes, lengths.
std::vector<int64_t> input_ints(OpContext& ctx, size_t index);

// The values of a 4-D [N, C, H, W] tensor reordered from NCHW to NHWC byte order (to_nhwc) or
// back: how reference kernels honour channels-last marks (engine/core/passes/channels_last.h).
std::vector<float> change_layout_4d(const std::vector<float>& v, const std::vector<int64_t>& dims, bool to_nhwc);

// Throws mhub::Error (format) "<node>: <what>; check the model with `mhub check`" (ops::fail).
[[noreturn]] void fail(OpContext& ctx, const std::string& what);

}  // namespace mhub::engine::cpu
