// What fused MatMul / Gemm nodes do to their finished output rows: add a row bias and apply the
// activation the load-time passes recorded (engine/ops/fused_activation.h), plus the fast GELU
// the Gelu kernel shares.
//
// fast = false is the reference: plain loops with libm's erf/tanh on the calling thread.
// fast = true: rows are split over the session's thread pool and GELU, Sigmoid, SiLU and Tanh use
// branch-free formulas the compiler vectorises (fast_math.h; relative error a few 1e-7; NaN
// propagates, GELU(+inf) = +inf, GELU(-inf) = NaN exactly as the formula
// x * 0.5 * (1 + erf(x / sqrt 2)) gives).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/op_context.h"
#include "engine/core/thread_pool.h"
#include "engine/ir/graph.h"
#include "engine/ops/activation.h"

namespace mhub::engine::cpu {

using Activation = ops::Activation;

struct Epilogue {
  const float* bias = nullptr;  // one value per column, or nullptr
  Activation act = Activation::none;
  float alpha = 0, beta = 0;  // as ops::FusedActivation: Clip bounds, LeakyRelu / HardSigmoid parameters
  bool any() const { return bias || act != Activation::none; }
};

// The node's fused activation (ops::fused_activation_of: none when absent, unknown names throw);
// `bias` as given.
Epilogue epilogue_of(const ir::Node& node, const float* bias);

// The epilogue of a MatMul the load-time passes merged with its bias Add and/or activation
// (engine/core/passes/matmul_fusion.h): input 2, when present, is the row bias (float32, n
// values; anything else fails naming the node).
Epilogue matmul_epilogue(OpContext& ctx, int64_t n);

// y[r * n + j] = act(y[r * n + j] + bias[j]) for r < rows, j < n.
void apply_epilogue(const Epilogue& e, float* y, int64_t rows, int64_t n, bool fast, ThreadPool& pool);

// A Conv fused with the Add after it (nn_fusion) reads the Add's other operand as input 3:
// y (dims y_dims, the Conv's output) + residual broadcast numpy-style. Returns the sum, whose dims
// (written to out_dims) are y_dims unless the residual is the larger one. Throws mhub::Error
// (format) naming the node when the two do not broadcast.
std::vector<float> add_residual(const ir::Node& node, const std::vector<float>& y, const std::vector<int64_t>& y_dims,
                                const std::vector<float>& residual, const std::vector<int64_t>& residual_dims,
                                std::vector<int64_t>& out_dims);

// out[i] = GELU(in[i]) (exact, or the tanh approximation) with the fast formulas; in may be out.
void gelu_span(const float* in, float* out, size_t count, bool tanh_approx);

// GELU with libm: the reference formulas.
float gelu_reference(float x, bool tanh_approx);

// act(x) with libm (the reference of every fused activation; NaN stays NaN).
float activation_reference(const Epilogue& e, float x);

// out[i] = sigmoid(in[i]) / tanh(in[i]) with the fast formulas (fast_math.h), compiled for AVX2
// and baseline x86-64; in may be out.
void sigmoid_span(const float* in, float* out, size_t count);
void tanh_span(const float* in, float* out, size_t count);

// out[i] = act(in[i]) with the fast formulas; in may be out.
void activation_span(const Epilogue& e, const float* in, float* out, size_t count);

}  // namespace mhub::engine::cpu
