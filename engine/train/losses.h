// Training losses with their gradient, matching PyTorch's functional losses with
// reduction='mean'. Inputs are row-major float arrays; `grad` has the shape of `prediction`
// and is d(loss)/d(prediction).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mhub::train {

struct LossResult {
  double value = 0;
  std::vector<float> grad;
};

// logits [rows, classes], labels [rows] in [0, classes). label_smoothing in [0, 1): the target
// is (1 - s) on the label plus s / classes everywhere (torch.nn.functional.cross_entropy).
// Throws mhub::Error (usage) for a label out of range.
LossResult cross_entropy(const std::vector<float>& logits, int64_t rows, int64_t classes,
                         const std::vector<int64_t>& labels, float label_smoothing = 0);
// Mean over all elements; prediction and target have the same size.
LossResult mse(const std::vector<float>& prediction, const std::vector<float>& target);
LossResult l1(const std::vector<float>& prediction, const std::vector<float>& target);
// Numerically stable sigmoid + binary cross-entropy; targets in [0, 1].
LossResult bce_with_logits(const std::vector<float>& logits, const std::vector<float>& target);

enum class LossKind { cross_entropy, mse, bce_with_logits, l1 };
// "cross-entropy" | "mse" | "bce" | "l1"; throws mhub::Error (usage) naming the choices.
LossKind parse_loss_kind(const std::string& name);

}  // namespace mhub::train
