#include "engine/train/losses.h"

#include <cmath>

#include "common/error.h"

namespace mhub::train {
namespace {

void check_same_size(size_t a, size_t b, const char* loss) {
  if (a != b || a == 0)
    throw Error(ErrorCategory::usage, std::string(loss) + ": prediction has " + std::to_string(a) +
                                          " values but target has " + std::to_string(b) +
                                          "; the data's targets must match the model's output");
}

}  // namespace

LossResult cross_entropy(const std::vector<float>& logits, int64_t rows, int64_t classes,
                         const std::vector<int64_t>& labels, float label_smoothing) {
  if (rows <= 0 || classes <= 0 || logits.size() != static_cast<size_t>(rows * classes) ||
      labels.size() != static_cast<size_t>(rows))
    throw Error(ErrorCategory::usage, "cross-entropy: logits must be [rows, classes] with one label per row");
  LossResult result;
  result.grad.resize(logits.size());
  const double smooth = label_smoothing;
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = labels[r];
    if (label < 0 || label >= classes)
      throw Error(ErrorCategory::usage, "cross-entropy: label " + std::to_string(label) + " of row " + std::to_string(r) +
                                            " is outside [0, " + std::to_string(classes) +
                                            "); use --num-classes to size the model's head");
    const float* z = logits.data() + r * classes;
    // log-sum-exp around the maximum so large logits do not overflow.
    double max = z[0];
    for (int64_t c = 1; c < classes; ++c) max = std::max(max, static_cast<double>(z[c]));
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(z[c] - max);
    const double log_sum = max + std::log(sum);
    double mean_neg_log_p = 0;
    for (int64_t c = 0; c < classes; ++c) mean_neg_log_p += log_sum - z[c];
    mean_neg_log_p /= static_cast<double>(classes);
    total += (1 - smooth) * (log_sum - z[label]) + smooth * mean_neg_log_p;
    float* g = result.grad.data() + r * classes;
    for (int64_t c = 0; c < classes; ++c) {
      const double target = (c == label ? 1 - smooth : 0) + smooth / static_cast<double>(classes);
      g[c] = static_cast<float>((std::exp(z[c] - log_sum) - target) / static_cast<double>(rows));
    }
  }
  result.value = total / static_cast<double>(rows);
  return result;
}

LossResult mse(const std::vector<float>& prediction, const std::vector<float>& target) {
  check_same_size(prediction.size(), target.size(), "mse");
  LossResult result;
  result.grad.resize(prediction.size());
  const double n = static_cast<double>(prediction.size());
  double total = 0;
  for (size_t i = 0; i < prediction.size(); ++i) {
    const double diff = static_cast<double>(prediction[i]) - target[i];
    total += diff * diff;
    result.grad[i] = static_cast<float>(2 * diff / n);
  }
  result.value = total / n;
  return result;
}

LossResult l1(const std::vector<float>& prediction, const std::vector<float>& target) {
  check_same_size(prediction.size(), target.size(), "l1");
  LossResult result;
  result.grad.resize(prediction.size());
  const double n = static_cast<double>(prediction.size());
  double total = 0;
  for (size_t i = 0; i < prediction.size(); ++i) {
    const double diff = static_cast<double>(prediction[i]) - target[i];
    total += std::fabs(diff);
    // torch uses sign(diff), so the gradient at an exact tie is 0.
    result.grad[i] = static_cast<float>((diff > 0 ? 1 : diff < 0 ? -1 : 0) / n);
  }
  result.value = total / n;
  return result;
}

LossResult bce_with_logits(const std::vector<float>& logits, const std::vector<float>& target) {
  check_same_size(logits.size(), target.size(), "bce-with-logits");
  LossResult result;
  result.grad.resize(logits.size());
  const double n = static_cast<double>(logits.size());
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double x = logits[i], y = target[i];
    // max(x,0) - x*y + log(1 + exp(-|x|)) never overflows.
    total += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
    const double sigmoid = x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
    result.grad[i] = static_cast<float>((sigmoid - y) / n);
  }
  result.value = total / n;
  return result;
}

LossKind parse_loss_kind(const std::string& name) {
  if (name == "cross-entropy" || name == "ce") return LossKind::cross_entropy;
  if (name == "mse") return LossKind::mse;
  if (name == "bce" || name == "bce-with-logits") return LossKind::bce_with_logits;
  if (name == "l1") return LossKind::l1;
  throw Error(ErrorCategory::usage, "unknown loss '" + name + "'; choose cross-entropy, mse, bce or l1");
}

}  // namespace mhub::train
