// Turns a forward model into a training model: one graph that runs the forward pass in
// training mode, the loss, and the backward pass. By default the backward pass uses mhub's
// internal gradient ops where they exist (ConvGradInput / ConvGradWeight: engine/ir/
// internal_ops.def, domain ir::kInternalDomain), which the engine runs fast; with
// standard_ops_only it is written in standard ONNX ops only, so any runtime that runs ONNX runs
// it (scripts/check_training_graph_with_ort.py checks it in ONNX Runtime).
//
// build_training_model runs the steps, each with its contract in its own header:
//   1. preparation      training_shapes.h   static dims of every value; values they fix folded
//   2. forward          training_forward.h  training-mode BatchNormalization, Dropout, MaxPool
//   3. loss             training_loss.h     the selected loss and d(loss)/d(logits)
//   4. differentiation  differentiate.h     backward rules looked up by OpKind (rules.h)
//   5. optimizer wiring (here)              one output per gradient and running statistic
//
// The training model's inputs are the forward model's inputs plus `target` (float, shaped like
// the logits [N, classes]: the target distribution for cross-entropy, the values the logits
// should reach for the other losses; built by the caller, engine/train/losses.h). Its outputs are
//   loss                      scalar, the mean loss over the batch
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

#include "engine/autograd/training_forward.h"
#include "engine/autograd/training_loss.h"
#include "engine/ir/graph.h"

namespace mhub::autograd {

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
  LossKind loss = LossKind::cross_entropy;
  // BatchNormalization normalises with the statistics of every rank of a data-parallel run
  // (training_forward.h): the graph holds AllReduce nodes, which sum over the collectives of the
  // session that runs it (SessionOptions::collectives; none: this process alone, the plain
  // batch statistics). Needs the internal ops (not standard_ops_only).
  bool sync_batchnorm = false;
};

// `trainable`: initializer names to differentiate (float initializers only). Throws
// mhub::Error (unsupported) naming the node whose op has no backward rule, or a dim that is not
// static. `base_dir` is where the model's external data lives (for shape inference).
TrainingModel build_training_model(const ir::Model& forward, const std::vector<std::string>& trainable,
                                   const std::filesystem::path& base_dir, TrainingGraphOptions options = {});

// Ops that have a backward rule (for --help and error messages).
std::vector<std::string> differentiable_ops();

}  // namespace mhub::autograd
