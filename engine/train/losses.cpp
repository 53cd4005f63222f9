#include "engine/train/losses.h"

#include <memory>

#include "common/error.h"
#include "engine/core/session.h"
#include "engine/devices.h"

namespace mhub::train {
namespace {

void check_same_size(size_t a, size_t b, LossKind kind) {
  if (a != b || a == 0)
    throw Error(ErrorCategory::usage, loss_name(kind) + ": prediction has " + std::to_string(a) + " values but target has " +
                                          std::to_string(b) + "; the data's targets must match the model's output");
}

// The session of the last loss model run on this thread: evaluation calls compute_loss once per
// batch with the same loss and shape.
struct CachedLossSession {
  LossKind kind = LossKind::cross_entropy;
  std::vector<int64_t> dims;
  std::unique_ptr<engine::Session> session;
};

engine::Session& loss_session(LossKind kind, const std::vector<int64_t>& dims) {
  thread_local CachedLossSession cached;
  if (!cached.session || cached.kind != kind || cached.dims != dims) {
    engine::SessionOptions options;
    options.threads = 1;
    cached.session = std::make_unique<engine::Session>(autograd::loss_model(kind, dims),
                                                       engine::host_backend(), options);
    cached.kind = kind;
    cached.dims = dims;
  }
  return *cached.session;
}

}  // namespace

LossKind parse_loss_kind(const std::string& name) {
  if (name == "cross-entropy" || name == "ce") return LossKind::cross_entropy;
  if (name == "mse") return LossKind::mse;
  if (name == "bce" || name == "bce-with-logits") return LossKind::bce_with_logits;
  if (name == "l1") return LossKind::l1;
  throw Error(ErrorCategory::usage, "unknown loss '" + name + "'; choose cross-entropy, mse, l1 or bce");
}

std::string loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::cross_entropy: return "cross-entropy";
    case LossKind::mse: return "mse";
    case LossKind::l1: return "l1";
    case LossKind::bce_with_logits: return "bce";
  }
  return "?";
}

std::vector<float> loss_targets(LossKind kind, const std::vector<int64_t>& labels, int64_t classes, float label_smoothing) {
  if (!(label_smoothing >= 0 && label_smoothing < 1))
    throw Error(ErrorCategory::usage, "--label-smoothing must be in [0, 1)");
  if (label_smoothing > 0 && kind != LossKind::cross_entropy)
    throw Error(ErrorCategory::usage, "--label-smoothing applies to --loss cross-entropy only, not " + loss_name(kind));
  if (classes <= 0) throw Error(ErrorCategory::usage, loss_name(kind) + ": the model's output has no classes");
  std::vector<float> t(labels.size() * static_cast<size_t>(classes), label_smoothing / static_cast<float>(classes));
  for (size_t r = 0; r < labels.size(); ++r) {
    if (labels[r] < 0 || labels[r] >= classes)
      throw Error(ErrorCategory::usage, "label " + std::to_string(labels[r]) + " of row " + std::to_string(r) + " is outside the model's " +
                                            std::to_string(classes) + " classes; pass --num-classes to replace the head");
    t[r * classes + labels[r]] += 1 - label_smoothing;
  }
  return t;
}

LossResult compute_loss(LossKind kind, const std::vector<float>& logits, int64_t rows, int64_t classes,
                        const std::vector<float>& target) {
  if (rows <= 0 || classes <= 0 || logits.size() != static_cast<size_t>(rows * classes))
    throw Error(ErrorCategory::usage, loss_name(kind) + ": logits must be [rows, classes]");
  check_same_size(logits.size(), target.size(), kind);
  const std::vector<int64_t> dims = {rows, classes};
  engine::Session& session = loss_session(kind, dims);
  auto tensor = [&](const std::vector<float>& values) {
    return engine::Value::of(ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * sizeof(float)));
  };
  const auto outputs = session.run({{"logits", tensor(logits)}, {"target", tensor(target)}});
  LossResult result;
  result.value = outputs.at(0).tensor.data<float>()[0];
  const ir::Tensor& grad = outputs.at(1).tensor;
  result.grad.assign(grad.data<float>(), grad.data<float>() + grad.numel());
  return result;
}

LossResult cross_entropy(const std::vector<float>& logits, int64_t rows, int64_t classes, const std::vector<int64_t>& labels,
                         float label_smoothing) {
  if (rows <= 0 || classes <= 0 || labels.size() != static_cast<size_t>(rows))
    throw Error(ErrorCategory::usage, "cross-entropy: logits must be [rows, classes] with one label per row");
  return compute_loss(LossKind::cross_entropy, logits, rows, classes,
                      loss_targets(LossKind::cross_entropy, labels, classes, label_smoothing));
}

// Element-wise losses: the mean over every element does not depend on how they are grouped in
// rows, so the values are one row.
LossResult mse(const std::vector<float>& prediction, const std::vector<float>& target) {
  check_same_size(prediction.size(), target.size(), LossKind::mse);
  return compute_loss(LossKind::mse, prediction, 1, static_cast<int64_t>(prediction.size()), target);
}

LossResult l1(const std::vector<float>& prediction, const std::vector<float>& target) {
  check_same_size(prediction.size(), target.size(), LossKind::l1);
  return compute_loss(LossKind::l1, prediction, 1, static_cast<int64_t>(prediction.size()), target);
}

LossResult bce_with_logits(const std::vector<float>& logits, const std::vector<float>& target) {
  check_same_size(logits.size(), target.size(), LossKind::bce_with_logits);
  return compute_loss(LossKind::bce_with_logits, logits, 1, static_cast<int64_t>(logits.size()), target);
}

}  // namespace mhub::train
