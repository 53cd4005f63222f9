// The activations the load-time passes fuse into Conv / Gemm / MatMul (engine/ops/fused_activation.h
// reads and writes them as node attributes): plain C++ that CPU kernels and CUDA kernels share.
#pragma once

#include <cstdint>

namespace mhub::engine::ops {

// NaN propagates through every one (Relu and Clip keep a NaN input). Parameters (FusedActivation's
// alpha / beta, as ONNX's activation_alpha / activation_beta): Clip min / max, LeakyRelu's alpha,
// HardSigmoid's alpha and beta. silu is x * Sigmoid(x) (Swish with alpha 1); hard_swish is ONNX
// HardSwish, x * HardSigmoid(x) with alpha 1/6, beta 0.5.
enum class Activation : uint8_t {
  none, relu, clip, gelu, gelu_tanh, leaky_relu, sigmoid, silu, hard_sigmoid, hard_swish, tanh
};

}  // namespace mhub::engine::ops
