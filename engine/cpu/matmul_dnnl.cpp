#include "engine/cpu/matmul_dnnl.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

// Below this many multiply-adds the primitive's fixed cost per call (argument map, scratchpad)
// outweighs what prepacking saves, and sgemm is as fast or faster.
constexpr int64_t kMinPrepackedWork = 8192;

struct ProductPlan {
  std::shared_ptr<const ir::Storage> weight_owner;
  dnnl::matmul matmul;
  memory::desc src_md, dst_md, bias_md, scratch_md;
  memory weights;  // B in the primitive's layout, reordered once
  uint64_t id = 0;
  // What the plan was built for (checked on a cache hit).
  const void* key_weights = nullptr;
  int64_t rows = 0, n = 0, k = 0;
  bool trans_b = false, has_bias = false;
  ir::OpKind op = ir::OpKind::opaque;
  std::vector<ir::Attribute> attributes;
};

std::mutex cache_mutex;
std::unordered_map<uint64_t, std::shared_ptr<ProductPlan>> cache;

std::shared_ptr<ProductPlan> build_plan(OpContext& ctx, const ir::Tensor& b, int64_t rows, int64_t n, int64_t k, bool trans_b,
                                        bool has_bias) {
  const auto f32 = memory::data_type::f32;
  auto plan = std::make_shared<ProductPlan>();
  plan->src_md = memory::desc({rows, k}, f32, memory::format_tag::ab);
  plan->dst_md = memory::desc({rows, n}, f32, memory::format_tag::ab);
  plan->bias_md = memory::desc({1, n}, f32, memory::format_tag::ab);
  // B's own bytes: [k, n] row-major, or [n, k] row-major read as its transpose.
  const memory::desc w_plain({k, n}, f32, trans_b ? memory::format_tag::ba : memory::format_tag::ab);
  const memory::desc w_any({k, n}, f32, memory::format_tag::any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // plans are shared across threads
  const ops::FusedActivation fused = ops::fused_activation_of(ctx.node());
  if (fused.act != ops::Activation::none) {
    dnnl::post_ops post;
    dnnl_append_activation(post, fused);
    attr.set_post_ops(post);
  }
  const dnnl::engine& engine = dnnl_cpu_engine();
  auto desc = has_bias ? dnnl::matmul::desc(plan->src_md, w_any, plan->bias_md, plan->dst_md)
                       : dnnl::matmul::desc(plan->src_md, w_any, plan->dst_md);
  dnnl::matmul::primitive_desc pd(desc, attr, engine);
  plan->matmul = dnnl::matmul(pd);
  plan->scratch_md = pd.scratchpad_desc();
  plan->weights = memory(pd.weights_desc(), engine);
  memory w_user(w_plain, engine, const_cast<float*>(b.data<float>()));
  dnnl::stream& stream = dnnl_thread_stream();
  dnnl::reorder(w_user, plan->weights).execute(stream, w_user, plan->weights);
  stream.wait();
  plan->weight_owner = b.storage;
  return plan;
}

uint64_t plan_hash(const ir::Node& node, const void* weights, int64_t rows, int64_t n, int64_t k, bool trans_b, bool has_bias) {
  DnnlKeyHash hs;
  hs.node(node);
  hs.value(weights);
  hs.value(rows);
  hs.value(n);
  hs.value(k);
  hs.value(trans_b);
  hs.value(has_bias);
  return hs.h;
}

bool plan_matches(const ProductPlan& p, const ir::Node& node, const void* weights, int64_t rows, int64_t n, int64_t k,
                  bool trans_b, bool has_bias) {
  return p.key_weights == weights && p.rows == rows && p.n == n && p.k == k && p.trans_b == trans_b &&
         p.has_bias == has_bias && p.op == node.op && dnnl_same_attributes(p.attributes, node.attributes);
}

std::shared_ptr<ProductPlan> plan_for(OpContext& ctx, const ir::Tensor& b, int64_t rows, int64_t n, int64_t k, bool trans_b,
                                      bool has_bias) {
  const void* weights = b.data<float>();
  const uint64_t hash = plan_hash(ctx.node(), weights, rows, n, k, trans_b, has_bias);
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(hash);
    if (it != cache.end() && plan_matches(*it->second, ctx.node(), weights, rows, n, k, trans_b, has_bias)) return it->second;
  }
  std::shared_ptr<ProductPlan> plan = build_plan(ctx, b, rows, n, k, trans_b, has_bias);
  plan->key_weights = weights;
  plan->rows = rows;
  plan->n = n;
  plan->k = k;
  plan->trans_b = trans_b;
  plan->has_bias = has_bias;
  plan->op = ctx.node().op;
  plan->attributes = ctx.node().attributes;
  static std::atomic<uint64_t> next_id{1};
  plan->id = next_id++;
  std::lock_guard<std::mutex> lock(cache_mutex);
  // Plans whose weights only the cache still holds belong to models that are gone.
  for (auto it = cache.begin(); it != cache.end();)
    it = it->second->weight_owner.use_count() == 1 ? cache.erase(it) : std::next(it);
  if (cache.size() > 4096) cache.clear();  // bounded: products are re-planned after a flush
  cache[hash] = plan;
  return plan;
}

// A plan's memory objects and argument map on one thread, built once; each run points them at
// this run's bytes.
struct PlanMemories {
  memory src, dst, weights, bias, scratch;
  std::unordered_map<int, memory> args;
};

struct ThreadState {
  DnnlBuffer scratch;
  std::unordered_map<uint64_t, PlanMemories> memories;  // by plan id
};

PlanMemories& memories_for(ThreadState& state, const ProductPlan& plan) {
  auto entry = thread_plan_entry(state.memories, plan.id);
  PlanMemories& m = entry.first;
  if (!entry.second) return m;
  const dnnl::engine& engine = dnnl_cpu_engine();
  m.src = memory(plan.src_md, engine, nullptr);
  m.dst = memory(plan.dst_md, engine, nullptr);
  m.weights = memory(plan.weights.get_desc(), engine, nullptr);
  m.scratch = memory(plan.scratch_md, engine, nullptr);
  m.args = {{DNNL_ARG_SRC, m.src}, {DNNL_ARG_WEIGHTS, m.weights}, {DNNL_ARG_DST, m.dst}, {DNNL_ARG_SCRATCHPAD, m.scratch}};
  if (plan.has_bias) {
    m.bias = memory(plan.bias_md, engine, nullptr);
    m.args[DNNL_ARG_BIAS] = m.bias;
  }
  return m;
}

}  // namespace

bool prepacked_matmul_applies(OpContext& ctx, size_t b_index, int64_t rows, int64_t n, int64_t k) {
  const ir::Tensor& b = ctx.input(b_index);
  return b.storage && b.dtype == ir::DataType::float32 && ctx.input_is_constant(b_index) && rows > 0 && n >= 2 && k >= 8 &&
         rows * n * k >= kMinPrepackedWork;
}

void prepacked_matmul(OpContext& ctx, size_t b_index, const float* a, int64_t rows, int64_t n, int64_t k, bool trans_b,
                      const float* bias, float* out) {
  set_dnnl_threads(ctx.threads().size());
  std::shared_ptr<ProductPlan> plan = plan_for(ctx, ctx.input(b_index), rows, n, k, trans_b, bias != nullptr);
  thread_local ThreadState state;
  PlanMemories& m = memories_for(state, *plan);
  m.src.set_data_handle(const_cast<float*>(a));
  m.dst.set_data_handle(out);
  m.weights.set_data_handle(plan->weights.get_data_handle());
  if (bias) m.bias.set_data_handle(const_cast<float*>(bias));
  m.scratch.set_data_handle(state.scratch.at_least(std::max<size_t>(1, plan->scratch_md.get_size())));
  dnnl::stream& stream = dnnl_thread_stream();
  plan->matmul.execute(stream, m.args);
  stream.wait();
}

}  // namespace mhub::engine::cpu
