// Load-time rewrite of DenseNet's Concat -> BatchNormalization [-> Relu] into one internal
// ConcatBatchNorm node (engine/ir/internal_ops.def), so the CPU reads the concatenated parts once
// and writes the normalised, activated values once, instead of writing the concatenation and
// reading it back (a full tensor each way, per dense layer and per transition).
//
// Runs after nn_fusion has fused the activations into the BatchNormalizations. Pattern:
//   c = Concat(X1, ..., Xk, axis 1); Y = BatchNormalization(c, scale, B, mean, var)
// where the Concat is the default-domain op on axis 1 with k >= 1 inputs, none absent, and c is
// read by the BN alone (not a graph output, not read by a subgraph, one input slot); the BN is an
// inference one (training_mode 0, no spatial = 0, no second or third output) whose four
// parameters are float32 constants of one dim and one size each; any fused activation
// (mhub_activation: DenseNet's Relu) goes with it. The node ConcatBatchNorm(X1, ..., Xk, scale,
// B, mean, var) takes the BN's name, output, epsilon and activation, and axis 1.
#pragma once

#include <cstddef>

#include "engine/ir/graph.h"

namespace mhub::engine::passes {

// Returns how many nodes went (one per Concat). Only for sessions whose nodes run on the CPU.
size_t fuse_concat_batch_norms(ir::Graph& graph);

}  // namespace mhub::engine::passes
