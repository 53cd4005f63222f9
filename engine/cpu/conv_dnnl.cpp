// Fast float32 Conv through oneDNN (1-D, 2-D and 3-D, groups, dilations, pads, fused bias and
// the optional fused Relu written by the graph passes as attribute mhub_activation="Relu").
//
// Prepacked weights: the primitive and the weights reordered into oneDNN's preferred layout are
// built once per (node, weights storage, input shape) and cached; later runs only reorder the
// activations in and out. The cache entry holds the weights' Storage, so that address cannot be
// reused by another tensor while the entry lives (the key stays unique).
#include <cstring>
#include <list>
#include <unordered_map>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::format_tag plain_tag(size_t rank) {
  return rank == 3 ? memory::format_tag::ncw : rank == 4 ? memory::format_tag::nchw : memory::format_tag::ncdhw;
}
memory::format_tag plain_weight_tag(size_t rank, bool grouped) {
  if (grouped) return rank == 3 ? memory::format_tag::goiw : rank == 4 ? memory::format_tag::goihw : memory::format_tag::goidhw;
  return rank == 3 ? memory::format_tag::oiw : rank == 4 ? memory::format_tag::oihw : memory::format_tag::oidhw;
}

struct ConvPlan {
  std::shared_ptr<const ir::Storage> weight_owner;
  std::shared_ptr<const ir::Storage> bias_owner;
  dnnl::convolution_forward conv;
  memory::desc src_plain, dst_plain, src_md, dst_md;
  memory weights, bias;
  std::vector<int64_t> out_dims;
  bool reorder_src = false, reorder_dst = false;
};

using PlanKey = std::tuple<const void*, const void*, std::vector<int64_t>>;

std::mutex cache_mutex;
std::map<PlanKey, std::shared_ptr<ConvPlan>> cache;

std::shared_ptr<ConvPlan> build_plan(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  size_t rank = x.dims.size();
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w.dims.begin() + 2, w.dims.end());
  ConvGeometry g = conv_geometry(ctx, in, kernel, false);
  int64_t group = node.attr_int("group", 1);
  int64_t n = x.dims[0], c = x.dims[1], m = w.dims[0];
  if (group < 1 || c != w.dims[1] * group || m % group) fail(ctx, "channels do not match weights and group");
  auto plan = std::make_shared<ConvPlan>();
  plan->weight_owner = w.storage;
  memory::dims src_dims(x.dims.begin(), x.dims.end());
  memory::dims dst_dims = {n, m};
  dst_dims.insert(dst_dims.end(), g.out.begin(), g.out.end());
  plan->out_dims.assign(dst_dims.begin(), dst_dims.end());
  memory::dims wdims;
  bool grouped = group > 1;
  if (grouped) {
    wdims = {group, m / group, w.dims[1]};
  } else {
    wdims = {m, w.dims[1]};
  }
  wdims.insert(wdims.end(), kernel.begin(), kernel.end());
  memory::dims strides(g.stride.begin(), g.stride.end()), dil, pl(g.pad_begin.begin(), g.pad_begin.end()),
      pr(g.pad_end.begin(), g.pad_end.end());
  for (int64_t d : g.dilation) dil.push_back(d - 1);  // oneDNN counts dilation from 0
  auto f32 = memory::data_type::f32;
  plan->src_plain = memory::desc(src_dims, f32, plain_tag(rank));
  plan->dst_plain = memory::desc(dst_dims, f32, plain_tag(rank));
  memory::desc src_any(src_dims, f32, memory::format_tag::any), dst_any(dst_dims, f32, memory::format_tag::any);
  memory::desc w_any(wdims, f32, memory::format_tag::any);
  memory::desc b_md({m}, f32, memory::format_tag::a);
  bool has_bias = ctx.has_input(2);
  dnnl::primitive_attr attr;
  const ir::Attribute* act = node.attribute("mhub_activation");
  if (act && act->s == "Relu") {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                         dnnl::algorithm::convolution_direct, src_any, w_any, b_md,
                                                         dst_any, strides, dil, pl, pr)
                       : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                         dnnl::algorithm::convolution_direct, src_any, w_any,
                                                         dst_any, strides, dil, pl, pr);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
  plan->conv = dnnl::convolution_forward(pd);
  plan->src_md = pd.src_desc();
  plan->dst_md = pd.dst_desc();
  plan->reorder_src = plan->src_md != plan->src_plain;
  plan->reorder_dst = plan->dst_md != plan->dst_plain;
  dnnl::stream stream(cpu_engine());
  memory::desc w_plain(wdims, f32, plain_weight_tag(rank, grouped));
  memory w_user(w_plain, cpu_engine(), const_cast<float*>(w.data<float>()));
  plan->weights = memory(pd.weights_desc(), cpu_engine());
  dnnl::reorder(w_user, plan->weights).execute(stream, w_user, plan->weights);
  if (has_bias) {
    const ir::Tensor& b = ctx.input(2);
    plan->bias_owner = b.storage;
    plan->bias = memory(b_md, cpu_engine());
    std::memcpy(plan->bias.get_data_handle(), b.data<float>(), m * sizeof(float));
  }
  stream.wait();
  return plan;
}

void conv_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  set_dnnl_threads(ctx.threads().size());
  std::vector<int64_t> key_dims = x.dims;
  key_dims.insert(key_dims.end(), w.dims.begin(), w.dims.end());
  PlanKey key{&ctx.node(), w.storage.get() ? static_cast<const void*>(w.data<float>()) : nullptr, key_dims};
  std::shared_ptr<ConvPlan> plan;
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) plan = it->second;
  }
  if (!plan) {
    plan = build_plan(ctx);
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() > 4096) cache.clear();  // bounded: models are re-planned after a flush
    cache[key] = plan;
  }
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, plan->out_dims);
  dnnl::stream stream(cpu_engine());
  memory src_user(plan->src_plain, cpu_engine(), const_cast<float*>(x.data<float>()));
  memory dst_user(plan->dst_plain, cpu_engine(), mutable_floats(y));
  memory src = src_user, dst = dst_user;
  if (plan->reorder_src) {
    src = memory(plan->src_md, cpu_engine());
    dnnl::reorder(src_user, src).execute(stream, src_user, src);
  }
  if (plan->reorder_dst) dst = memory(plan->dst_md, cpu_engine());
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, plan->weights}, {DNNL_ARG_DST, dst}};
  if (plan->bias_owner) args[DNNL_ARG_BIAS] = plan->bias;
  plan->conv.execute(stream, args);
  if (plan->reorder_dst) dnnl::reorder(dst, dst_user).execute(stream, dst, dst_user);
  stream.wait();
}

bool conv_fast_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.size() < 2 || types[0] != ir::DataType::float32 || types[1] != ir::DataType::float32) return false;
  if (types.size() > 2 && types[2] != ir::DataType::float32 && types[2] != ir::DataType::undefined) return false;
  (void)node;
  return true;
}

}  // namespace

void add_conv_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Conv, KernelKind::fast, conv_fast, conv_fast_supports});
}

}  // namespace mhub::engine::cpu
