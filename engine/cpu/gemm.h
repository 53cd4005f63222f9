// Row-major single-precision GEMM used by the NN kernels:
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
// op(X) is X or its transpose (trans_a / trans_b); lda/ldb/ldc are row strides in elements.
// `fast` = oneDNN's dnnl_sgemm (threads bounded by `threads`), otherwise plain loops (the
// reference). With beta == 0, C's old contents are ignored (may be uninitialised, even NaN).
#pragma once

#include <cstdint>

namespace mhub::engine::cpu {

void sgemm(bool fast, int threads, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc);

// Bounds oneDNN's OpenMP team to `threads` (the session's --threads); cheap when unchanged.
void set_dnnl_threads(int threads);

}  // namespace mhub::engine::cpu
