// Whether this CPU computes bfloat16 in hardware (AVX512_BF16 or AMX), as oneDNN sees it.
//
// The bfloat16 fast kernels (conv_dnnl_bf16.cpp, matmul_dnnl_bf16.cpp) register only where this
// is true; elsewhere bfloat16 Conv / MatMul / Gemm stay on the reference kernels (correct, slow),
// and `mhub finetune --precision bf16` says so once. ONEDNN_MAX_CPU_ISA (e.g. AVX512_CORE)
// lowers oneDNN's view, and so this answer, for tests of the slow path.
#pragma once

namespace mhub::engine::cpu {

bool cpu_has_bf16_units();

}  // namespace mhub::engine::cpu
