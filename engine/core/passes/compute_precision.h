// The compute-precision hint of a session (SessionOptions::compute_precision = "bf16"): every
// Conv, ConvTranspose, MatMul and Gemm of the model (main graph and subgraphs), and in training
// graphs the Conv gradients ConvGradInput / ConvGradWeight, gets the string attribute
// mhub_compute = "bf16", except the depthwise Convs of inference graphs (W [M, 1, k...] with
// group > 1, known from an initializer), which are memory-bound and stay float32 (training
// graphs, those holding Conv gradients, keep them hinted: see compute_precision.cpp). It says
// the node *may* compute in bfloat16 with float32 accumulation and a float32 output, as
// torch.autocast's CPU bf16 does for these ops; everything else stays float32. A kernel follows
// the hint only on float32 data where the CPU has bfloat16 units (engine/cpu/bf16_support.h);
// the reference kernels ignore it, so their results are the exact float32 twins of the hinted
// fast kernels (tests compare the two with a bf16 tolerance).
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::engine::passes {

inline constexpr const char* kComputeAttribute = "mhub_compute";

// Returns how many nodes got the hint (nodes that already have it are counted, not duplicated).
size_t hint_bf16_compute(ir::Graph& graph);

// bfloat16 storage between matrix ops (run by CPU-only bf16 sessions after the layout pass, on
// the main graph). A hinted Conv or MatMul otherwise reads float32 activations, converts them to
// bfloat16 and writes float32 again: in a chain of them (a ResNet's Convs, a transformer MLP's two
// MatMuls) most of the conversions and half the bytes moved are waste. Rule: output 0 of a Conv
// or MatMul is stored as bfloat16 (the node gets mhub_storage_out = "bf16") when
// - the node carries the bf16 compute hint and has no other output,
// - the value is not a graph output and no subgraph reads it,
// - it has readers, and every reader is a hinted Conv reading it as X (input 0) or as its fused
//   residual (input 3, nn_fusion's sum), or a hinted MatMul reading it as A (input 0), and
//   `reads_bf16` says the kernel that will run that reader accepts bfloat16 there (it is asked
//   with the reader's input types, bfloat16 at the positions stored so).
// Every other value keeps its type, so float32 mode and every other op are untouched. The mark
// is a permission like the hint: a kernel that honours it (conv_dnnl, the reference Conv and the
// hinted MatMul where the CPU has bf16 units) writes bfloat16, any other writes float32, and the
// readers take either. The graph's declared types (value_info) stay float32: like the
// channels-last layout, the storage type is the kernels' business. Returns how many values are
// stored bfloat16.
inline constexpr const char* kStorageAttribute = "mhub_storage_out";
using Bf16ReadQuery = std::function<bool(const ir::Node& reader, std::span<const ir::DataType> input_types)>;
size_t store_bf16_activations(ir::Graph& graph, const Bf16ReadQuery& reads_bf16);

// The outputs marked by store_bf16_activations (for tests and --profile).
std::vector<std::string> bf16_stored_values(const ir::Graph& graph);

}  // namespace mhub::engine::passes
