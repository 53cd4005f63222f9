// Integer matrix products: MatMulInteger (int32 result) and QLinearMatMul (requantized result).
// numpy matmul shapes: 1-D operands are promoted and the promoted axis dropped afterwards; the
// leading (batch) axes broadcast. Products accumulate exactly in int64.
#include <cmath>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/misc_broadcast.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

struct MatmulShape {
  std::vector<int64_t> a_dims, b_dims, batch_dims, out_dims;
  int64_t m = 0, k = 0, n = 0;
};

MatmulShape matmul_shape(OpContext& ctx, const ir::Tensor& a, const ir::Tensor& b) {
  MatmulShape s;
  s.a_dims = a.dims;
  s.b_dims = b.dims;
  if (s.a_dims.size() == 1) s.a_dims.insert(s.a_dims.begin(), 1);
  if (s.b_dims.size() == 1) s.b_dims.push_back(1);
  if (s.a_dims.size() < 2 || s.b_dims.size() < 2 || s.a_dims.back() != s.b_dims[s.b_dims.size() - 2])
    throw_error(ErrorCategory::format, ctx.describe() + ": inner dimensions of A and B differ");
  s.m = s.a_dims[s.a_dims.size() - 2];
  s.k = s.a_dims.back();
  s.n = s.b_dims.back();
  s.batch_dims = broadcast_shape(std::vector<int64_t>(s.a_dims.begin(), s.a_dims.end() - 2),
                                 std::vector<int64_t>(s.b_dims.begin(), s.b_dims.end() - 2), ctx.describe());
  s.out_dims = s.batch_dims;
  if (a.dims.size() > 1) s.out_dims.push_back(s.m);
  if (b.dims.size() > 1) s.out_dims.push_back(s.n);
  return s;
}

// Calls store(out_index, sum) with sum = sum_k (A[i,k] - za(i)) * (B[k,j] - zb(j)).
template <typename ZeroA, typename ZeroB, typename Store>
void integer_matmul(const ir::Tensor& a, const ir::Tensor& b, const MatmulShape& s, ZeroA za, ZeroB zb, Store store) {
  std::vector<int64_t> a_batch(s.a_dims.begin(), s.a_dims.end() - 2), b_batch(s.b_dims.begin(), s.b_dims.end() - 2);
  BroadcastMap map_a(a_batch, s.batch_dims), map_b(b_batch, s.batch_dims);
  uint64_t batches = 1;
  for (auto d : s.batch_dims) batches *= static_cast<uint64_t>(d);
  for (uint64_t bt = 0; bt < batches; ++bt) {
    uint64_t a_base = map_a(bt) * static_cast<uint64_t>(s.m * s.k), b_base = map_b(bt) * static_cast<uint64_t>(s.k * s.n);
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        int64_t sum = 0;
        for (int64_t p = 0; p < s.k; ++p)
          sum += (load_int64(a, a_base + static_cast<uint64_t>(i * s.k + p)) - za(i)) *
                 (load_int64(b, b_base + static_cast<uint64_t>(p * s.n + j)) - zb(j));
        store(bt * static_cast<uint64_t>(s.m * s.n) + static_cast<uint64_t>(i * s.n + j), sum);
      }
  }
}

// Zero point lookup: scalar/one element, or one per row (A) / column (B).
struct ZeroPoint {
  const ir::Tensor* t = nullptr;
  int64_t operator()(int64_t index) const {
    if (!t || t->numel() == 0) return 0;
    return load_int64(*t, t->numel() == 1 ? 0 : static_cast<uint64_t>(index));
  }
};

void matmul_integer(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  ZeroPoint za{ctx.has_input(2) ? &ctx.input(2) : nullptr}, zb{ctx.has_input(3) ? &ctx.input(3) : nullptr};
  MatmulShape s = matmul_shape(ctx, a, b);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int32, s.out_dims);
  integer_matmul(a, b, s, za, zb, [&](uint64_t i, int64_t v) { store_int64(y, i, v); });
}

void qlinear_matmul(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(3);
  const ir::Tensor& y_zero = ctx.input(7);
  double a_scale = load_as_double(ctx.input(1), 0), b_scale = load_as_double(ctx.input(4), 0);
  double y_scale = load_as_double(ctx.input(6), 0);
  if (ctx.input(1).numel() != 1 || ctx.input(4).numel() != 1 || ctx.input(6).numel() != 1)
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": only per-tensor scales are supported");
  ZeroPoint za{&ctx.input(2)}, zb{&ctx.input(5)};
  MatmulShape s = matmul_shape(ctx, a, b);
  ir::Tensor& y = ctx.allocate_output(0, y_zero.dtype, s.out_dims);
  double lo = y_zero.dtype == ir::DataType::int8 ? -128 : 0, hi = y_zero.dtype == ir::DataType::int8 ? 127 : 255;
  // The scale product is taken in float32, as the reference computes it.
  float multiplier = static_cast<float>(a_scale) * static_cast<float>(b_scale) / static_cast<float>(y_scale);
  double zero = static_cast<double>(load_int64(y_zero, 0));
  integer_matmul(a, b, s, za, zb, [&](uint64_t i, int64_t v) {
    double q = std::nearbyint(static_cast<double>(static_cast<float>(v) * multiplier)) + zero;
    store_int64(y, i, static_cast<int64_t>(std::clamp(q, lo, hi)));
  });
}

}  // namespace

void add_quantized_matmul_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MatMulInteger, KernelKind::reference, matmul_integer, nullptr});
  table.push_back({ir::OpKind::QLinearMatMul, KernelKind::reference, qlinear_matmul, nullptr});
}

}  // namespace mhub::engine::cpu
