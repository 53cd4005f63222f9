// The fused activations as device code, shared by the GEMM and convolution epilogues (formulas
// and NaN handling as engine/cpu/epilogue.cpp). Include only from .cu files.
#pragma once

#include "engine/cuda/matmul.cuh"

namespace mhub::engine::cuda {

__device__ inline float apply_activation(float v, EpilogueActivation act, float lo, float hi) {
  switch (act) {
    case EpilogueActivation::none: return v;
    case EpilogueActivation::relu: return v > 0.0f || v != v ? v : 0.0f;
    case EpilogueActivation::clip: return v != v ? v : (v < lo ? lo : (v > hi ? hi : v));
    case EpilogueActivation::gelu: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case EpilogueActivation::gelu_tanh:
      return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  }
  return v;
}

}  // namespace mhub::engine::cuda
