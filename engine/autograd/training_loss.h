// Training-graph step 3, the loss: each loss's math, written once as ONNX nodes. The training
// graph emits it after the forward pass; loss_model() wraps the same nodes in a model of their
// own, which mhub's evaluation and the loss tests run (engine/train/losses.h).
//
// Every loss is the mean over the batch as in PyTorch (reduction='mean'), of logits `z` and a
// float target `t` of the same [rows, classes] shape:
//   cross_entropy    -sum(t * log_softmax(z, axis 1)) / rows; t's rows are distributions
//                    (one-hot or label-smoothed), so dz = (softmax(z) - t) / rows
//   mse              mean((z - t)^2)                       dz = 2 (z - t) / numel
//   l1               mean(|z - t|)                         dz = sign(z - t) / numel (0 at ties)
//   bce_with_logits  mean(max(z,0) - z t + log(1 + e^-|z|))  dz = (sigmoid(z) - t) / numel
// (torch.nn.functional.cross_entropy with probability targets, mse_loss, l1_loss,
// binary_cross_entropy_with_logits).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/autograd/builder.h"

namespace mhub::autograd {

enum class LossKind { cross_entropy, mse, l1, bce_with_logits };

struct LossValues {
  std::string loss;     // scalar float
  std::string dlogits;  // d(loss)/d(logits), shaped like the logits
};

// Emits the loss of `logits` against `target` (both float, static dims `dims` of rank >= 1;
// known to the builder or not) with its gradient; the loss value is named `loss_name`.
LossValues emit_loss(Builder& b, LossKind kind, const std::string& logits, const std::string& target,
                     const std::vector<int64_t>& dims, const std::string& loss_name);

// A model of the loss alone: inputs `logits` and `target` (float, `dims`), outputs `loss`
// (scalar) and `dlogits`. Standard ONNX ops of opset `opset` (>= 13).
ir::Model loss_model(LossKind kind, const std::vector<int64_t>& dims, int64_t opset = 17);

}  // namespace mhub::autograd
