// Turns a forward model into a training model: one graph that runs the forward pass in
// training mode, the loss, and the backward pass. By default the backward pass uses mhub's
// internal gradient ops where they exist (ConvGradInput / ConvGradWeight: engine/ir/
// internal_ops.def, domain ir::kInternalDomain), which the engine runs fast; with
// standard_ops_only it is written in standard ONNX ops only, so any runtime that runs ONNX runs
// it (scripts/check_training_graph_with_ort.py checks it in ONNX Runtime).
//
// The training model's inputs are the forward model's inputs plus `target` (float [N, classes]:
// the target distribution, one-hot or label-smoothed, built by the caller). Its outputs are
//   loss                      scalar, mean cross-entropy over the batch
//   logits                    the forward output
//   grad/<param>              d(loss)/d(param) for every trainable parameter, in `params` order
//   running/<buffer>          updated BatchNormalization running statistics (torch semantics:
//                             new = momentum*old + (1-momentum)*batch stat, unbiased variance)
// Shapes must be static (shape inference on the forward model fixes every dim); a different
// batch size needs another training model.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::autograd {

// A training-mode Dropout becomes x * mask with the mask an extra graph input, so the caller
// draws it from its own seeded generator (reproducible with --seed and --resume) and the
// backward pass is the Mul rule.
struct DropoutMask {
  std::string input;          // graph input name, float, shape `dims`
  std::vector<int64_t> dims;
  float ratio = 0.5f;         // feed 0 with probability ratio, else 1 / (1 - ratio)
};

struct TrainingModel {
  ir::Model model;
  std::vector<DropoutMask> dropout_masks;
  std::string logits_name;
  std::vector<std::string> params;           // trainable parameters, in output order
  std::vector<std::string> running_buffers;  // BN running mean / var initializers updated
};

struct TrainingGraphOptions {
  bool standard_ops_only = false;
  // Adds the scalar float input `loss_scale`: the backward pass starts from loss * loss_scale
  // (so small float16 gradients do not flush to zero) and every grad/<param> output is divided
  // by it again, so the outputs are the true gradients (inf/NaN when the scaled pass overflowed).
  bool loss_scale_input = false;
};

// `trainable`: initializer names to differentiate (float initializers only). Throws
// mhub::Error (unsupported) naming the node whose op has no backward rule, or a dim that is not
// static. `base_dir` is where the model's external data lives (for shape inference).
TrainingModel build_training_model(const ir::Model& forward, const std::vector<std::string>& trainable,
                                   const std::filesystem::path& base_dir, TrainingGraphOptions options = {});

// Ops that have a backward rule (for --help and error messages).
std::vector<std::string> differentiable_ops();

}  // namespace mhub::autograd
