#include "engine/train/update_kernels.h"

#include <bit>
#include <cmath>
#include <cstdint>

// Built with -O3 -fno-trapping-math -fno-math-errno -ffp-contract=off (CMakeLists.txt): the
// loops vectorise (sqrt included) while every element sees the reference's operations.
namespace mhub::train::kernels {
namespace {

// One loop per case, branch-free inside, so each vectorises; inlined into every clone below.
template <bool has_buf, bool first, bool nesterov, bool decay>
[[gnu::always_inline]] inline void sgd_loop(float* __restrict value, const float* __restrict grad, float* __restrict buf,
                                            size_t n, float scale, const SgdScalars& s) {
  const float momentum = s.momentum, keep = s.keep, wd = s.decay, neg_lr = s.neg_lr;
  for (size_t i = 0; i < n; ++i) {
    float d = grad[i] * scale;
    if constexpr (decay) d = d + wd * value[i];
    if constexpr (has_buf) {
      const float b = first ? d : buf[i] * momentum + keep * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    value[i] = value[i] + neg_lr * d;
  }
}

template <bool has_buf, bool first, bool nesterov>
[[gnu::always_inline]] inline void sgd_decay(float* value, const float* grad, float* buf, size_t n, float scale,
                                             const SgdScalars& s) {
  if (s.decay != 0) sgd_loop<has_buf, first, nesterov, true>(value, grad, buf, n, scale, s);
  else sgd_loop<has_buf, first, nesterov, false>(value, grad, buf, n, scale, s);
}

template <bool first, bool nesterov>
[[gnu::always_inline]] inline void sgd_momentum(float* value, const float* grad, float* buf, size_t n, float scale,
                                                const SgdScalars& s) {
  sgd_decay<true, first, nesterov>(value, grad, buf, n, scale, s);
}

}  // namespace

__attribute__((target_clones("avx2", "default"))) void sgd(float* value, const float* grad, float* buf, size_t n,
                                                             float grad_scale, bool first, const SgdScalars& s) {
  if (!buf) sgd_decay<false, false, false>(value, grad, nullptr, n, grad_scale, s);
  else if (first && s.nesterov) sgd_momentum<true, true>(value, grad, buf, n, grad_scale, s);
  else if (first) sgd_momentum<true, false>(value, grad, buf, n, grad_scale, s);
  else if (s.nesterov) sgd_momentum<false, true>(value, grad, buf, n, grad_scale, s);
  else sgd_momentum<false, false>(value, grad, buf, n, grad_scale, s);
}

__attribute__((target_clones("avx2", "default"))) void adamw(float* __restrict value, const float* __restrict grad,
                                                               float* __restrict m, float* __restrict v, size_t n,
                                                               float grad_scale, const AdamWScalars& s) {
  const float shrink = s.shrink, beta1 = s.beta1, beta2 = s.beta2, one_minus_beta1 = s.one_minus_beta1,
              one_minus_beta2 = s.one_minus_beta2, step_size = s.step_size, bias2 = s.bias2, eps = s.eps;
  for (size_t i = 0; i < n; ++i) {
    const float g = grad[i] * grad_scale;
    const float shrunk = value[i] * shrink;  // decoupled weight decay, before the moment update
    const float mi = m[i] * beta1 + one_minus_beta1 * g;
    const float vi = v[i] * beta2 + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / bias2 + eps;
    value[i] = shrunk - step_size * (mi / denom);
  }
}

__attribute__((target_clones("avx2", "default"))) bool all_finite(const float* x, size_t n) {
  // An exponent of all ones is infinity or NaN; OR-ing the test keeps the loop branch-free.
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= (std::bit_cast<uint32_t>(x[i]) & 0x7f800000u) == 0x7f800000u;
  return bad == 0;
}

__attribute__((target_clones("avx2", "default"))) double sum_squares(const float* x, size_t n) {
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) {
      const double v = x[i + j];
      lanes[j] += v * v;
    }
  for (; i < n; ++i) {
    const double v = x[i];
    lanes[0] += v * v;
  }
  double total = 0;
  for (double lane : lanes) total += lane;
  return total;
}

}  // namespace mhub::train::kernels
