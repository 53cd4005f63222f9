// What the fast inference BatchNormalization (norm.cpp) shares with the fast internal
// ConcatBatchNorm (norm_concat.cpp): the per-channel factor and offset, cached per constant
// parameter set, the vectorised plane loop and the scalar helpers of both references.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

// An inference BatchNormalization's k = scale / sqrt(var + eps) and off = bias - mean * k per
// channel, computed as the reference computes them; the parameter buffers kept alive while cached,
// so their addresses stay unique.
struct BatchNormCoefficients {
  std::shared_ptr<const ir::Storage> owners[4];
  std::vector<float> k, off;
};

// The coefficients of this run for the float32 parameters scale, B, mean, var at inputs
// first .. first + 3 (each of c values or one for all; the caller checked): computed once per set
// of constant parameters (an inference model's BN runs with the same ones every time), every run
// where any is fed or computed.
std::shared_ptr<const BatchNormCoefficients> batch_norm_coefficients_cached(OpContext& ctx, size_t first, int64_t c, float eps);

// y[i] = x[i] * k + off for i < count (one NCHW plane), then Relu (NaN kept) where `relu`: the
// fast BatchNormalization's vectorised plane loop (AVX-512 / AVX2 clones, no FMA contraction, so
// every clone rounds as the reference does). y may be x. A plain function in norm.cpp calling the
// target_clones loop there: called directly from another file, clang 14 (the sanitizer build)
// gave results off the reference's (tests/ops/concat_batch_norm_test.cpp), through this they match.
void batch_norm_plane_fast(const float* x, float* y, int64_t count, float k, float off, bool relu);

// Value `i` of a per-channel parameter, tolerating a single broadcast value.
inline float channel_value(const std::vector<float>& v, int64_t i) { return v.size() == 1 ? v[0] : v[static_cast<size_t>(i)]; }

// Relu as the reference applies it (NaN stays NaN).
inline float relu_value(float v) { return v < 0.0f ? 0.0f : v; }

}  // namespace mhub::engine::cpu
