// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (also used by fine-tuning).
//
// Layout: scores/input are (N, C) or (N, C, d1..dk); labels/target are (N) or (N, d1..dk) int32/64.
// Per element loss = -input[n, target, d] * weight[target]; elements whose target equals
// ignore_index contribute 0 and no weight. reduction: "none" keeps (N, d1..dk); "sum" adds;
// "mean" divides by the sum of applied weights (= count of non-ignored elements without weights).
// Accumulation is in double.
#include <cmath>
#include <limits>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

struct LossShape {
  int64_t batch = 0, classes = 0, inner = 1;  // inner = product of d1..dk
  std::vector<int64_t> target_dims;
};

LossShape loss_shape(OpContext& ctx, const ir::Tensor& input, const ir::Tensor& target) {
  if (input.dims.size() < 2)
    throw_error(ErrorCategory::format, ctx.describe() + ": input must have shape (N, C, ...)");
  LossShape s;
  s.batch = input.dims[0];
  s.classes = input.dims[1];
  for (size_t d = 2; d < input.dims.size(); ++d) s.inner *= input.dims[d];
  s.target_dims = target.dims;
  std::vector<int64_t> expected{input.dims[0]};
  expected.insert(expected.end(), input.dims.begin() + 2, input.dims.end());
  if (target.dims != expected)
    throw_error(ErrorCategory::format, ctx.describe() + ": target shape must be (N, d1, ..., dk) matching the input");
  return s;
}

// Writes the loss of `log_prob` (laid out like the input, read through `at`) into output 0.
template <typename LogProbAt>
void write_nll(OpContext& ctx, const LossShape& s, const ir::Tensor& target, const ir::Tensor* weight,
               ir::DataType out_type, LogProbAt at) {
  std::string reduction = ctx.node().attr_string("reduction", "mean");
  const ir::Attribute* ignore_attr = ctx.node().attribute("ignore_index");
  int64_t ignore_index = ignore_attr ? ignore_attr->i : std::numeric_limits<int64_t>::min();
  uint64_t count = static_cast<uint64_t>(s.batch * s.inner);
  std::vector<double> losses(count, 0.0);
  double weight_sum = 0.0;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t d = 0; d < s.inner; ++d) {
      uint64_t t_index = static_cast<uint64_t>(n * s.inner + d);
      int64_t cls = load_int64(target, t_index);
      if (ignore_attr && cls == ignore_index) continue;
      if (cls < 0 || cls >= s.classes)
        throw_error(ErrorCategory::format, ctx.describe() + ": target class " + std::to_string(cls) +
                                                " is outside [0, " + std::to_string(s.classes) + ")");
      double w = weight ? load_as_double(*weight, static_cast<uint64_t>(cls)) : 1.0;
      losses[t_index] = -at(n, cls, d) * w;
      weight_sum += w;
    }
  if (reduction == "none") {
    ir::Tensor& y = ctx.allocate_output(0, out_type, s.target_dims);
    for (uint64_t i = 0; i < count; ++i) store_from_double(y, i, losses[i]);
    return;
  }
  if (reduction != "sum" && reduction != "mean")
    throw_error(ErrorCategory::format, ctx.describe() + ": reduction must be none, sum or mean");
  double total = 0.0;
  for (double l : losses) total += l;
  if (reduction == "mean") total = weight_sum != 0.0 ? total / weight_sum : 0.0;
  ir::Tensor& y = ctx.allocate_output(0, out_type, {});
  store_from_double(y, 0, total);
}

void nll_loss(OpContext& ctx) {
  const ir::Tensor& input = ctx.input(0);
  const ir::Tensor& target = ctx.input(1);
  const ir::Tensor* weight = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  LossShape s = loss_shape(ctx, input, target);
  write_nll(ctx, s, target, weight, input.dtype, [&](int64_t n, int64_t c, int64_t d) {
    return load_as_double(input, static_cast<uint64_t>((n * s.classes + c) * s.inner + d));
  });
}

void softmax_cross_entropy(OpContext& ctx) {
  const ir::Tensor& scores = ctx.input(0);
  const ir::Tensor& labels = ctx.input(1);
  const ir::Tensor* weight = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  LossShape s = loss_shape(ctx, scores, labels);
  // log_softmax over the class axis, max-shifted so large scores do not overflow exp.
  std::vector<double> log_prob(scores.numel());
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t d = 0; d < s.inner; ++d) {
      auto index = [&](int64_t c) { return static_cast<uint64_t>((n * s.classes + c) * s.inner + d); };
      double max_score = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < s.classes; ++c) max_score = std::max(max_score, load_as_double(scores, index(c)));
      double sum = 0.0;
      for (int64_t c = 0; c < s.classes; ++c) sum += std::exp(load_as_double(scores, index(c)) - max_score);
      double log_sum = std::log(sum) + max_score;
      for (int64_t c = 0; c < s.classes; ++c) log_prob[index(c)] = load_as_double(scores, index(c)) - log_sum;
    }
  write_nll(ctx, s, labels, weight, scores.dtype, [&](int64_t n, int64_t c, int64_t d) {
    return log_prob[static_cast<uint64_t>((n * s.classes + c) * s.inner + d)];
  });
  if (ctx.output_count() > 1 && ctx.output_wanted(1)) {
    ir::Tensor& lp = ctx.allocate_output(1, scores.dtype, scores.dims);
    for (uint64_t i = 0; i < log_prob.size(); ++i) store_from_double(lp, i, log_prob[i]);
  }
}

}  // namespace

void add_loss_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::NegativeLogLikelihoodLoss, KernelKind::reference, nll_loss, nullptr});
  table.push_back({ir::OpKind::SoftmaxCrossEntropyLoss, KernelKind::reference, softmax_cross_entropy, nullptr});
}

}  // namespace mhub::engine::cpu
