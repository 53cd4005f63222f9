// Fast bfloat16 Conv through oneDNN (1-D, 2-D and 3-D, groups, strides, pads, dilations, a
// bfloat16 or float32 bias, the fused activation as a post-op): what `--precision bf16`
// (engine/autograd/autocast.h) gives Conv. Source and weights in bfloat16, float32 accumulation
// inside oneDNN, a bfloat16 output (the node's type, as the reference kernel writes it: the
// float32 sum rounded once to nearest even).
//
// Registered for every CPU, supported only where it has bfloat16 units (bf16_support.h):
// elsewhere oneDNN would emulate bfloat16 and the reference kernel is the honest choice.
// Plans are cached per (attributes, X and W dims, bias type): the weights are usually a Cast's
// output that changes every training step, so they are never baked in.
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/bf16_support.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/conv_geometry.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

struct Bf16ConvPlan {
  dnnl::convolution_forward conv;
  memory::desc src_plain, dst_plain, w_plain, src_md, dst_md, w_md, b_md, scratch_md;
  std::vector<int64_t> out_dims;
  bool has_bias = false;
};

// (attributes + bias type, X dims then W dims).
using Bf16PlanKey = std::tuple<std::string, std::vector<int64_t>>;

std::mutex bf16_cache_mutex;
std::map<Bf16PlanKey, std::shared_ptr<const Bf16ConvPlan>> bf16_cache;

memory::data_type dnnl_type(ir::DataType t) {
  return t == ir::DataType::bfloat16 ? memory::data_type::bf16 : memory::data_type::f32;
}

std::shared_ptr<const Bf16ConvPlan> build_bf16_plan(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  const size_t rank = x.dims.size();
  if (rank < 3 || rank > 5 || w.dims.size() != rank) fail(ctx, "X and W must have the same rank, 3 to 5");
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w.dims.begin() + 2, w.dims.end());
  const int64_t group = node.attr_int("group", 1);
  const int64_t c = x.dims[1], m = w.dims[0];
  ops::ConvGeometry g = ops::conv_geometry(node, in, kernel, false);
  if (group < 1 || c != w.dims[1] * group || m % group) fail(ctx, "channels do not match weights and group");
  DnnlConvDims d = dnnl_conv_dims(x.dims, w.dims, group, g);
  auto plan = std::make_shared<Bf16ConvPlan>();
  plan->out_dims.assign(d.dst.begin(), d.dst.end());
  const auto bf16 = memory::data_type::bf16;
  const auto any = memory::format_tag::any;
  plan->src_plain = memory::desc(d.src, bf16, dnnl_plain_tag(rank));
  plan->dst_plain = memory::desc(d.dst, bf16, dnnl_plain_tag(rank));
  plan->w_plain = memory::desc(d.weights, bf16, dnnl_plain_weight_tag(rank, d.grouped));
  plan->has_bias = ctx.has_input(2);
  if (plan->has_bias) {
    if (static_cast<int64_t>(ctx.input(2).numel()) != m) fail(ctx, "B must have one value per output channel");
    plan->b_md = memory::desc(d.bias, dnnl_type(ctx.input(2).dtype), memory::format_tag::a);
  }
  // Plans are shared by sessions on other threads: each run brings its own scratchpad.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const ops::FusedActivation fused = ops::fused_activation_of(node);
  if (fused.act != ops::Activation::none) {
    dnnl::post_ops post;
    dnnl_append_activation(post, fused);
    attr.set_post_ops(post);
  }
  memory::desc src_any(d.src, bf16, any), w_any(d.weights, bf16, any), dst_any(d.dst, bf16, any);
  const auto kind = dnnl::prop_kind::forward_inference;
  const auto algo = dnnl::algorithm::convolution_direct;
  auto desc = plan->has_bias ? dnnl::convolution_forward::desc(kind, algo, src_any, w_any, plan->b_md, dst_any, d.strides,
                                                                d.dilates, d.pad_l, d.pad_r)
                             : dnnl::convolution_forward::desc(kind, algo, src_any, w_any, dst_any, d.strides, d.dilates,
                                                                d.pad_l, d.pad_r);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, dnnl_cpu_engine());
  plan->conv = dnnl::convolution_forward(pd);
  plan->src_md = pd.src_desc();
  plan->dst_md = pd.dst_desc();
  plan->w_md = pd.weights_desc();
  plan->scratch_md = pd.scratchpad_desc();
  return plan;
}

void conv_bf16_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  const bool has_bias = ctx.has_input(2);
  set_dnnl_threads(ctx.threads().size());
  std::vector<int64_t> key_dims = x.dims;
  key_dims.insert(key_dims.end(), w.dims.begin(), w.dims.end());
  std::string sig = dnnl_attribute_signature(ctx.node());
  if (has_bias) sig += ctx.input(2).dtype == ir::DataType::bfloat16 ? ";bias bf16" : ";bias f32";
  Bf16PlanKey key{sig, key_dims};
  std::shared_ptr<const Bf16ConvPlan> plan;
  {
    std::lock_guard<std::mutex> lock(bf16_cache_mutex);
    auto it = bf16_cache.find(key);
    if (it != bf16_cache.end()) plan = it->second;
  }
  if (!plan) {
    plan = build_bf16_plan(ctx);
    std::lock_guard<std::mutex> lock(bf16_cache_mutex);
    if (bf16_cache.size() > 4096) bf16_cache.clear();  // bounded: shapes are re-planned after a flush
    bf16_cache[key] = plan;
  }
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::bfloat16, plan->out_dims);
  dnnl::stream stream(dnnl_cpu_engine());
  memory src = dnnl_in_layout(stream, plan->src_plain, plan->src_md, x.bytes());
  memory weights = dnnl_in_layout(stream, plan->w_plain, plan->w_md, w.bytes());
  memory dst_user(plan->dst_plain, dnnl_cpu_engine(), mutable_bytes(y));
  memory dst = plan->dst_md == plan->dst_plain ? dst_user : memory(plan->dst_md, dnnl_cpu_engine());
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst},
                                          {DNNL_ARG_SCRATCHPAD, memory(plan->scratch_md, dnnl_cpu_engine())}};
  if (has_bias) args[DNNL_ARG_BIAS] = memory(plan->b_md, dnnl_cpu_engine(), const_cast<uint8_t*>(ctx.input(2).bytes()));
  plan->conv.execute(stream, args);
  if (dst != dst_user) dnnl::reorder(dst, dst_user).execute(stream, dst, dst_user);
  stream.wait();
}

// bfloat16 X and W (a bfloat16 or float32 bias) in plain NCHW layouts, on a CPU with bf16 units.
bool conv_bf16_fast_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  using ir::DataType;
  // Inputs X, W and B only: a fused residual (input 3, conv_dnnl's sum post-op) is float32 business.
  if (types.size() < 2 || types.size() > 3 || types[0] != DataType::bfloat16 || types[1] != DataType::bfloat16) return false;
  if (types.size() > 2 && types[2] != DataType::bfloat16 && types[2] != DataType::float32 && types[2] != DataType::undefined)
    return false;
  // The channels-last hand-over of the fusion passes is float32 only.
  if (!node.attr_string("mhub_layout_in", "").empty() || !node.attr_string("mhub_layout_out", "").empty()) return false;
  return cpu_has_bf16_units();
}

}  // namespace

void add_conv_dnnl_bf16_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Conv, KernelKind::fast, conv_bf16_fast, conv_bf16_fast_supports});
}

}  // namespace mhub::engine::cpu
