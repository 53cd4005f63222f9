// Branch-free float exp / sigmoid / tanh / erf that the compiler vectorises (libm's expf, tanhf
// and erff are scalar calls and dominate activation-heavy models). Relative error about 2e-7 for
// exp; NaN propagates, +inf and overflow give inf, large negative inputs give 0.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace mhub::engine::cpu {

[[gnu::always_inline]] inline float fast_exp(float x) {
  // exp(x) = 2^n * exp(r), n = round(x / ln2), |r| <= ln2 / 2
  // Inputs near the top of the range go one power of two lower (times 2 at the end) so n stays
  // at most 127 and the scale 2^n is a finite float.
  // NaN is computed as 0 and put back at the end: converting a NaN `n` to int is undefined.
  float finite = x != x ? 0.0f : x;
  float big = finite > 88.3f ? 1.0f : 0.0f;
  float shifted = finite - big * 0.693147181f;
  float clamped = shifted < -87.0f ? -87.0f : (shifted > 88.3f ? 88.3f : shifted);
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float t = clamped * 1.44269504088896341f + shifter;
  float n = t - shifter;
  float r = clamped - n * 0.693359375f;  // ln2 split in two for precision
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t exponent = static_cast<int32_t>(n) + 127;
  float scale = std::bit_cast<float>(static_cast<uint32_t>(exponent) << 23);
  float result = p * scale * (1.0f + big);
  result = x > 88.72283f ? std::numeric_limits<float>::infinity() : result;
  result = x < -103.0f ? 0.0f : result;
  return x != x ? x : result;
}

[[gnu::always_inline]] inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

[[gnu::always_inline]] inline float fast_tanh(float x) {
  float a = std::fabs(x);
  float x2 = x * x;
  // odd Taylor series, accurate to ~1e-8 for |x| < 0.3
  float small = x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * (-0.0539682540f + x2 * 0.0218694885f))));
  float e = fast_exp(2.0f * a);
  float large = 1.0f - 2.0f / (e + 1.0f);
  large = x < 0 ? -large : large;
  float result = a < 0.3f ? small : large;
  return x != x ? x : result;
}

// erfc(z) for z >= 0 (or +inf: 0) = t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2): the Chebyshev
// fit of Numerical Recipes' erfcc, fractional error below 1.2e-7 for every z >= 0.
[[gnu::always_inline]] inline float fast_erfc_nonnegative(float z) {
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * fast_exp(p - z * z);  // z = inf: t = 0 and exp gives 0
}

// erf(x), absolute error below 2.5e-7 against the exact value (1.9e-7 measured over a sweep of
// every 61st float bit pattern, worst near |x| = 0.5), odd in x, erf(+-0) = +-0, erf(+-inf) = +-1,
// NaN stays NaN. |x| < 0.5: the Maclaurin series through x^13 (truncation below 1e-9), so tiny
// and subnormal inputs keep their relative precision; |x| >= 0.5: 1 - erfc(|x|).
[[gnu::always_inline]] inline float fast_erf(float x) {
  float x2 = x * x;
  float s = 1.0f / 9360.0f;
  s = s * x2 - 1.0f / 1320.0f;
  s = s * x2 + 1.0f / 216.0f;
  s = s * x2 - 1.0f / 42.0f;
  s = s * x2 + 1.0f / 10.0f;
  s = s * x2 - 1.0f / 3.0f;
  s = s * x2 + 1.0f;
  float series = 1.12837916709551257f * x * s;  // 2 / sqrt(pi) * x * (1 - x^2 / 3 + ...)
  float z = std::fabs(x);
  float tail = 1.0f - fast_erfc_nonnegative(z);
  tail = x < 0.0f ? -tail : tail;
  float result = z < 0.5f ? series : tail;
  return x != x ? x : result;
}

}  // namespace mhub::engine::cpu
