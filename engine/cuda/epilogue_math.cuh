// The fused activations (engine/ops/activation.h) as device code, shared by the GEMM and
// convolution epilogues and the Gelu kernel (formulas and NaN handling as
// engine/cpu/epilogue.cpp). Include only from .cu files.
#pragma once

#include "engine/ops/activation.h"

namespace mhub::engine::cuda {

__device__ inline float apply_activation(float v, ops::Activation act, float lo, float hi) {
  switch (act) {
    case ops::Activation::none: return v;
    case ops::Activation::relu: return v > 0.0f || v != v ? v : 0.0f;
    case ops::Activation::clip: return v != v ? v : (v < lo ? lo : (v > hi ? hi : v));
    case ops::Activation::gelu: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case ops::Activation::gelu_tanh:
      return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  }
  return v;
}

}  // namespace mhub::engine::cuda
