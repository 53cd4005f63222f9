// Load-time rewrite of ShuffleNet's channel shuffle into one internal ChannelShuffle node
// (engine/ir/internal_ops.def), which the CPU runs in either byte order, so the layout pass can
// keep the value channels-last through it instead of reordering to NCHW and back around a 5-D
// Reshape / Transpose.
//
// Pattern: Y = Reshape(Transpose(Reshape(X, S1), perm = [0, 2, 1, 3, 4]), S2), both Reshapes
// without allowzero, each intermediate read only by the next node; S2 has 4 elements as far as
// the load can tell (a constant of 4, or a Concat along axis 0 of 4 one-element pieces: constants
// or Unsqueeze outputs, which a 1-D shape tensor only holds when they come from scalars). The
// node ChannelShuffle(X, S1, S2) keeps S1 and S2 as inputs and computes exactly what the three
// nodes compute (the kernel checks at run time that the shapes make a channel shuffle and
// otherwise does the general reshape-transpose-reshape).
#pragma once

#include <cstddef>

#include "engine/ir/graph.h"

namespace mhub::engine::passes {

// Returns how many nodes went (two per shuffle). Only for sessions whose nodes run on the CPU.
size_t fuse_channel_shuffles(ir::Graph& graph);

// Whether Y of a ChannelShuffle node is known at load to have 4 dims (see above).
bool channel_shuffle_output_is_4d(const ir::Graph& graph, const ir::Node& node);

}  // namespace mhub::engine::passes
