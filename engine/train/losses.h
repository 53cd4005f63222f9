// Training losses: which one (`mhub finetune --loss`), the target a batch gives it, and its value
// and gradient. The math of each loss is written once, as ONNX nodes in
// engine/autograd/training_loss.h (the formulas are listed there); the training graph runs those
// nodes, and compute_loss below runs the same nodes as a model of their own on the CPU engine.
// All match PyTorch's functional losses with reduction='mean'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/autograd/training_loss.h"

namespace mhub::train {

using autograd::LossKind;

struct LossResult {
  double value = 0;
  std::vector<float> grad;  // d(loss)/d(logits), shaped like the logits
};

// "cross-entropy" | "mse" | "l1" | "bce"; throws mhub::Error (usage) naming the choices.
LossKind parse_loss_kind(const std::string& name);
std::string loss_name(LossKind kind);  // the --loss spelling

// The data contract: the float target [rows, classes] the logits are compared with, made from
// one class label per row.
//   cross-entropy      the label's one-hot row, label-smoothed: (1 - s) on the label plus s /
//                      classes everywhere (torch's cross_entropy(label_smoothing=s))
//   mse, l1, bce       the label's one-hot row (1 on the class, 0 elsewhere); s must be 0
// Throws mhub::Error (usage) for a label outside [0, classes) (pointing at --num-classes), a
// smoothing outside [0, 1), or smoothing with a loss other than cross-entropy.
std::vector<float> loss_targets(LossKind kind, const std::vector<int64_t>& labels, int64_t classes, float label_smoothing = 0);

// Value and gradient of a loss of logits [rows, classes] against `target` (same size), computed
// by running autograd::loss_model in a one-thread CPU session (kept for the next call of the
// same loss and shape). Throws mhub::Error (usage) when the sizes do not match.
LossResult compute_loss(LossKind kind, const std::vector<float>& logits, int64_t rows, int64_t classes,
                        const std::vector<float>& target);

// Shorthands with torch.nn.functional's names. cross_entropy takes class labels (made into
// targets by loss_targets); the others compare `prediction` with `target` element by element.
LossResult cross_entropy(const std::vector<float>& logits, int64_t rows, int64_t classes,
                         const std::vector<int64_t>& labels, float label_smoothing = 0);
LossResult mse(const std::vector<float>& prediction, const std::vector<float>& target);
LossResult l1(const std::vector<float>& prediction, const std::vector<float>& target);
LossResult bce_with_logits(const std::vector<float>& logits, const std::vector<float>& target);

}  // namespace mhub::train
