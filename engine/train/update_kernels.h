// The optimizers' fast element loops: vectorised spans over one piece of one parameter.
//
// Contract: each span computes, element for element, exactly the float operations of the
// reference loops in optimizers.cpp (torch.optim's single-tensor path), in the same order and
// without contraction into FMAs, so fast and reference updates are bit-identical. Gradients are
// read as grad[i] * grad_scale (clipping's coefficient; 1 leaves them as they are). Pointers of
// one call never overlap. Callers split a parameter into pieces freely: every element depends
// on its own index only.
#pragma once

#include <cstddef>

namespace mhub::train::kernels {

// torch.optim.SGD's scalars, already rounded to float as torch's kernels see them.
struct SgdScalars {
  float momentum = 0, keep = 1, decay = 0, neg_lr = 0;  // keep = 1 - dampening
  bool nesterov = false;
};

// `buf`: the momentum buffer (nullptr without momentum); `first`: the buffer is new this step
// and starts as the first direction, as torch does.
void sgd(float* value, const float* grad, float* buf, size_t n, float grad_scale, bool first, const SgdScalars& s);

// torch.optim.AdamW's per-step scalars (bias corrections folded in), rounded to float.
struct AdamWScalars {
  float shrink = 1, beta1 = 0, beta2 = 0, one_minus_beta1 = 1, one_minus_beta2 = 1, step_size = 0, bias2 = 1, eps = 0;
};

void adamw(float* value, const float* grad, float* exp_avg, float* exp_avg_sq, size_t n, float grad_scale,
           const AdamWScalars& s);

// Whether every value is finite (no NaN, no infinity).
bool all_finite(const float* x, size_t n);

// Sum of squares accumulated in double (eight interleaved partial sums, then added in order).
double sum_squares(const float* x, size_t n);

}  // namespace mhub::train::kernels
