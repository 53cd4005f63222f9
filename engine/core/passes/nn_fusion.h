// Load-time graph fusions for the neural-net kernels, run by the Session on its private copy
// of the graph (never on the caller's model):
// - Conv followed by an inference BatchNormalization: the BN is folded into new Conv weights
//   and bias (W' = W * s, B' = (B - mean) * s + beta, s = scale / sqrt(var + eps)).
// - Conv or Gemm followed by an activation (Relu, LeakyRelu, Clip with load-time bounds, Gelu,
//   Sigmoid, Tanh, HardSigmoid, HardSwish; passes::fusable_activation) or by x * Sigmoid(x)
//   (SiLU; passes::match_silu): those nodes are dropped and the producer gets the internal
//   attribute mhub_activation (engine/ops/fused_activation.h), which both its reference and fast
//   kernels apply (oneDNN as post-ops).
// - Conv followed by an Add of another value (a residual block), CPU-only sessions: the Add is
//   dropped and the Conv reads the other operand as input 3 (the bias input "" when absent);
//   both Conv kernels add it before the fused activation (oneDNN: a sum post-op when the shapes
//   are equal; a broadcasting residual takes the reference kernel). The chain is
//   Conv -> [BatchNormalization] -> [Add] -> [activation].
// - An inference BatchNormalization followed by such an activation, CPU-only sessions (pre-activation
//   blocks such as DenseNet's BN -> Relu -> Conv, where folding into the Conv is not valid): the
//   activation node is dropped and the BN gets mhub_activation, applied by both BN kernels.
// - A Pad that adds nothing (constant mode, load-time pads all 0: older exports put one before each
//   AveragePool) is removed, its readers reading its input, unless a graph output or subgraph reads it.
// - ShuffleNet's channel shuffle (Reshape to 5-D, Transpose, Reshape back), CPU-only sessions: one
//   internal ChannelShuffle node (passes/channel_shuffle.h).
// - After those, squeeze-excitation (GlobalAveragePool -> 1x1 Conv -> 1x1 Conv -> Mul by the pool's input,
//   activations already fused into the Convs), CPU-only sessions: one internal SqueezeExcitation
//   node (passes/squeeze_excitation.h); and a Concat on axis 1 read only by an inference
//   BatchNormalization with constant parameters (DenseNet: the Relu already fused into the BN),
//   CPU-only sessions: one internal ConcatBatchNorm node (passes/concat_batch_norm.h).
// - A fused-residual Conv that reads its residual last in every topological order (each other
//   reader of it is one of the Conv's ancestors; the residual is no graph input, initializer,
//   graph output or subgraph read, and a Conv, MaxPool, Relu, Add or BatchNormalization, whose
//   kernels write pool buffers, produced it) gets the internal attribute
//   mhub_residual_in_place = 1 (kResidualInPlace): the oneDNN kernel may then write Y over the
//   residual's bytes instead of copying them into a new Y for its sum post-op, when nothing else
//   holds those bytes at run time (conv_dnnl.cpp checks). Other kernels ignore it.
// - An inference BatchNormalization that reads X last in the same sense (DenseNet's BN after
//   each Concat, pre-activation blocks), with X made by one of those ops or a Concat, gets
//   mhub_input_in_place = 1 (kInputInPlace): the fast kernel (cpu/norm.cpp) may write Y over X's
//   bytes when nothing else holds them at run time, saving a buffer's worth of memory traffic.
// Which values are then stored channels-last is channels_last.h's pass.
// A producer is only fused when its output has exactly one reader in the graph, is not a graph
// output and is not read by a subgraph; all folded parameters must be float32 initializers.
#pragma once

#include <cstddef>

#include "engine/ir/graph.h"

namespace mhub::engine {

inline constexpr const char* kResidualInPlace = "mhub_residual_in_place";
inline constexpr const char* kInputInPlace = "mhub_input_in_place";

// Returns how many nodes were removed by fusion. `cpu_only` false leaves out the rewrite only
// the CPU kernels understand: the Conv + Add residual (sessions with a device backend skip it).
size_t fuse_nn_patterns(ir::Graph& graph, bool cpu_only = true);

}  // namespace mhub::engine
