// The activations the load-time passes fuse into Conv / Gemm / MatMul (engine/ops/fused_activation.h
// reads and writes them as node attributes): plain C++ that CPU kernels and CUDA kernels share.
#pragma once

#include <cstdint>

namespace mhub::engine::ops {

// NaN propagates through every one (Relu and Clip keep a NaN input).
enum class Activation : uint8_t { none, relu, clip, gelu, gelu_tanh };

}  // namespace mhub::engine::ops
