// The kernels of FusedAttention (domain "mhub"), the node engine/core/passes/attention_fusion.h
// makes of MatMul -> scale -> (+ mask) -> Softmax(-1) -> MatMul:
//   inputs X [..., S, D], Y [..., D, T], V [..., T, Dv], mask (optional, broadcasts to
//   [..., S, T]); batch dims broadcast numpy-style across all four; output [..., S, Dv];
//   attributes mhub_scale (c) and mhub_scale_div (1: scores / c, else scores * c).
// Each batch entry's S x T scores live in one per-thread buffer (never the whole tensor); the
// fast kernel runs batch entries in parallel on the pool, each with single-threaded oneDNN
// sgemm and a vectorised exp; the reference runs them in order with the reference GEMM and the
// Softmax kernel's own arithmetic. Operands of rank < 2 and masks that would widen S or T are
// unsupported errors (the unfused graph handles them: fusion can be turned off).
#pragma once

#include <vector>

#include "engine/core/kernel.h"

namespace mhub::engine::cpu {

void add_fused_attention_kernels(std::vector<KernelDef>& table);

// True for nodes the load-time passes created (they must not reach the ONNX Attention kernel).
bool is_fused_attention(const ir::Node& node);

}  // namespace mhub::engine::cpu
