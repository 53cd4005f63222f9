// MatMul and Gemm on the CUDA backend (float32) with cuBLAS, plus the fused bias / activation
// epilogue of the load-time passes. cuBLAS is column-major: a row-major C = A * B is computed
// as the column-major C^T = B^T * A^T, which is the same bytes, so no transposes are copied.
#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cublas_loader.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/layout.cuh"
#include "engine/cuda/matmul.cuh"
#include "engine/ops/fused_activation.h"
#include "engine/ops/matmul.h"

namespace mhub::engine::cuda {

namespace {

bool float32_operands(const ir::Node&, std::span<const ir::DataType> types) {
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i] != ir::DataType::float32 && types[i] != ir::DataType::undefined) return false;
  return types.size() >= 2 && types[0] == ir::DataType::float32 && types[1] == ir::DataType::float32;
}

// The node's fused bias (given separately) and activation on its output rows.
void finish_rows(const ir::Node& node, float* y, int64_t rows, int64_t n, const float* bias, cudaStream_t stream) {
  const ops::FusedActivation fused = ops::fused_activation_of(node);
  epilogue_f32(y, rows, n, bias, fused.act, fused.alpha, fused.beta, stream);
}

// Row-major y[m, n] = alpha * op(a)[m, k] * op(b)[k, n] + beta * y; lda / ldb as stored.
void row_major_sgemm(CudaContext& context, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* y) {
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
    throw_error(ErrorCategory::unsupported, "a matrix dimension over 2^31 is more than cuBLAS's 32-bit API takes");
  MHUB_CUBLAS_CHECK(cublas().sgemm(context.cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                static_cast<int>(ldb), a, static_cast<int>(lda), &beta, y, static_cast<int>(n)));
}

void matmul(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  const ops::MatMulPlan p = ops::plan_matmul(ctx.node(), a.dims, b.dims);
  const float* bias = nullptr;
  if (ctx.input_count() > 2 && ctx.has_input(2)) {
    const ir::Tensor& fused_bias = ctx.input(2);
    if (static_cast<int64_t>(fused_bias.numel()) != p.n)
      throw_error(ErrorCategory::format, ctx.describe() + ": the fused bias must hold one value per output column");
    bias = fused_bias.data<float>();
  }
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, p.out_dims);
  float* out = device_floats(y);
  CudaContext& context = current_context();
  const int64_t batches = static_cast<int64_t>(p.a_batch_offsets.size());
  if (batches == 0 || p.m == 0 || p.n == 0) return;
  const float* av = a.data<float>();
  const float* bv = b.data<float>();
  if (p.k == 0) {
    // An empty inner dimension sums nothing: zeros, then the epilogue.
    MHUB_CUDA_CHECK(cudaMemsetAsync(out, 0, y.byte_size(), context.stream));
  } else if (b.dims.size() <= 2) {
    // B is one matrix: A's batches are the rows of a single [batches*M, K] product.
    row_major_sgemm(context, false, false, batches * p.m, p.n, p.k, 1.0f, av, p.k, bv, p.n, 0.0f, out);
  } else {
    // Equal strides between batches (no broadcasting, or one side broadcast whole) make one
    // strided-batched call; otherwise one GEMM per batch at the plan's offsets.
    bool uniform = true;
    const int64_t a_step = batches > 1 ? p.a_batch_offsets[1] - p.a_batch_offsets[0] : 0;
    const int64_t b_step = batches > 1 ? p.b_batch_offsets[1] - p.b_batch_offsets[0] : 0;
    for (int64_t t = 0; t < batches && uniform; ++t)
      uniform = p.a_batch_offsets[t] == t * a_step && p.b_batch_offsets[t] == t * b_step;
    if (uniform && batches <= INT32_MAX) {
      const float one = 1.0f, zero = 0.0f;
      MHUB_CUBLAS_CHECK(cublas().sgemm_strided_batched(
          context.cublas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(p.n), static_cast<int>(p.m), static_cast<int>(p.k),
          &one, bv, static_cast<int>(p.n), b_step, av, static_cast<int>(p.k), a_step, &zero, out, static_cast<int>(p.n),
          p.m * p.n, static_cast<int>(batches)));
    } else {
      for (int64_t t = 0; t < batches; ++t)
        row_major_sgemm(context, false, false, p.m, p.n, p.k, 1.0f, av + p.a_batch_offsets[t], p.k,
                        bv + p.b_batch_offsets[t], p.n, 0.0f, out + t * p.m * p.n);
    }
  }
  finish_rows(ctx.node(), out, batches * p.m, p.n, bias, context.stream);
}

void gemm(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  if (a.dims.size() != 2 || b.dims.size() != 2)
    throw_error(ErrorCategory::format, ctx.describe() + ": Gemm needs 2-D A and B");
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  const int64_t m = ta ? a.dims[1] : a.dims[0], k = ta ? a.dims[0] : a.dims[1];
  const int64_t kb = tb ? b.dims[1] : b.dims[0], n = tb ? b.dims[0] : b.dims[1];
  if (k != kb) throw_error(ErrorCategory::format, ctx.describe() + ": Gemm inner dimensions differ");
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, {m, n});
  float* out = device_floats(y);
  CudaContext& context = current_context();
  if (m == 0 || n == 0) return;
  const bool has_c = ctx.input_count() > 2 && ctx.has_input(2) && beta != 0.0f;
  if (has_c) {
    // C is broadcast into Y first; the GEMM then accumulates onto it with beta.
    const ir::Tensor& c = ctx.input(2);
    ops::BroadcastPlan plan;
    if (!ops::make_broadcast_plan({c.dims}, {m, n}, plan))
      throw_error(ErrorCategory::format, ctx.describe() + ": C does not broadcast to [M, N]");
    broadcast_copy_f32(plan, c.data<float>(), out, context.stream);
  }
  if (k == 0) {
    // alpha * (empty product) is zero: only beta * C (or zeros) remains.
    if (!has_c) MHUB_CUDA_CHECK(cudaMemsetAsync(out, 0, y.byte_size(), context.stream));
    else if (beta != 1.0f)
      MHUB_CUBLAS_CHECK(cublas().sscal(context.cublas, static_cast<int>(m * n), &beta, out, 1));
  } else {
    row_major_sgemm(context, ta, tb, m, n, k, alpha, a.data<float>(), a.dims[1], b.data<float>(), b.dims[1],
                    has_c ? beta : 0.0f, out);
  }
  finish_rows(node, out, m, n, nullptr, context.stream);
}

}  // namespace

void add_matmul_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MatMul, KernelKind::fast, matmul, float32_operands});
  table.push_back({ir::OpKind::Gemm, KernelKind::fast, gemm, float32_operands});
}

}  // namespace mhub::engine::cuda
