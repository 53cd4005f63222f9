#include "engine/cpu/gemm.h"

#include <omp.h>

#include <atomic>
#include <vector>

#include <oneapi/dnnl/dnnl.h>

namespace mhub::engine::cpu {

void set_dnnl_threads(int threads) {
  // Debian's libdnnl runs on OpenMP: its team size is the OpenMP max-threads setting of the
  // calling thread. The team is the one ThreadPool::parallel_for runs on (core/thread_pool.h),
  // which asks for the session's threads too: equal sizes keep libgomp from ending and starting
  // threads between a loop and a primitive.
  if (threads < 1) threads = 1;
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

void sgemm(bool fast, int threads, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (fast && k > 0) {
    set_dnnl_threads(threads);
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a,
                                  lda, b, ldb, beta, c, ldc);
    if (st == dnnl_success) return;
  }
  // Reference: i-k-j order so the inner loop walks rows of B and C contiguously.
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) row[j] = 0.0f;
    for (int64_t p = 0; p < k; ++p) {
      float av = trans_a ? a[p * lda + i] : a[i * lda + p];
      if (trans_b) {
        for (int64_t j = 0; j < n; ++j) row[j] += av * b[j * ldb + p];
      } else {
        const float* brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) row[j] += av * brow[j];
      }
    }
    float* crow = c + i * ldc;
    for (int64_t j = 0; j < n; ++j)
      crow[j] = beta == 0.0f ? alpha * row[j] : alpha * row[j] + beta * crow[j];
  }
}

}  // namespace mhub::engine::cpu
