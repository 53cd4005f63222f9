// Whether this CPU computes bfloat16 in hardware (AVX512_BF16 or AMX), as oneDNN sees it.
//
// The bfloat16 fast kernels (conv_dnnl_bf16.cpp, matmul_dnnl_bf16.cpp) register only where this
// is true; elsewhere bfloat16 Conv / MatMul / Gemm stay on the reference kernels (correct, slow),
// and `mhub finetune --precision bf16` says so once. ONEDNN_MAX_CPU_ISA (e.g. AVX512_CORE)
// lowers oneDNN's view, and so this answer, for tests of the slow path.
#pragma once

#include "engine/ir/graph.h"

namespace mhub::engine::cpu {

bool cpu_has_bf16_units();

// Whether `node` carries the session's bfloat16 compute hint (mhub_compute = "bf16",
// engine/core/passes/compute_precision.h) and this CPU has the units to follow it: then its
// float32 fast kernel (Conv/ConvTranspose in conv_dnnl.cpp, MatMul/Gemm in
// matmul_dnnl_bf16.cpp) computes from bfloat16 copies of its inputs with float32 accumulation.
bool bf16_compute_hinted(const ir::Node& node);

// The element type a Conv kernel writes for `node` reading X of type `x` with float32 weights
// under the hint: bfloat16 where the node follows the hint and is marked mhub_storage_out = "bf16"
// (passes/compute_precision.h), else float32 (X may be bfloat16 storage, the output is float32).
// Without the hint or with other weights (a model computing in bfloat16 itself): X's type.
ir::DataType conv_output_type(const ir::Node& node, ir::DataType x, ir::DataType w);

}  // namespace mhub::engine::cpu
