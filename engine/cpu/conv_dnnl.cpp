// Fast float32 Conv through oneDNN (1-D, 2-D and 3-D, groups, dilations, pads, fused bias and
// the fused activation of the graph passes (engine/ops/fused_activation.h) as a oneDNN post-op),
// and ConvTranspose as a oneDNN deconvolution (same plans; output_shape, SAME auto_pad and a
// nonzero output_padding stay on the reference kernel).
//
// Prepacked weights: when the weights (and bias) are session constants
// (OpContext::input_is_constant), the primitive and the weights reordered into oneDNN's
// preferred layout are built once per (weights storage, attributes, shapes) and cached; later
// runs only reorder the activations in and out. The cache entry holds the weights' Storage, so
// that address cannot be reused by another tensor while the entry lives (the key stays unique).
// Weights that may change between runs (computed values, parameters a trainer updates in place)
// share one primitive per (attributes, shapes) and are reordered on every run.
#include <cstring>
#include <iterator>
#include <list>
#include <unordered_map>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/ops/conv_geometry.h"
#include "engine/ops/fused_activation.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() { return dnnl_cpu_engine(); }
memory::format_tag plain_tag(size_t rank) { return dnnl_plain_tag(rank); }

struct ConvPlan {
  std::shared_ptr<const ir::Storage> weight_owner;  // set when the weights are baked in
  std::shared_ptr<const ir::Storage> bias_owner;
  dnnl::primitive conv;  // convolution_forward or deconvolution_forward
  memory::desc src_plain, dst_plain, src_md, dst_md, w_plain, w_md, b_md, scratch_md;
  memory weights, bias;  // baked plans only
  std::vector<int64_t> out_dims;
  bool reorder_src = false, reorder_dst = false, has_bias = false, baked = false;
};

// (weights address or nullptr when not baked, attributes [+ baked bias address], X and W dims).
using PlanKey = std::tuple<const void*, std::string, std::vector<int64_t>>;

std::string attribute_signature(const ir::Node& node) { return dnnl_attribute_signature(node); }

std::mutex cache_mutex;
std::map<PlanKey, std::shared_ptr<ConvPlan>> cache;

// with_sum: Y = conv + Y's previous bytes (the fused residual, copied in first), then the activation.
std::shared_ptr<ConvPlan> build_plan(OpContext& ctx, bool bake, bool with_sum) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  size_t rank = x.dims.size();
  if (rank < 3 || rank > 5 || w.dims.size() != rank) fail(ctx, "X and W must have the same rank, 3 to 5");
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w.dims.begin() + 2, w.dims.end());
  int64_t group = node.attr_int("group", 1);
  const bool transposed = node.op == ir::OpKind::ConvTranspose;
  int64_t c = x.dims[1], m = transposed ? w.dims[1] * group : w.dims[0];
  DnnlConvDims d;
  if (transposed) {
    if (group < 1 || c != w.dims[0] || c % group) fail(ctx, "W's first dimension must equal X's channels");
    ops::ConvTransposeGeometry g = ops::conv_transpose_geometry(node, in, kernel);
    d = dnnl_deconv_dims(x.dims, w.dims, group, g);
    for (int64_t pad : d.pad_r)
      if (pad < 0) fail(ctx, "internal: output_padding beyond the end pads reached the oneDNN kernel");
  } else {
    ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, kernel, false);
    if (group < 1 || c != w.dims[1] * group || m % group) fail(ctx, "channels do not match weights and group");
    d = dnnl_conv_dims(x.dims, w.dims, group, g);
  }
  auto plan = std::make_shared<ConvPlan>();
  plan->out_dims.assign(d.dst.begin(), d.dst.end());
  auto f32 = memory::data_type::f32;
  // mhub_layout_in/out = "nhwc" (set by the fusion pass between chained convs): the tensor's
  // bytes are channels-last although its dims stay NCHW.
  bool nhwc_in = rank == 4 && node.attr_string("mhub_layout_in", "") == "nhwc";
  bool nhwc_out = rank == 4 && node.attr_string("mhub_layout_out", "") == "nhwc";
  plan->src_plain = memory::desc(d.src, f32, nhwc_in ? memory::format_tag::nhwc : plain_tag(rank));
  plan->dst_plain = memory::desc(d.dst, f32, nhwc_out ? memory::format_tag::nhwc : plain_tag(rank));
  memory::desc src_any(d.src, f32, memory::format_tag::any), dst_any(d.dst, f32, memory::format_tag::any);
  memory::desc w_any(d.weights, f32, memory::format_tag::any);
  plan->b_md = memory::desc(d.bias, f32, memory::format_tag::a);
  plan->has_bias = ctx.has_input(2);
  // Plans are shared by sessions on other threads: each run brings its own scratchpad.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const ops::FusedActivation fused = ops::fused_activation_of(node);
  if (fused.act != ops::Activation::none || with_sum) {
    dnnl::post_ops post;
    if (with_sum) post.append_sum(1.0f);
    dnnl_append_activation(post, fused);
    attr.set_post_ops(post);
  }
  // convolution_forward and deconvolution_forward take the same arguments.
  auto build = [&](auto tag, dnnl::algorithm algo) {
    using Primitive = decltype(tag);
    const auto kind = dnnl::prop_kind::forward_inference;
    auto desc = plan->has_bias ? typename Primitive::desc(kind, algo, src_any, w_any, plan->b_md, dst_any, d.strides, d.dilates,
                                                          d.pad_l, d.pad_r)
                               : typename Primitive::desc(kind, algo, src_any, w_any, dst_any, d.strides, d.dilates, d.pad_l,
                                                          d.pad_r);
    typename Primitive::primitive_desc pd(desc, attr, cpu_engine());
    plan->conv = Primitive(pd);
    plan->src_md = pd.src_desc();
    plan->dst_md = pd.dst_desc();
    plan->w_md = pd.weights_desc();
    plan->scratch_md = pd.scratchpad_desc();
  };
  if (transposed) {
    build(dnnl::deconvolution_forward(), dnnl::algorithm::deconvolution_direct);
    plan->w_plain = dnnl_deconv_weights_plain(d);
  } else {
    build(dnnl::convolution_forward(), dnnl::algorithm::convolution_direct);
    plan->w_plain = memory::desc(d.weights, f32, dnnl_plain_weight_tag(rank, d.grouped));
  }
  plan->reorder_src = plan->src_md != plan->src_plain;
  plan->reorder_dst = plan->dst_md != plan->dst_plain;
  if (!bake) return plan;
  plan->baked = true;
  plan->weight_owner = w.storage;
  dnnl::stream stream(cpu_engine());
  memory w_user(plan->w_plain, cpu_engine(), const_cast<float*>(w.data<float>()));
  plan->weights = memory(plan->w_md, cpu_engine());
  dnnl::reorder(w_user, plan->weights).execute(stream, w_user, plan->weights);
  if (plan->has_bias) {
    const ir::Tensor& b = ctx.input(2);
    plan->bias_owner = b.storage;
    plan->bias = memory(plan->b_md, cpu_engine());
    std::memcpy(plan->bias.get_data_handle(), b.data<float>(), m * sizeof(float));
  }
  stream.wait();
  return plan;
}

void conv_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  const bool has_bias = ctx.has_input(2);
  // A fused residual (nn_fusion's Conv + Add) of the output's exact shape becomes oneDNN's sum
  // post-op; one that broadcasts takes the reference path.
  const bool with_sum = ctx.input_count() > 3 && ctx.has_input(3);
  if (with_sum && (ctx.input(3).dtype != ir::DataType::float32 || ctx.node().op != ir::OpKind::Conv)) return conv_reference(ctx);
  set_dnnl_threads(ctx.threads().size());
  std::vector<int64_t> key_dims = x.dims;
  key_dims.insert(key_dims.end(), w.dims.begin(), w.dims.end());
  // Only bytes that stay fixed for the session's life may be baked into a cached plan.
  const bool bake = w.storage && ctx.input_is_constant(1) && (!has_bias || ctx.input_is_constant(2));
  std::string sig = attribute_signature(ctx.node());
  if (with_sum) sig += ";sum";
  if (has_bias) sig += bake ? ";bias@" + std::to_string(reinterpret_cast<uintptr_t>(ctx.input(2).data<float>())) : ";bias";
  PlanKey key{bake ? static_cast<const void*>(w.data<float>()) : nullptr, sig, key_dims};
  std::shared_ptr<ConvPlan> plan;
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) plan = it->second;
  }
  if (!plan) {
    plan = build_plan(ctx, bake, with_sum);
    std::lock_guard<std::mutex> lock(cache_mutex);
    // Baked plans whose weights only the cache still holds belong to models that are gone (an
    // evaluation copy per epoch, say): drop them, and their prepacked copies, now.
    for (auto it = cache.begin(); it != cache.end();)
      it = it->second->weight_owner && it->second->weight_owner.use_count() == 1 ? cache.erase(it) : std::next(it);
    if (cache.size() > 4096) cache.clear();  // bounded: models are re-planned after a flush
    cache[key] = plan;
  }
  if (with_sum && ctx.input(3).dims != plan->out_dims) return conv_reference(ctx);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, plan->out_dims);
  dnnl::stream stream(cpu_engine());
  memory src_user(plan->src_plain, cpu_engine(), const_cast<float*>(x.data<float>()));
  memory dst_user(plan->dst_plain, cpu_engine(), mutable_floats(y));
  memory src = src_user, dst = dst_user, weights = plan->weights, bias = plan->bias;
  if (plan->reorder_src) {
    src = memory(plan->src_md, cpu_engine());
    dnnl::reorder(src_user, src).execute(stream, src_user, src);
  }
  if (!plan->baked) {
    memory w_user(plan->w_plain, cpu_engine(), const_cast<float*>(w.data<float>()));
    weights = w_user;
    if (plan->w_md != plan->w_plain) {
      weights = memory(plan->w_md, cpu_engine());
      dnnl::reorder(w_user, weights).execute(stream, w_user, weights);
    }
    if (has_bias) bias = memory(plan->b_md, cpu_engine(), const_cast<float*>(ctx.input(2).data<float>()));
  }
  if (plan->reorder_dst) dst = memory(plan->dst_md, cpu_engine());
  if (with_sum) {  // the residual (plain layout) into dst, which the sum post-op adds to
    memory residual(memory::desc(plan->dst_plain.dims(), memory::data_type::f32, plain_tag(plan->out_dims.size())), cpu_engine(),
                    const_cast<float*>(ctx.input(3).data<float>()));
    dnnl::reorder(residual, dst).execute(stream, residual, dst);
  }
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst},
                                          {DNNL_ARG_SCRATCHPAD, memory(plan->scratch_md, cpu_engine())}};
  if (plan->has_bias) args[DNNL_ARG_BIAS] = bias;
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

// oneDNN's deconvolution has no output larger than its inputs reach (negative end pads): an
// explicit output_shape, SAME auto_pad or a nonzero output_padding stay on the reference kernel.
bool conv_transpose_fast_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (!conv_fast_supports(node, types) || !node.attr_ints("output_shape").empty()) return false;
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return false;
  for (int64_t v : node.attr_ints("output_padding"))
    if (v != 0) return false;
  return true;
}

}  // namespace

void add_conv_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Conv, KernelKind::fast, conv_fast, conv_fast_supports});
  table.push_back({ir::OpKind::ConvTranspose, KernelKind::fast, conv_fast, conv_transpose_fast_supports});
}

}  // namespace mhub::engine::cpu
