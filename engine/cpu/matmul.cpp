// Gemm, MatMul (batched, numpy broadcasting of batch dims, 1-D operands), MatMulInteger and
// QLinearMatMul. The float ops share one GEMM (gemm.h): the reference uses its plain loops,
// the fast kernels (float32 only) use oneDNN's sgemm, or its matmul primitive with prepacked
// weights where B is a constant weight matrix (matmul_dnnl.h says when). MatMul and Gemm nodes fused with a bias /
// activation by the load-time passes finish their rows with epilogue.h.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/matmul_dnnl.h"
#include "engine/ops/matmul.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {


void matmul_float(OpContext& ctx, bool fast) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  ops::MatMulPlan p = ops::plan_matmul(ctx.node(), a.dims, b.dims);
  Epilogue epilogue = matmul_epilogue(ctx, p.n);
  int threads = ctx.threads().size();
  size_t batches = p.a_batch_offsets.size();
  int64_t rows = static_cast<int64_t>(batches) * p.m;
  if (a.dtype == ir::DataType::float32 && b.dtype == ir::DataType::float32) {
    ir::Tensor& y = ctx.allocate_output(0, a.dtype, p.out_dims);
    float* out = mutable_floats(y);
    const float* av = a.data<float>();
    const float* bv = b.data<float>();
    if (fast && b.dims.size() <= 2 && prepacked_matmul_applies(ctx, 1, rows, p.n, p.k)) {
      // A weight matrix: A's batches are rows of one matrix (as below), bias and activation fused.
      prepacked_matmul(ctx, 1, av, rows, p.n, p.k, false, epilogue.bias, out);
      return;
    }
    if (b.dims.size() <= 2 && batches > 1) {
      // B has no batch dims (a weight matrix): A's batches are contiguous rows of one
      // [batches*M, K] matrix, so one GEMM replaces `batches` skinny ones (for [S, B, E] x
      // [E, N] that is one 128-row GEMM instead of 128 matrix-vector products).
      sgemm(fast, threads, false, false, rows, p.n, p.k, 1.0f, av, p.k, bv, p.n, 0.0f, out, p.n);
    } else if (fast && batches > 1 && p.m * p.n * p.k < (1 << 18)) {
      // Many small products: spread batches over the pool, one single-threaded sgemm each.
      ctx.threads().parallel_for(batches, 1, [&](size_t lo, size_t hi) {
        for (size_t t = lo; t < hi; ++t)
          sgemm(true, 1, false, false, p.m, p.n, p.k, 1.0f, av + p.a_batch_offsets[t], p.k,
                bv + p.b_batch_offsets[t], p.n, 0.0f, out + t * p.m * p.n, p.n);
      });
    } else {
      for (size_t t = 0; t < batches; ++t)
        sgemm(fast, threads, false, false, p.m, p.n, p.k, 1.0f, av + p.a_batch_offsets[t], p.k,
              bv + p.b_batch_offsets[t], p.n, 0.0f, out + t * p.m * p.n, p.n);
    }
    apply_epilogue(epilogue, out, rows, p.n, fast, ctx.threads());
    return;
  }
  std::vector<float> af = input_floats(ctx, 0), bf = input_floats(ctx, 1);
  std::vector<float> out(batches * p.m * p.n);
  for (size_t t = 0; t < batches; ++t)
    sgemm(false, 1, false, false, p.m, p.n, p.k, 1.0f, af.data() + p.a_batch_offsets[t], p.k,
          bf.data() + p.b_batch_offsets[t], p.n, 0.0f, out.data() + t * p.m * p.n, p.n);
  apply_epilogue(epilogue, out.data(), rows, p.n, false, ctx.threads());
  output_floats(ctx, 0, a.dtype, p.out_dims, out.data());
}
void matmul_reference(OpContext& ctx) { matmul_float(ctx, false); }
void matmul_fast(OpContext& ctx) { matmul_float(ctx, true); }
bool both_float32(const ir::Node&, std::span<const ir::DataType> t) {
  return t.size() >= 2 && t[0] == ir::DataType::float32 && t[1] == ir::DataType::float32;
}

void gemm_float(OpContext& ctx, bool fast) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  if (a.dims.size() != 2 || b.dims.size() != 2) fail(ctx, "Gemm needs 2-D A and B");
  bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  int64_t m = ta ? a.dims[1] : a.dims[0], k = ta ? a.dims[0] : a.dims[1];
  int64_t kb = tb ? b.dims[1] : b.dims[0], n = tb ? b.dims[0] : b.dims[1];
  if (k != kb) fail(ctx, "Gemm inner dimensions differ");
  // float32 A and B: the product is written straight into the output; other types compute in a
  // float32 buffer narrowed at the end.
  const bool f32 = a.dtype == ir::DataType::float32 && b.dtype == ir::DataType::float32;
  if (fast && f32 && !ta && alpha == 1.0f && prepacked_matmul_applies(ctx, 1, m, n, k)) {
    // A weight matrix: C, when it is a float32 row of n values added once, is the bias.
    const float* bias = nullptr;
    bool c_is_bias = !ctx.has_input(2) || beta == 0.0f;
    if (!c_is_bias) {
      const ir::Tensor& c = ctx.input(2);
      const bool row = c.dims.size() == 1 || (c.dims.size() == 2 && c.dims[0] == 1);
      c_is_bias = beta == 1.0f && c.dtype == ir::DataType::float32 && row && c.dims.back() == n;
      bias = c_is_bias ? c.data<float>() : nullptr;
    }
    if (c_is_bias) {
      float* y = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, {m, n}));
      prepacked_matmul(ctx, 1, a.data<float>(), m, n, k, tb, bias, y);
      return;
    }
  }
  std::vector<float> buffer;
  float* out = nullptr;
  if (f32) {
    out = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, {m, n}));
  } else {
    buffer.resize(static_cast<size_t>(m * n));
    out = buffer.data();
  }
  const bool has_c = ctx.has_input(2) && beta != 0.0f;
  if (has_c) {
    const ir::Tensor& c = ctx.input(2);
    std::vector<float> widened;
    const float* cv = c.dtype == ir::DataType::float32 ? c.data<float>() : (widened = input_floats(ctx, 2)).data();
    std::vector<int64_t> cd = c.dims;
    while (cd.size() < 2) cd.insert(cd.begin(), 1);
    if (cd.size() > 2 || (cd[0] != 1 && cd[0] != m) || (cd[1] != 1 && cd[1] != n))
      fail(ctx, "C does not broadcast to [M, N]");
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        out[i * n + j] = cv[(cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j)];
  }
  // Without C the output is not filled first: sgemm with beta 0 writes every element of it
  // (gemm.h), also when K is 0.
  std::vector<float> af, bf;
  const float* ap = f32 ? a.data<float>() : (af = input_floats(ctx, 0)).data();
  const float* bp = f32 ? b.data<float>() : (bf = input_floats(ctx, 1)).data();
  sgemm(fast && f32, ctx.threads().size(), ta, tb, m, n, k, alpha, ap, a.dims[1], bp, b.dims[1],
        has_c ? beta : 0.0f, out, n);
  apply_epilogue(epilogue_of(node, nullptr), out, m, n, fast && f32, ctx.threads());
  if (!f32) output_floats(ctx, 0, a.dtype, {m, n}, out);
}
void gemm_reference(OpContext& ctx) { gemm_float(ctx, false); }
void gemm_fast(OpContext& ctx) { gemm_float(ctx, true); }

// Integer element `i` of a uint8/int8 tensor.
int32_t int8_at(const ir::Tensor& t, size_t i) {
  return t.dtype == ir::DataType::int8 ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
}

// Zero point for row `row` (A, per-row) or column (B, per-column): scalar or 1-D.
int32_t zero_point(OpContext& ctx, size_t index, int64_t position) {
  if (!ctx.has_input(index)) return 0;
  const ir::Tensor& z = ctx.input(index);
  if (z.numel() == 0) return 0;
  if (z.numel() == 1) return int8_at(z, 0);
  return int8_at(z, static_cast<size_t>(position % static_cast<int64_t>(z.numel())));
}

// Integer products (x - zx) * (w - zw) summed over K, for every batch: the core of
// MatMulInteger and QLinearMatMul.
std::vector<int32_t> integer_products(OpContext& ctx, size_t ia, size_t ib, size_t iza,
                                      size_t izb, ops::MatMulPlan& p) {
  const ir::Tensor& a = ctx.input(ia);
  const ir::Tensor& b = ctx.input(ib);
  p = ops::plan_matmul(ctx.node(), a.dims, b.dims);
  std::vector<int32_t> out(p.a_batch_offsets.size() * p.m * p.n);
  for (size_t t = 0; t < p.a_batch_offsets.size(); ++t)
    for (int64_t i = 0; i < p.m; ++i) {
      int32_t za = zero_point(ctx, iza, i);
      for (int64_t j = 0; j < p.n; ++j) {
        int32_t zb = zero_point(ctx, izb, j);
        int32_t acc = 0;
        for (int64_t q = 0; q < p.k; ++q)
          acc += (int8_at(a, p.a_batch_offsets[t] + i * p.k + q) - za) *
                 (int8_at(b, p.b_batch_offsets[t] + q * p.n + j) - zb);
        out[(t * p.m + i) * p.n + j] = acc;
      }
    }
  return out;
}

void matmul_integer(OpContext& ctx) {
  ops::MatMulPlan p;
  std::vector<int32_t> acc = integer_products(ctx, 0, 1, 2, 3, p);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int32, p.out_dims);
  if (!acc.empty()) std::memcpy(y.storage->mutable_data() + y.offset, acc.data(), acc.size() * 4);
}

float scale_at(OpContext& ctx, size_t index, int64_t position) {
  std::vector<float> s = input_floats(ctx, index);
  if (s.empty()) fail(ctx, "empty scale");
  return s.size() == 1 ? s[0] : s[static_cast<size_t>(position) % s.size()];
}

void qlinear_matmul(OpContext& ctx) {
  ops::MatMulPlan p;
  std::vector<int32_t> acc = integer_products(ctx, 0, 3, 2, 5, p);
  const ir::Tensor& yz = ctx.input(7);
  ir::DataType out_type = yz.dtype;
  ir::Tensor& y = ctx.allocate_output(0, out_type, p.out_dims);
  uint8_t* out = y.storage->mutable_data() + y.offset;
  float ys = scale_at(ctx, 6, 0);
  int32_t zy = int8_at(yz, 0);
  size_t batches = p.a_batch_offsets.size();
  for (size_t t = 0; t < batches; ++t)
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        size_t o = (t * p.m + i) * p.n + j;
        float real = static_cast<float>(acc[o]) * scale_at(ctx, 1, i) * scale_at(ctx, 4, j);
        float q = std::nearbyint(real / ys) + static_cast<float>(zy);
        if (out_type == ir::DataType::int8)
          reinterpret_cast<int8_t*>(out)[o] = static_cast<int8_t>(std::fmin(127.0f, std::fmax(-128.0f, q)));
        else
          out[o] = static_cast<uint8_t>(std::fmin(255.0f, std::fmax(0.0f, q)));
      }
}

bool int8_inputs(const ir::Node&, std::span<const ir::DataType> t) {
  return !t.empty() && (t[0] == ir::DataType::uint8 || t[0] == ir::DataType::int8);
}

}  // namespace

void add_matmul_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  table.push_back({OpKind::MatMul, KernelKind::reference, matmul_reference, nn_float_input});
  table.push_back({OpKind::MatMul, KernelKind::fast, matmul_fast, both_float32});
  table.push_back({OpKind::Gemm, KernelKind::reference, gemm_reference, nn_float_input});
  table.push_back({OpKind::Gemm, KernelKind::fast, gemm_fast, both_float32});
  table.push_back({OpKind::MatMulInteger, KernelKind::reference, matmul_integer, int8_inputs});
  table.push_back({OpKind::QLinearMatMul, KernelKind::reference, qlinear_matmul, int8_inputs});
}

}  // namespace mhub::engine::cpu
