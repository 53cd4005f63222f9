// Channels-last layout assignment: which 4-D float32 values of a graph are stored NHWC, so that
// chains of convolutions, pooling, normalisation and per-element ops pass their activations on
// in the byte order oneDNN's convolutions prefer, without a reorder per node. Run by the
// Session after fuse_nn_patterns, in CPU-only sessions (no device kernel honours the marks).
//
// Contract: hidden layout. A value keeps its logical NCHW dims everywhere (shape inference,
// shape ops, --profile, hooks); only its bytes may be channels-last: element (n, c, h, w) of a
// [N, C, H, W] value at ((n*H + h)*W + w)*C + c. Two internal node attributes say so:
// - mhub_layout_out = "nhwc": the node writes output 0 channels-last;
// - mhub_layout_in = "nhwc": the node reads its activation inputs channels-last. Activation
//   inputs: X of Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool,
//   BatchNormalization, Resize / Upsample and unary per-element ops, every input of Concat (axis 1) and of
//   Add/Sub/Mul/Div, the parts of the internal ConcatBatchNorm (not its four parameters). A Conv's fused residual (input 3) is stored in its output's layout (the sum
//   post-op adds it into the output's bytes). A binary op reads every operand as row-major over
//   its dims padded to rank 4 and permuted to (N, H, W, C): true for its channels-last operands
//   and for constants whose channel or spatial size is 1 ([1,C,1,1] biases, scalars), whose bytes
//   are the same in both orders; a binary op with any other operand is not marked.
// No value changes layout between its producer and its readers, so there are no conversion
// nodes: a value is channels-last only when its producer can write it so and every reader reads
// it so. Convolutions are the layout boundaries (they read one layout and write another at no
// extra cost, oneDNN reorders inside); every other marked node keeps its input's layout
// (GlobalAveragePool's [N,C,1,1] output is the same bytes either way and counts as plain).
// Graph inputs and outputs, values read by subgraphs and by any other op are plain NCHW.
//
// Which nodes may be marked: per-element ops and Pads adding nothing (constant pads all 0: a
// copy) always (every kernel of theirs is layout-agnostic); every other op only where `kernel_reads_channels_last` says the kernel the
// backend will pick for the marked node (same input types, same allow_fast) honours the marks
// (KernelDef::channels_last), and its activation inputs are known at load to be 4-D float32.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "engine/ir/graph.h"

namespace mhub::engine::passes {

// Answers for a node carrying both marks, with the element types the pass knows for its inputs
// (undefined where unknown), whether the kernel that would run it honours the marks.
using ChannelsLastQuery = std::function<bool(const ir::Node& marked, std::span<const ir::DataType> input_types)>;

// Marks the graph's nodes (any earlier mhub_layout_* attributes are replaced) and returns how
// many values are stored channels-last.
size_t assign_channels_last(ir::Graph& graph, const ChannelsLastQuery& kernel_reads_channels_last);

// The names of the values assign_channels_last stores channels-last in `graph` (for tests and
// --profile): outputs of nodes marked mhub_layout_out = "nhwc".
std::vector<std::string> channels_last_values(const ir::Graph& graph);

}  // namespace mhub::engine::passes
