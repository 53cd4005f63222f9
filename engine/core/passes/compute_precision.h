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

#include "engine/ir/graph.h"

namespace mhub::engine::passes {

inline constexpr const char* kComputeAttribute = "mhub_compute";

// Returns how many nodes got the hint (nodes that already have it are counted, not duplicated).
size_t hint_bf16_compute(ir::Graph& graph);

}  // namespace mhub::engine::passes
