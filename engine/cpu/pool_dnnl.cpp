// Fast float32 MaxPool / AveragePool through oneDNN (2-D and 3-D, plain layouts; 2-D also on
// channels-last values, passes/channels_last.h). Registered after pool_fast.cpp's 2-D MaxPool,
// which is faster in both layouts: here run 3-D MaxPool and AveragePool.
#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <memory>
#include <mutex>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/ops/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

// Fast float32 MaxPool / AveragePool (no indices output, no storage_order). Plans are cached by
// a hash of (attributes, X dims), checked field by field on a hit; each thread keeps its memory
// objects per plan and a scratchpad buffer, so steady-state runs allocate nothing.
struct PoolPlan {
  dnnl::pooling_v2_forward pool;
  memory::desc src, dst, scratch;
  std::vector<int64_t> out_dims;
  uint64_t id = 0;
  ir::OpKind key_op = ir::OpKind::opaque;
  std::vector<int64_t> key_x;
  std::vector<ir::Attribute> key_attributes;
};
std::mutex pool_cache_mutex;
std::unordered_map<uint64_t, std::shared_ptr<PoolPlan>> pool_cache;

struct PoolMemories {
  memory src, dst, scratch;
  std::unordered_map<int, memory> args;
};

void pool_dnnl(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  set_dnnl_threads(ctx.threads().size());
  DnnlKeyHash hs;
  hs.node(node);
  hs.dims(x.dims);
  std::shared_ptr<PoolPlan> plan;
  {
    std::lock_guard<std::mutex> lock(pool_cache_mutex);
    auto it = pool_cache.find(hs.h);
    if (it != pool_cache.end() && it->second->key_op == node.op && it->second->key_x == x.dims &&
        dnnl_same_attributes(it->second->key_attributes, node.attributes))
      plan = it->second;
  }
  if (!plan) {
    size_t rank = x.dims.size();
    std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
    bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, node.attr_ints("kernel_shape"), ceil_mode);
    plan = std::make_shared<PoolPlan>();
    memory::dims src_dims(x.dims.begin(), x.dims.end()), dst_dims = {x.dims[0], x.dims[1]};
    dst_dims.insert(dst_dims.end(), g.out.begin(), g.out.end());
    plan->out_dims.assign(dst_dims.begin(), dst_dims.end());
    // oneDNN's right padding must reach the last window even when ceil_mode adds one.
    memory::dims pr;
    for (size_t d = 0; d < g.rank(); ++d) {
      int64_t ek = (g.kernel[d] - 1) * g.dilation[d] + 1;
      pr.push_back(std::max<int64_t>(g.pad_end[d], (g.out[d] - 1) * g.stride[d] + ek - g.in[d] - g.pad_begin[d]));
    }
    memory::dims dil;
    for (int64_t d : g.dilation) dil.push_back(d - 1);
    // mhub_layout_in/out = "nhwc" (always both on a pooling node): channels-last bytes, NCHW dims.
    const bool nhwc = rank == 4 && node.attr_string("mhub_layout_in", "") == "nhwc";
    const memory::format_tag tag = nhwc ? memory::format_tag::nhwc : dnnl_plain_tag(rank);
    plan->src = memory::desc(src_dims, memory::data_type::f32, tag);
    plan->dst = memory::desc(dst_dims, memory::data_type::f32, tag);
    dnnl::algorithm alg = node.op == ir::OpKind::MaxPool ? dnnl::algorithm::pooling_max
                          : node.attr_int("count_include_pad", 0) ? dnnl::algorithm::pooling_avg_include_padding
                                                                  : dnnl::algorithm::pooling_avg_exclude_padding;
    dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, plan->src, plan->dst,
                                        memory::dims(g.stride.begin(), g.stride.end()),
                                        memory::dims(g.kernel.begin(), g.kernel.end()), dil,
                                        memory::dims(g.pad_begin.begin(), g.pad_begin.end()), pr);
    dnnl::primitive_attr attr;  // plans are shared across threads: each run brings its own scratchpad
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_v2_forward::primitive_desc pd(desc, attr, dnnl_cpu_engine());
    plan->pool = dnnl::pooling_v2_forward(pd);
    plan->scratch = pd.scratchpad_desc();
    static std::atomic<uint64_t> next_id{1};
    plan->id = next_id++;
    plan->key_op = node.op;
    plan->key_x = x.dims;
    plan->key_attributes = node.attributes;
    std::lock_guard<std::mutex> lock(pool_cache_mutex);
    if (pool_cache.size() > 4096) pool_cache.clear();
    pool_cache[hs.h] = plan;  // a (never seen) hash collision just replaces the other plan
  }
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, plan->out_dims);
  struct ThreadState {
    DnnlBuffer scratch;
    std::unordered_map<uint64_t, PoolMemories> memories;  // by plan id
  };
  thread_local ThreadState state;
  auto entry = thread_plan_entry(state.memories, plan->id);
  PoolMemories& m = entry.first;
  if (entry.second) {
    m.src = memory(plan->src, dnnl_cpu_engine(), nullptr);
    m.dst = memory(plan->dst, dnnl_cpu_engine(), nullptr);
    m.scratch = memory(plan->scratch, dnnl_cpu_engine(), nullptr);
    m.args = {{DNNL_ARG_SRC, m.src}, {DNNL_ARG_DST, m.dst}, {DNNL_ARG_SCRATCHPAD, m.scratch}};
  }
  m.src.set_data_handle(const_cast<float*>(x.data<float>()));
  m.dst.set_data_handle(mutable_floats(y));
  m.scratch.set_data_handle(state.scratch.at_least(plan->scratch.get_size()));
  dnnl::stream& stream = dnnl_thread_stream();
  plan->pool.execute(stream, m.args);
  stream.wait();
}

// Plain 2-D/3-D float pooling without the indices output: what oneDNN computes the same way.
// (Average pooling with ceil_mode differs at the clipped last window, so it stays reference.)
bool pool_dnnl_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.empty() || types[0] != ir::DataType::float32) return false;
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) return false;
  if (node.attr_int("storage_order", 0) != 0) return false;
  if (node.op == ir::OpKind::AveragePool && node.attr_int("ceil_mode", 0) != 0) return false;
  size_t k = node.attr_ints("kernel_shape").size();
  return k == 2 || k == 3;
}

}  // namespace

void add_pool_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MaxPool, KernelKind::fast, pool_dnnl, pool_dnnl_supports, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::AveragePool, KernelKind::fast, pool_dnnl, pool_dnnl_supports, 0, /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
