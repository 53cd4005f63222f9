// cuDNN helpers shared by the conv and pool families' host code: RAII descriptors (an error
// thrown midway releases them), the TF32 switch, and the spatial geometry of engine/ops as the
// 2-D form cuDNN takes (or a clear unsupported error naming the node).
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cuda/cuda_check.h"
#include "engine/ops/conv_geometry.h"

namespace mhub::engine::cuda {

// MHUB_CUDA_TF32=1 lets cuDNN use TF32 tensor cores for float32 (results then differ from the CPU's).
inline bool tf32_allowed() {
  const char* tf32 = std::getenv("MHUB_CUDA_TF32");
  return tf32 && std::string(tf32) == "1";
}

// RAII holders so an error thrown midway releases the descriptors.
struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc() { MHUB_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  void set4(int64_t n, int64_t c, int64_t h, int64_t w) {
    MHUB_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(n),
                                                static_cast<int>(c), static_cast<int>(h), static_cast<int>(w)));
  }
};
struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc() { MHUB_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d)); }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
};
struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc() { MHUB_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d)); }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
};
struct PoolDesc {
  cudnnPoolingDescriptor_t d = nullptr;
  PoolDesc() { MHUB_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&d)); }
  ~PoolDesc() { cudnnDestroyPoolingDescriptor(d); }
};

// The spatial geometry as 2-D (a 1-D op gets a unit first axis), or an unsupported error.
struct Geometry2d {
  int64_t in_h, in_w, k_h, k_w, out_h, out_w, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w;
};

inline Geometry2d geometry_2d(OpContext& ctx, const ops::ConvGeometry& g) {
  if (g.rank() != 1 && g.rank() != 2)
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": the CUDA backend runs 1-D and 2-D spatial ops only; use --device cpu");
  for (size_t i = 0; i < g.rank(); ++i)
    if (g.pad_begin[i] != g.pad_end[i])
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": cuDNN needs symmetric pads; use --device cpu");
  const bool one = g.rank() == 1;
  const size_t w = one ? 0 : 1;
  return {one ? 1 : g.in[0], g.in[w], one ? 1 : g.kernel[0], g.kernel[w], one ? 1 : g.out[0], g.out[w],
          one ? 0 : g.pad_begin[0], g.pad_begin[w], one ? 1 : g.stride[0], g.stride[w],
          one ? 1 : g.dilation[0], g.dilation[w]};
}

}  // namespace mhub::engine::cuda
