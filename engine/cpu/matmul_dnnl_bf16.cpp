// Fast bfloat16 MatMul and Gemm through oneDNN's matmul: what `--precision bf16`
// (engine/autograd/autocast.h) gives them. bfloat16 A and B, float32 accumulation and a float32
// product; alpha, beta * C and the fused activation (epilogue.h) are applied to that float32
// product, which is then rounded once to the bfloat16 output, as the reference kernels
// (matmul.cpp) do after their float32 GEMM. MatMul broadcasts batch dims as the reference does
// (ops::plan_matmul): one product per output batch, or one tall product when B is a plain matrix.
//
// The same products serve float32 MatMul / Gemm nodes that carry the session's bf16 compute hint
// (engine/core/passes/compute_precision.h): bfloat16 copies of A and B (a constant operand
// rounded once per session), float32 output, bias, alpha/beta and activation in float32. A
// constant B (a weight) is converted once into the bfloat16 layout oneDNN's matmul prefers for
// the product (its blocked, packed form) and cached while B's storage lives, so a run neither
// rounds nor repacks the weights; only A is rounded each run. That packed product also adds the
// fused bias inside oneDNN, and writes a bfloat16 output directly when no activation follows.
// A hinted MatMul may read A as bfloat16 storage and write its output so where the load-time pass
// marked it (passes/compute_precision.h: store_bf16_activations), with no rounding pass.
//
// Registered for every CPU, supported only where it has bfloat16 units (bf16_support.h).
// Primitives are cached per (M, N, K, transposes): shapes only, never tensors; the reorders
// rounding float32 to bfloat16 per element count, in each thread. Each thread keeps its memory
// objects per primitive, pointed at each run's bytes, and everything runs on the thread's
// stream (dnnl_thread_stream): a steady-state run builds no oneDNN object.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
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
// With packed_b, b_md is the layout oneDNN chose for B (weights prepacked into it, see PackedB).
struct Bf16Product {
  dnnl::matmul matmul;
  memory::desc a_md, b_md, c_md, scratch_md;
  bool bias = false;  // built with a row bias [1, N] (float32)
  uint64_t id = 0;    // unique per product: the key of each thread's memory objects for it
};

// What a product finishes inside oneDNN (packed products of hinted MatMuls only): the row bias
// and a bfloat16 output.
struct ProductFinish {
  bool bias = false, bf16_out = false;
};

using ProductKey = std::tuple<int64_t, int64_t, int64_t, bool, bool, bool, bool, bool>;
std::mutex product_mutex;
std::map<ProductKey, std::shared_ptr<const Bf16Product>> products;

std::shared_ptr<const Bf16Product> product_for(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, bool packed_b = false,
                                               const ProductFinish& finish = {}) {
  ProductKey key{m, n, k, trans_a, trans_b, packed_b, finish.bias, finish.bf16_out};
  {
    std::lock_guard<std::mutex> lock(product_mutex);
    auto it = products.find(key);
    if (it != products.end()) return it->second;
  }
  auto p = std::make_shared<Bf16Product>();
  // A stored [M, K] (or [K, M] when transposed), B stored [K, N] (or [N, K]): strides say which.
  p->a_md = memory::desc({m, k}, memory::data_type::bf16, trans_a ? memory::dims{1, m} : memory::dims{k, 1});
  p->b_md = packed_b ? memory::desc({k, n}, memory::data_type::bf16, memory::format_tag::any)
                     : memory::desc({k, n}, memory::data_type::bf16, trans_b ? memory::dims{1, k} : memory::dims{n, 1});
  p->c_md = memory::desc({m, n}, finish.bf16_out ? memory::data_type::bf16 : memory::data_type::f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // shared across threads: scratch per run
  const memory::desc bias_md({1, n}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::matmul::primitive_desc pd(finish.bias ? dnnl::matmul::desc(p->a_md, p->b_md, bias_md, p->c_md)
                                              : dnnl::matmul::desc(p->a_md, p->b_md, p->c_md),
                                  attr, dnnl_cpu_engine());
  p->matmul = dnnl::matmul(pd);
  p->b_md = pd.weights_desc();
  p->scratch_md = pd.scratchpad_desc();
  p->bias = finish.bias;
  static std::atomic<uint64_t> next_id{1};
  p->id = next_id++;
  std::lock_guard<std::mutex> lock(product_mutex);
  if (products.size() > 4096) products.clear();  // bounded: shapes are re-planned after a flush
  products[key] = p;
  return p;
}

// A product's memory objects and arguments on one thread, built once (the primitive is shared:
// each run brings its own bytes and scratchpad); each run points them at its bytes.
struct ProductMemories {
  memory a, b, c, bias, scratch;
  std::unordered_map<int, memory> args;
};

// b: bfloat16 B in the product's b_md (row-major, or prepacked for a packed product); c in its
// c_md (float32, or bfloat16 for a product finishing in bfloat16); bias: the row bias of a
// product built with one.
void run_product(const Bf16Product& p, dnnl::stream& stream, const uint16_t* a, const void* b, void* c,
                 const float* bias = nullptr) {
  thread_local DnnlBuffer scratch;
  thread_local std::unordered_map<uint64_t, ProductMemories> by_product;
  auto [m, created] = thread_plan_entry(by_product, p.id);
  if (created) {
    const dnnl::engine& engine = dnnl_cpu_engine();
    m.a = memory(p.a_md, engine, nullptr);
    m.b = memory(p.b_md, engine, nullptr);
    m.c = memory(p.c_md, engine, nullptr);
    m.scratch = memory(p.scratch_md, engine, nullptr);
    m.args = {{DNNL_ARG_SRC, m.a}, {DNNL_ARG_WEIGHTS, m.b}, {DNNL_ARG_DST, m.c}, {DNNL_ARG_SCRATCHPAD, m.scratch}};
    if (p.bias) {
      m.bias = memory(memory::desc({1, p.c_md.dims()[1]}, memory::data_type::f32, memory::format_tag::ab), engine, nullptr);
      m.args[DNNL_ARG_BIAS] = m.bias;
    }
  }
  m.a.set_data_handle(const_cast<uint16_t*>(a));
  m.b.set_data_handle(const_cast<void*>(b));
  m.c.set_data_handle(c);
  m.scratch.set_data_handle(scratch.at_least(std::max<size_t>(1, p.scratch_md.get_size())));
  if (p.bias) m.bias.set_data_handle(const_cast<float*>(bias));
  p.matmul.execute(stream, m.args);
}

// A constant float32 B [K, N] (or [N, K] when transposed) converted and packed once into a
// product's preferred bfloat16 layout, cached per (B's bytes, transpose, layout) while B's storage
// lives (the entry holds it, so the address is not reused by another tensor meanwhile).
struct PackedB {
  std::shared_ptr<const ir::Storage> owner;
  memory::desc md;
  memory packed;
};
std::mutex packed_mutex;
std::map<std::tuple<const void*, size_t, bool>, std::vector<std::shared_ptr<const PackedB>>> packed_weights;

std::shared_ptr<const PackedB> packed_b(const ir::Tensor& b, const Bf16Product& p, int64_t k, int64_t n, bool trans_b) {
  const std::tuple<const void*, size_t, bool> key{b.data<float>(), b.numel(), trans_b};
  {
    std::lock_guard<std::mutex> lock(packed_mutex);
    auto it = packed_weights.find(key);
    if (it != packed_weights.end())
      for (const auto& entry : it->second)
        if (entry->owner == b.storage && entry->md == p.b_md) return entry;
  }
  auto entry = std::make_shared<PackedB>();
  entry->owner = b.storage;
  entry->md = p.b_md;
  entry->packed = memory(p.b_md, dnnl_cpu_engine());
  const memory::desc plain({k, n}, memory::data_type::f32, trans_b ? memory::dims{1, k} : memory::dims{n, 1});
  memory source(plain, dnnl_cpu_engine(), const_cast<float*>(b.data<float>()));
  dnnl::stream& stream = dnnl_thread_stream();
  dnnl::reorder(source, entry->packed).execute(stream, source, entry->packed);  // rounds to nearest even and packs
  stream.wait();
  std::lock_guard<std::mutex> lock(packed_mutex);
  // Copies whose weights only this cache still holds belong to sessions that are gone.
  for (auto it = packed_weights.begin(); it != packed_weights.end();) {
    std::erase_if(it->second, [](const auto& e) { return e->owner.use_count() == 1; });
    it = it->second.empty() ? packed_weights.erase(it) : std::next(it);
  }
  if (packed_weights.size() > 4096) packed_weights.clear();  // bounded: weights are packed again after a flush
  auto& entries = packed_weights[key];
  std::erase_if(entries, [&](const auto& e) { return e->owner != b.storage; });  // an address reused by a new tensor
  entries.push_back(entry);
  return entry;
}

// Whether input `index` is a session constant held in a Storage: then it may be prepacked.
bool constant_operand(OpContext& ctx, size_t index) { return ctx.input(index).storage && ctx.input_is_constant(index); }

// The reorder rounding `count` float32 values to bfloat16, with memory objects and arguments
// that each call points at its bytes. A hinted MatMul rounds the same counts every run, so a
// thread keeps one per count (thread_plan_entry's bound) instead of building a primitive
// (descriptor, primitive-cache lookup) and a stream per call.
struct Rounding {
  dnnl::reorder reorder;
  memory source, target;
  std::unordered_map<int, memory> args;
};

// to[i] = from[i] rounded to bfloat16 (oneDNN's vectorised conversion, round to nearest even),
// on the calling thread's stream.
void round_to_bf16(const float* from, void* to, size_t count) {
  if (count == 0) return;
  thread_local std::unordered_map<uint64_t, Rounding> by_count;
  auto [r, created] = thread_plan_entry(by_count, count);
  if (created) {
    const memory::dims flat{static_cast<int64_t>(count)};
    r.source = memory(memory::desc(flat, memory::data_type::f32, memory::format_tag::a), dnnl_cpu_engine(), nullptr);
    r.target = memory(memory::desc(flat, memory::data_type::bf16, memory::format_tag::a), dnnl_cpu_engine(), nullptr);
    r.reorder = dnnl::reorder(r.source, r.target);
    r.args = {{DNNL_ARG_FROM, r.source}, {DNNL_ARG_TO, r.target}};
  }
  r.source.set_data_handle(const_cast<float*>(from));
  r.target.set_data_handle(to);
  dnnl::stream& stream = dnnl_thread_stream();
  r.reorder.execute(stream, r.args);
  stream.wait();
}

// The float32 values rounded to a bfloat16 output tensor.
void store_bf16(OpContext& ctx, std::vector<int64_t> dims, std::vector<float>& values) {
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::bfloat16, std::move(dims));
  round_to_bf16(values.data(), mutable_bytes(y), values.size());
}

// A float32 input's bfloat16 copy for the bf16 compute hint. A constant of the session (a weight)
// is rounded once and cached while its storage lives; anything else (activations, gradients, the
// weights a trainer updates in place) is rounded on every call into a buffer the thread keeps per
// input index, so steady-state runs allocate nothing for it.
struct RoundedInput {
  const uint16_t* values = nullptr;
  std::shared_ptr<const std::vector<uint16_t>> hold;  // keeps a cached copy alive during the call
};

struct CachedRounding {
  std::shared_ptr<const ir::Storage> owner;
  std::shared_ptr<const std::vector<uint16_t>> values;
};
std::mutex rounding_mutex;
std::map<std::pair<const void*, size_t>, CachedRounding> roundings;

void rounded_input(OpContext& ctx, size_t index, RoundedInput& r) {
  const ir::Tensor& t = ctx.input(index);
  const size_t count = t.numel();
  if (!t.storage || !ctx.input_is_constant(index)) {
    thread_local DnnlBuffer per_input[2];  // A and B
    void* copy = per_input[index].at_least(count * sizeof(uint16_t));
    round_to_bf16(t.data<float>(), copy, count);
    r.values = static_cast<const uint16_t*>(copy);
    return;
  }
  const std::pair<const void*, size_t> key{t.data<float>(), count};
  {
    std::lock_guard<std::mutex> lock(rounding_mutex);
    auto it = roundings.find(key);
    if (it != roundings.end() && it->second.owner == t.storage) {
      r.hold = it->second.values;
      r.values = r.hold->data();
      return;
    }
  }
  auto values = std::make_shared<std::vector<uint16_t>>(count);
  round_to_bf16(t.data<float>(), values->data(), count);
  std::lock_guard<std::mutex> lock(rounding_mutex);
  // Copies whose weights only this cache still holds belong to sessions that are gone.
  for (auto it = roundings.begin(); it != roundings.end();)
    it = it->second.owner.use_count() == 1 ? roundings.erase(it) : std::next(it);
  if (roundings.size() > 4096) roundings.clear();  // bounded: weights are rounded again after a flush
  roundings[key] = {t.storage, values};
  r.hold = values;
  r.values = values->data();
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
  dnnl::stream& stream = dnnl_thread_stream();
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

// Gemm's transposes, scalars and sizes from its attributes and 2-D A and B (failing naming the
// node otherwise).
struct GemmShape {
  bool ta = false, tb = false;
  float alpha = 1, beta = 1;
  int64_t m = 0, n = 0, k = 0;
};

GemmShape gemm_shape(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  if (a.dims.size() != 2 || b.dims.size() != 2) fail(ctx, "Gemm needs 2-D A and B");
  GemmShape g;
  g.ta = node.attr_int("transA", 0) != 0;
  g.tb = node.attr_int("transB", 0) != 0;
  g.alpha = node.attr_float("alpha", 1.0f);
  g.beta = node.attr_float("beta", 1.0f);
  g.m = g.ta ? a.dims[1] : a.dims[0];
  g.k = g.ta ? a.dims[0] : a.dims[1];
  const int64_t kb = g.tb ? b.dims[1] : b.dims[0];
  g.n = g.tb ? b.dims[0] : b.dims[1];
  if (g.k != kb) fail(ctx, "Gemm inner dimensions differ");
  return g;
}

// out[M, N] holds op(A) op(B); makes it alpha * that + beta * C (input 2, broadcast) and applies
// the fused activation, all in float32.
void finish_gemm(OpContext& ctx, const GemmShape& g, float* out) {
  const int64_t m = g.m, n = g.n;
  if (g.alpha != 1.0f)
    for (int64_t i = 0; i < m * n; ++i) out[i] *= g.alpha;
  if (ctx.has_input(2) && g.beta != 0.0f) {
    std::vector<float> cv = input_floats(ctx, 2);
    std::vector<int64_t> cd = ctx.input(2).dims;
    while (cd.size() < 2) cd.insert(cd.begin(), 1);
    if (cd.size() > 2 || (cd[0] != 1 && cd[0] != m) || (cd[1] != 1 && cd[1] != n)) fail(ctx, "C does not broadcast to [M, N]");
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) out[i * n + j] += g.beta * cv[(cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j)];
  }
  apply_epilogue(epilogue_of(ctx.node(), nullptr), out, m, n, true, ctx.threads());
}

void gemm_bf16_fast(OpContext& ctx) {
  const GemmShape g = gemm_shape(ctx);
  std::vector<float> out(static_cast<size_t>(g.m * g.n), 0.0f);
  set_dnnl_threads(ctx.threads().size());
  if (g.m * g.n > 0 && g.k > 0) {
    dnnl::stream& stream = dnnl_thread_stream();
    run_product(*product_for(g.m, g.n, g.k, g.ta, g.tb), stream, ctx.input(0).data<uint16_t>(), ctx.input(1).data<uint16_t>(),
                out.data());
    stream.wait();
  }
  finish_gemm(ctx, g, out.data());
  store_bf16(ctx, {g.m, g.n}, out);
}

// float32 MatMul under the bf16 compute hint: bfloat16 copies of A and B (ops::plan_matmul's
// batching, as matmul_bf16_fast), float32 products, then the fused bias / activation. A may be
// bfloat16 storage (used as it is) and the output is bfloat16 where the node is marked so
// (conv_output_type's rule). A constant 2-D B takes the packed product, which finishes the bias,
// activation and output type inside oneDNN; otherwise the product is finished here.
void matmul_f32_hinted(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  ops::MatMulPlan plan = ops::plan_matmul(ctx.node(), a.dims, b.dims);
  const Epilogue epilogue = matmul_epilogue(ctx, plan.n);
  set_dnnl_threads(ctx.threads().size());
  const size_t batches = plan.a_batch_offsets.size();
  const int64_t rows = static_cast<int64_t>(batches) * plan.m;
  const ir::DataType out_type = conv_output_type(ctx.node(), a.dtype, b.dtype);
  const bool bf16_out = out_type == ir::DataType::bfloat16;
  ir::Tensor& y = ctx.allocate_output(0, out_type, plan.out_dims);
  const size_t count = static_cast<size_t>(rows * plan.n);
  if (count == 0) return;
  RoundedInput av, bv;
  if (plan.k > 0) {
    if (a.dtype == ir::DataType::bfloat16) av.values = a.data<uint16_t>();
    else rounded_input(ctx, 0, av);
  }
  dnnl::stream& stream = dnnl_thread_stream();
  thread_local DnnlBuffer staging;  // float32 products of a bfloat16 output before its activation
  if (plan.k > 0 && b.dims.size() <= 2 && constant_operand(ctx, 1)) {  // a weight matrix: prepacked once
    // The bias inside oneDNN; the activation stays the epilogue's (the float32 path's formulas:
    // oneDNN's GELU post-op tripled BERT's bf16 error against fp32).
    ProductFinish finish;
    finish.bias = epilogue.bias != nullptr;
    finish.bf16_out = bf16_out && epilogue.act == ops::Activation::none;
    auto product = product_for(rows, plan.n, plan.k, false, false, true, finish);
    auto packed = packed_b(b, *product, plan.k, plan.n, false);
    const bool staged = bf16_out && !finish.bf16_out;
    void* c = staged ? staging.at_least(count * sizeof(float)) : mutable_bytes(y);
    run_product(*product, stream, av.values, packed->packed.get_data_handle(), c, epilogue.bias);
    stream.wait();
    if (finish.bf16_out) return;
    Epilogue act = epilogue;
    act.bias = nullptr;
    apply_epilogue(act, static_cast<float*>(c), rows, plan.n, true, ctx.threads());
    if (staged) round_to_bf16(static_cast<float*>(c), mutable_bytes(y), count);
    return;
  }
  // Finished here: float32 products (into the output, or a thread buffer before rounding).
  float* out = bf16_out ? static_cast<float*>(staging.at_least(count * sizeof(float))) : mutable_floats(y);
  if (plan.k == 0) {
    std::fill(out, out + count, 0.0f);
  } else {
    rounded_input(ctx, 1, bv);
    if (b.dims.size() <= 2 && batches > 1) {
      run_product(*product_for(rows, plan.n, plan.k, false, false), stream, av.values, bv.values, out);
    } else {
      auto product = product_for(plan.m, plan.n, plan.k, false, false);
      for (size_t t = 0; t < batches; ++t)
        run_product(*product, stream, av.values + plan.a_batch_offsets[t], bv.values + plan.b_batch_offsets[t],
                    out + t * plan.m * plan.n);
    }
    stream.wait();
  }
  apply_epilogue(epilogue, out, rows, plan.n, true, ctx.threads());
  if (bf16_out) round_to_bf16(out, mutable_bytes(y), count);
}

// float32 Gemm under the bf16 compute hint: alpha * op(A) op(B) from bfloat16 copies, then
// beta * C and the fused activation in float32.
void gemm_f32_hinted(OpContext& ctx) {
  const GemmShape g = gemm_shape(ctx);
  set_dnnl_threads(ctx.threads().size());
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, {g.m, g.n});
  float* out = mutable_floats(y);
  std::fill(out, out + g.m * g.n, 0.0f);
  if (g.m * g.n > 0 && g.k > 0) {
    RoundedInput av, bv;
    rounded_input(ctx, 0, av);
    dnnl::stream& stream = dnnl_thread_stream();
    if (constant_operand(ctx, 1)) {  // a weight matrix: prepacked once
      auto product = product_for(g.m, g.n, g.k, g.ta, g.tb, true);
      run_product(*product, stream, av.values, packed_b(ctx.input(1), *product, g.k, g.n, g.tb)->packed.get_data_handle(), out);
    } else {
      rounded_input(ctx, 1, bv);
      run_product(*product_for(g.m, g.n, g.k, g.ta, g.tb), stream, av.values, bv.values, out);
    }
    stream.wait();
  }
  finish_gemm(ctx, g, out);
}

// bfloat16 A and B on a CPU with bf16 units. A MatMul fused with a bias (input 2) stays on the
// reference kernel, which owns that float32 bias contract.
bool matmul_bf16_supports(const ir::Node&, std::span<const ir::DataType> t) {
  return t.size() == 2 && t[0] == ir::DataType::bfloat16 && t[1] == ir::DataType::bfloat16 && cpu_has_bf16_units();
}
bool gemm_bf16_supports(const ir::Node&, std::span<const ir::DataType> t) {
  return t.size() >= 2 && t[0] == ir::DataType::bfloat16 && t[1] == ir::DataType::bfloat16 && cpu_has_bf16_units();
}

// float32 A and B of a node carrying the session's bf16 compute hint, on a CPU with bf16 units;
// a MatMul's A may be bfloat16 storage (passes/compute_precision.h).
bool f32_hinted(const ir::Node& node, std::span<const ir::DataType> t) {
  const bool a_ok = t.size() >= 2 && (t[0] == ir::DataType::float32 || (node.op == ir::OpKind::MatMul && t[0] == ir::DataType::bfloat16));
  return a_ok && t[1] == ir::DataType::float32 && bf16_compute_hinted(node);
}

}  // namespace

void add_matmul_dnnl_bf16_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MatMul, KernelKind::fast, matmul_f32_hinted, f32_hinted});
  table.push_back({ir::OpKind::Gemm, KernelKind::fast, gemm_f32_hinted, f32_hinted});
  table.push_back({ir::OpKind::MatMul, KernelKind::fast, matmul_bf16_fast, matmul_bf16_supports});
  table.push_back({ir::OpKind::Gemm, KernelKind::fast, gemm_bf16_fast, gemm_bf16_supports});
}

}  // namespace mhub::engine::cpu
