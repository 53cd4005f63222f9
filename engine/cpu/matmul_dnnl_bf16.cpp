// Fast bfloat16 MatMul and Gemm through oneDNN's matmul: what `--precision bf16`
// (engine/autograd/autocast.h) gives them. bfloat16 A and B, float32 accumulation and a float32
// product; alpha, beta * C and the fused activation (epilogue.h) are applied to that float32
// product, which is then rounded once to the bfloat16 output, as the reference kernels
// (matmul.cpp) do after their float32 GEMM. MatMul broadcasts batch dims as the reference does
// (ops::plan_matmul): one product per output batch, or one tall product when B is a plain matrix.
//
// Registered for every CPU, supported only where it has bfloat16 units (bf16_support.h).
// Primitives are cached per (M, N, K, transposes): shapes only, never tensors.
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/bf16_support.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/matmul.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

// C[M, N] (float32, row-major) = op(A)[M, K] * op(B)[K, N] over row-major bfloat16 A and B.
struct Bf16Product {
  dnnl::matmul matmul;
  memory::desc a_md, b_md, c_md, scratch_md;
};

using ProductKey = std::tuple<int64_t, int64_t, int64_t, bool, bool>;
std::mutex product_mutex;
std::map<ProductKey, std::shared_ptr<const Bf16Product>> products;

std::shared_ptr<const Bf16Product> product_for(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b) {
  ProductKey key{m, n, k, trans_a, trans_b};
  {
    std::lock_guard<std::mutex> lock(product_mutex);
    auto it = products.find(key);
    if (it != products.end()) return it->second;
  }
  auto p = std::make_shared<Bf16Product>();
  // A stored [M, K] (or [K, M] when transposed), B stored [K, N] (or [N, K]): strides say which.
  p->a_md = memory::desc({m, k}, memory::data_type::bf16, trans_a ? memory::dims{1, m} : memory::dims{k, 1});
  p->b_md = memory::desc({k, n}, memory::data_type::bf16, trans_b ? memory::dims{1, k} : memory::dims{n, 1});
  p->c_md = memory::desc({m, n}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // shared across threads: scratch per run
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p->a_md, p->b_md, p->c_md), attr, dnnl_cpu_engine());
  p->matmul = dnnl::matmul(pd);
  p->scratch_md = pd.scratchpad_desc();
  std::lock_guard<std::mutex> lock(product_mutex);
  if (products.size() > 4096) products.clear();  // bounded: shapes are re-planned after a flush
  products[key] = p;
  return p;
}

void run_product(const Bf16Product& p, dnnl::stream& stream, const uint16_t* a, const uint16_t* b, float* c) {
  const dnnl::engine& engine = dnnl_cpu_engine();
  p.matmul.execute(stream, {{DNNL_ARG_SRC, memory(p.a_md, engine, const_cast<uint16_t*>(a))},
                            {DNNL_ARG_WEIGHTS, memory(p.b_md, engine, const_cast<uint16_t*>(b))},
                            {DNNL_ARG_DST, memory(p.c_md, engine, c)},
                            {DNNL_ARG_SCRATCHPAD, memory(p.scratch_md, engine)}});
}

// The float32 values rounded to a bfloat16 output tensor (oneDNN's vectorised conversion,
// round to nearest even).
void store_bf16(OpContext& ctx, std::vector<int64_t> dims, std::vector<float>& values) {
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::bfloat16, std::move(dims));
  if (values.empty()) return;
  const memory::dims flat{static_cast<int64_t>(values.size())};
  memory from(memory::desc(flat, memory::data_type::f32, memory::format_tag::a), dnnl_cpu_engine(), values.data());
  memory to(memory::desc(flat, memory::data_type::bf16, memory::format_tag::a), dnnl_cpu_engine(), mutable_bytes(y));
  dnnl::stream stream(dnnl_cpu_engine());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
}

void matmul_bf16_fast(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  ops::MatMulPlan plan = ops::plan_matmul(ctx.node(), a.dims, b.dims);
  set_dnnl_threads(ctx.threads().size());
  const size_t batches = plan.a_batch_offsets.size();
  const int64_t rows = static_cast<int64_t>(batches) * plan.m;
  std::vector<float> out(static_cast<size_t>(rows * plan.n));
  const uint16_t* av = a.data<uint16_t>();
  const uint16_t* bv = b.data<uint16_t>();
  dnnl::stream stream(dnnl_cpu_engine());
  if (rows * plan.n > 0 && plan.k > 0) {
    if (b.dims.size() <= 2 && batches > 1) {
      // B is one matrix: A's batches are consecutive rows of a [batches * M, K] matrix.
      run_product(*product_for(rows, plan.n, plan.k, false, false), stream, av, bv, out.data());
    } else {
      auto product = product_for(plan.m, plan.n, plan.k, false, false);
      for (size_t t = 0; t < batches; ++t)
        run_product(*product, stream, av + plan.a_batch_offsets[t], bv + plan.b_batch_offsets[t], out.data() + t * plan.m * plan.n);
    }
    stream.wait();
  }
  apply_epilogue(epilogue_of(ctx.node(), nullptr), out.data(), rows, plan.n, true, ctx.threads());
  store_bf16(ctx, plan.out_dims, out);
}

void gemm_bf16_fast(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  if (a.dims.size() != 2 || b.dims.size() != 2) fail(ctx, "Gemm needs 2-D A and B");
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  const int64_t m = ta ? a.dims[1] : a.dims[0], k = ta ? a.dims[0] : a.dims[1];
  const int64_t kb = tb ? b.dims[1] : b.dims[0], n = tb ? b.dims[0] : b.dims[1];
  if (k != kb) fail(ctx, "Gemm inner dimensions differ");
  std::vector<float> out(static_cast<size_t>(m * n), 0.0f);
  set_dnnl_threads(ctx.threads().size());
  if (m * n > 0 && k > 0) {
    dnnl::stream stream(dnnl_cpu_engine());
    run_product(*product_for(m, n, k, ta, tb), stream, a.data<uint16_t>(), b.data<uint16_t>(), out.data());
    stream.wait();
  }
  if (alpha != 1.0f)
    for (float& v : out) v *= alpha;
  if (ctx.has_input(2) && beta != 0.0f) {
    const ir::Tensor& c = ctx.input(2);
    std::vector<float> cv = input_floats(ctx, 2);
    std::vector<int64_t> cd = c.dims;
    while (cd.size() < 2) cd.insert(cd.begin(), 1);
    if (cd.size() > 2 || (cd[0] != 1 && cd[0] != m) || (cd[1] != 1 && cd[1] != n)) fail(ctx, "C does not broadcast to [M, N]");
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) out[i * n + j] += beta * cv[(cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j)];
  }
  apply_epilogue(epilogue_of(node, nullptr), out.data(), m, n, true, ctx.threads());
  store_bf16(ctx, {m, n}, out);
}

// bfloat16 A and B on a CPU with bf16 units. A MatMul fused with a bias (input 2) stays on the
// reference kernel, which owns that float32 bias contract.
bool matmul_bf16_supports(const ir::Node&, std::span<const ir::DataType> t) {
  return t.size() == 2 && t[0] == ir::DataType::bfloat16 && t[1] == ir::DataType::bfloat16 && cpu_has_bf16_units();
}
bool gemm_bf16_supports(const ir::Node&, std::span<const ir::DataType> t) {
  return t.size() >= 2 && t[0] == ir::DataType::bfloat16 && t[1] == ir::DataType::bfloat16 && cpu_has_bf16_units();
}

}  // namespace

void add_matmul_dnnl_bf16_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MatMul, KernelKind::fast, matmul_bf16_fast, matmul_bf16_supports});
  table.push_back({ir::OpKind::Gemm, KernelKind::fast, gemm_bf16_fast, gemm_bf16_supports});
}

}  // namespace mhub::engine::cpu
