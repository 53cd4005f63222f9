// Training-graph step 2, the forward pass in training mode, emitted into the builder's graph:
//   - BatchNormalization normalises with the batch statistics (internal BatchNormTraining, or
//     primitives with standard_ops_only) and yields torch-style running statistics (unbiased
//     batch variance, new = momentum*old + (1-momentum)*batch stat); a Relu that is the only
//     reader of its output (no graph output) is fused into BatchNormTraining (relu=1): the step
//     then stands for both, its output named as the Relu's, saved "relu_output" for the rule;
//   - a training-mode Dropout becomes x * mask, the mask a new float graph input the caller
//     draws (reproducible with its own seeded generator); an inference-mode one an Identity;
//   - MaxPool gets an Indices output (its rule scatters through it);
//   - every other node is copied unchanged.
// With sync_batchnorm (data-parallel --sync-bn, internal ops only) BatchNormalization uses the
// statistics of the whole global batch, as torch's SyncBatchNorm: BatchNormStats of this rank,
// an AllReduce over the session's ranks (engine/core/collectives.h), BatchNormTraining from the
// summed statistics; the running variance's unbiased correction counts every rank's elements.
// Its backward (rules_norm.cpp) all-reduces the per-channel gradient sums likewise.
// Contract: the builder's graph holds the forward model's inputs and initializers and no nodes;
// the builder knows the static shapes (training_shapes.h). Throws mhub::Error (unsupported) for
// a rank < 2 BatchNormalization input, a Dropout whose ratio / training_mode is not constant, or
// sync_batchnorm with standard_ops_only.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd/builder.h"

namespace mhub::autograd {

// A training-mode Dropout becomes x * mask with the mask an extra graph input, so the caller
// draws it from its own seeded generator (reproducible with --seed and --resume) and the
// backward pass is the Mul rule.
struct DropoutMask {
  std::string input;          // graph input name, float, shape `dims`
  std::vector<int64_t> dims;
  float ratio = 0.5f;         // feed 0 with probability ratio, else 1 / (1 - ratio)
};

// One forward node as the training graph runs it, with the values its backward rule needs.
struct ForwardStep {
  ir::Node node;
  std::map<std::string, std::string> saved;
};

struct TrainingForward {
  std::vector<ForwardStep> steps;                             // in topological order
  std::vector<std::pair<std::string, std::string>> running;   // BN buffer -> its new value
  std::vector<DropoutMask> dropout_masks;
};

TrainingForward emit_training_forward(Builder& b, const ir::Graph& forward, bool sync_batchnorm = false);

}  // namespace mhub::autograd
