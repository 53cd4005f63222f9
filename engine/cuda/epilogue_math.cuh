// The fused activations (engine/ops/activation.h) as device code, shared by the GEMM and
// convolution epilogues and the Gelu kernel (formulas and NaN handling as
// engine/cpu/epilogue.cpp). Include only from .cu files.
#pragma once

#include "engine/ops/activation.h"

namespace mhub::engine::cuda {

// lo / hi: ops::FusedActivation's alpha / beta (Clip bounds, LeakyRelu / HardSigmoid parameters).
__device__ inline float apply_activation(float v, ops::Activation act, float lo, float hi) {
  if (v != v) return v;
  switch (act) {
    case ops::Activation::none: return v;
    case ops::Activation::relu: return v > 0.0f || v != v ? v : 0.0f;
    case ops::Activation::clip: return v != v ? v : (v < lo ? lo : (v > hi ? hi : v));
    case ops::Activation::gelu: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case ops::Activation::gelu_tanh:
      return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case ops::Activation::leaky_relu: return v < 0.0f ? lo * v : v;
    case ops::Activation::sigmoid: return 1.0f / (1.0f + expf(-v));
    case ops::Activation::silu: return v / (1.0f + expf(-v));
    case ops::Activation::hard_sigmoid: return fminf(1.0f, fmaxf(0.0f, lo * v + hi));
    case ops::Activation::hard_swish: return v * fminf(1.0f, fmaxf(0.0f, v / 6.0f + 0.5f));
    case ops::Activation::tanh: return tanhf(v);
  }
  return v;
}

}  // namespace mhub::engine::cuda
