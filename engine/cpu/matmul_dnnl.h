// Float32 products by a constant weight matrix (MatMul / Gemm whose B is a session constant,
// OpContext::input_is_constant) on oneDNN's matmul primitive:
//   out[rows, n] = act(A[rows, k] * B + bias)
// B is [k, n] (or [n, k] with trans_b, Gemm's transB) and is reordered once into the layout
// the primitive prefers (blocked for its brgemm kernels); the bias and the fused activation run
// as the primitive's bias and eltwise post-ops, so the output is written once.
//
// Why not sgemm here: dnnl_sgemm packs B on every call and leaves the bias / activation to a
// second pass over the output (epilogue.h).
//
// Rule (prepacked_matmul_applies): the primitive for every product with a constant float32 B, at
// least 2 output columns, k >= 8 and rows * n * k >= 8192 multiply-adds; sgemm (the caller's path)
// otherwise, and whenever B is not a session constant (its bytes may change between runs, so
// nothing derived from them can be cached). Single-thread A/B of the two on the transformer
// shapes (oneDNN 2.6, AVX-512: M = 1 decoding rows, 49..3136 window / token rows, K 96..3072, N
// 192..3072): the primitive was never slower beyond noise, and clearly faster where sgemm's
// per-call packing of B or the separate epilogue pass matter (small K, large N, fused GELU);
// below about 8192 multiply-adds its fixed per-call cost made it the slower one.
//
// Plans (primitive + prepacked B) are cached per (B's bytes, rows, n, k, trans_b, bias, node
// attributes); an entry holds B's Storage so the address stays unique while it lives, and
// entries whose B only the cache still holds are dropped. Steady-state runs allocate nothing:
// each thread keeps its memory objects per plan and a growable scratchpad.
#pragma once

#include <cstdint>

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

// Whether the rule above sends this product to the primitive. `b_index` is B's input index.
bool prepacked_matmul_applies(OpContext& ctx, size_t b_index, int64_t rows, int64_t n, int64_t k);

// out = act(A * B + bias) as described above; `a` is row-major with row stride k, `bias` has n
// values or is nullptr, the activation is the node's fused one (ops::fused_activation_of). Call
// only where prepacked_matmul_applies said true.
void prepacked_matmul(OpContext& ctx, size_t b_index, const float* a, int64_t rows, int64_t n, int64_t k, bool trans_b,
                      const float* bias, float* out);

}  // namespace mhub::engine::cpu
