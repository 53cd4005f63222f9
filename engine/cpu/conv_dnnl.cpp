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
//
// Steady state: the plan is found by a hash of its key (fields compared on a hit, no strings
// built); reorder primitives are part of the plan; each thread keeps its stream, oneDNN memory
// objects per plan (pointed at this run's bytes) and growable buffers for reordered
// activations, weights and the scratchpad, so a run allocates nothing once they are big enough.
// Channels-last values (passes/channels_last.h) are read and written as nhwc memory.
// A fused residual is copied into Y for the sum post-op, unless the node is marked
// mhub_residual_in_place (passes/nn_fusion.h) and its bytes are free to take: then Y is them.
//
// Under the session's bf16 compute hint X and the fused residual may be bfloat16 storage and Y is
// written in bfloat16 where the node is marked so (passes/compute_precision.h,
// conv_output_type): oneDNN then reads and writes those bytes directly, with no conversion.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/ops/conv_geometry.h"
#include "engine/ops/fused_activation.h"
#include "engine/core/passes/nn_fusion.h"
#include "engine/cpu/bf16_support.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() { return dnnl_cpu_engine(); }
memory::format_tag plain_tag(size_t rank) { return dnnl_plain_tag(rank); }

struct ConvPlan {
  std::shared_ptr<const ir::Storage> weight_owner;  // set when the weights are baked in
  std::shared_ptr<const ir::Storage> bias_owner;
  dnnl::primitive conv;  // convolution_forward or deconvolution_forward
  memory::desc src_plain, dst_plain, src_md, dst_md, w_plain, w_md, b_md, scratch_md, residual_md;
  memory weights, bias;  // baked plans only
  dnnl::primitive src_reorder, dst_reorder, w_reorder, residual_reorder;  // built where needed
  std::vector<int64_t> out_dims;
  bool reorder_src = false, reorder_dst = false, has_bias = false, baked = false, with_sum = false;
  // Marked mhub_residual_in_place and the residual is already dst's memory as the primitive
  // writes it (same layout and type, no dst reorder): Y may take over the residual's bytes.
  bool residual_in_place = false;
  uint64_t id = 0;  // unique per plan: the per-thread memory objects are keyed by it
  // What the plan was built for (checked on a cache hit).
  const void* key_weights = nullptr;
  const void* key_bias = nullptr;
  ir::OpKind key_op = ir::OpKind::opaque;
  std::vector<int64_t> key_x, key_w;
  ir::DataType key_x_type = ir::DataType::float32, key_residual_type = ir::DataType::undefined;
  std::vector<ir::Attribute> key_attributes;
};

// Keyed by a hash of (attributes, baked weights and bias addresses or nullptr, X and W dims),
// the fields themselves checked on a hit.
std::mutex cache_mutex;
std::unordered_map<uint64_t, std::shared_ptr<ConvPlan>> cache;

// with_sum: Y = conv + Y's previous bytes (the fused residual, copied in first), then the activation.
memory::data_type dnnl_float_type(ir::DataType t) {
  return t == ir::DataType::bfloat16 ? memory::data_type::bf16 : memory::data_type::f32;
}

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
  // mhub_layout_in/out = "nhwc" (passes/channels_last.h): X, or Y and the fused residual,
  // have channels-last bytes although their dims stay NCHW.
  bool nhwc_in = rank == 4 && node.attr_string("mhub_layout_in", "") == "nhwc";
  bool nhwc_out = rank == 4 && node.attr_string("mhub_layout_out", "") == "nhwc";
  // X, Y and the residual in float32, or bfloat16 storage under the hint (conv_output_type).
  const auto x_type = dnnl_float_type(x.dtype), y_type = dnnl_float_type(conv_output_type(node, x.dtype, w.dtype));
  const auto out_tag = nhwc_out ? memory::format_tag::nhwc : plain_tag(rank);
  plan->src_plain = memory::desc(d.src, x_type, nhwc_in ? memory::format_tag::nhwc : plain_tag(rank));
  plan->dst_plain = memory::desc(d.dst, y_type, out_tag);
  if (with_sum) plan->residual_md = memory::desc(d.dst, dnnl_float_type(ctx.input(3).dtype), out_tag);  // in Y's layout
  // The session's bf16 compute hint: src and weights in bfloat16 (the reorders the plan does
  // anyway convert them), float32 accumulation, bias and post-ops.
  const auto compute = bf16_compute_hinted(node) ? memory::data_type::bf16 : f32;
  memory::desc src_any(d.src, compute, memory::format_tag::any), dst_any(d.dst, y_type, memory::format_tag::any);
  memory::desc w_any(d.weights, compute, memory::format_tag::any);
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
    auto describe = [&](const memory::desc& src, const memory::desc& dst) {
      return plan->has_bias ? typename Primitive::desc(kind, algo, src, w_any, plan->b_md, dst, d.strides, d.dilates, d.pad_l,
                                                       d.pad_r)
                            : typename Primitive::desc(kind, algo, src, w_any, dst, d.strides, d.dilates, d.pad_l, d.pad_r);
    };
    typename Primitive::primitive_desc pd(describe(src_any, dst_any), attr, cpu_engine());
    // Replaces pd by oneDNN's first implementation for nhwc X and Y (and these post-ops) whose
    // name starts with `prefix`, where it offers one.
    auto prefer_nhwc_impl = [&](const char* prefix) {
      try {
        // oneDNN 2.6's iterator keeps a pointer to the descriptor: it must outlive next_impl().
        const typename Primitive::desc nhwc = describe(plan->src_plain, plan->dst_plain);
        typename Primitive::primitive_desc other(nhwc, attr, cpu_engine(), true);
        for (bool more = static_cast<bool>(other); more; more = other.next_impl())
          if (std::string(other.impl_info_str()).rfind(prefix, 0) == 0) {
            pd = other;
            return;
          }
      } catch (const dnnl::error&) {
      }
    };
    // Grouped (not depthwise) convolutions between channels-last values: oneDNN's own choice is a
    // blocked layout (nChw8c for RegNet's groups of 8) with a reorder in and out on every run; its
    // jit kernels read and write nhwc directly at about the same speed, so take them when they
    // exist (never a reference or gemm implementation).
    if (d.grouped && nhwc_in && nhwc_out && c / group > 1 && compute == f32 &&
        (pd.src_desc() != plan->src_plain || pd.dst_desc() != plan->dst_plain)) {
      try {
        typename Primitive::primitive_desc direct(describe(plan->src_plain, plan->dst_plain), attr, cpu_engine(), true);
        const std::string impl = direct ? direct.impl_info_str() : "";
        if (!impl.empty() && impl.find("ref") == std::string::npos && impl.find("gemm") == std::string::npos) pd = direct;
      } catch (const dnnl::error&) {
      }
    }
    // Depthwise convolutions between channels-last values: oneDNN 2.6 picks brdgmm_dw; its older
    // jit_dw kernel reads and writes nhwc too and, on mobilenet_v2 / v3's depthwise shapes at two
    // threads, left each thread a smaller share of the work (bench/conv_threads_probe.cpp: by
    // up to half at 112x112 and 56x56, about even at 14x14 and 7x7). In the models at batch 1 the
    // depthwise nodes' least times summed 15-23% lower at two threads and 16% lower at one
    // (mhub bench --profile, the two builds alternated, loaded machine). Taken where oneDNN offers
    // it for the shape and post-ops.
    if (!transposed && d.grouped && nhwc_in && nhwc_out && c == group && m == group && compute == f32 &&
        pd.src_desc() == plan->src_plain && pd.dst_desc() == plan->dst_plain)
      prefer_nhwc_impl("jit_dw:");
    // Pointwise convolutions over many pixels with a narrow side (pointwise_prefers_direct_jit):
    // oneDNN's direct jit kernel instead of brgconv_1x1, where oneDNN offers it for the post-ops.
    if (!transposed && nhwc_in && nhwc_out && compute == f32 && pointwise_prefers_direct_jit(d) &&
        pd.src_desc() == plan->src_plain && pd.dst_desc() == plan->dst_plain &&
        std::string(pd.impl_info_str()).rfind("brgconv_1x1:", 0) == 0)
      prefer_nhwc_impl("jit:avx512");
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
    // Winograd where winograd_preferred says it pays and oneDNN has it for this CPU, data type
    // and post-ops; anything else (an AVX2 CPU, say) gets the direct algorithm.
    bool winograd = false;
    if (compute == f32 && winograd_preferred(d)) {
      try {
        build(dnnl::convolution_forward(), dnnl::algorithm::convolution_winograd);
        winograd = true;
      } catch (const dnnl::error&) {
      }
    }
    if (!winograd) build(dnnl::convolution_forward(), dnnl::algorithm::convolution_direct);
    plan->w_plain = memory::desc(d.weights, f32, dnnl_plain_weight_tag(rank, d.grouped));
  }
  plan->reorder_src = plan->src_md != plan->src_plain;
  plan->reorder_dst = plan->dst_md != plan->dst_plain;
  auto reorder = [](const memory::desc& from, const memory::desc& to) {
    return dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to));
  };
  if (plan->reorder_src) plan->src_reorder = reorder(plan->src_plain, plan->src_md);
  if (plan->reorder_dst) plan->dst_reorder = reorder(plan->dst_md, plan->dst_plain);
  if (with_sum && plan->residual_md != plan->dst_md) plan->residual_reorder = reorder(plan->residual_md, plan->dst_md);
  plan->residual_in_place = with_sum && !plan->reorder_dst && plan->residual_md == plan->dst_md &&
                            node.attr_int(kResidualInPlace, 0) != 0;
  if (!bake && plan->w_md != plan->w_plain) plan->w_reorder = reorder(plan->w_plain, plan->w_md);
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

uint64_t plan_hash(const ir::Node& node, const void* weights, const void* bias, bool has_bias, bool with_sum,
                   const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims, ir::DataType x_type,
                   ir::DataType residual_type) {
  DnnlKeyHash hs;
  hs.value(x_type);
  hs.value(residual_type);
  hs.node(node);
  hs.value(weights);
  hs.value(bias);
  hs.value(has_bias);
  hs.value(with_sum);
  hs.dims(x_dims);
  hs.dims(w_dims);
  return hs.h;
}

bool plan_matches(const ConvPlan& plan, const ir::Node& node, const void* weights, const void* bias, bool has_bias,
                  bool with_sum, const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims, ir::DataType x_type,
                  ir::DataType residual_type) {
  return plan.key_x_type == x_type && plan.key_residual_type == residual_type && plan.key_weights == weights && plan.key_bias == bias && plan.has_bias == has_bias && plan.with_sum == with_sum &&
         plan.key_op == node.op && plan.key_x == x_dims && plan.key_w == w_dims &&
         dnnl_same_attributes(plan.key_attributes, node.attributes);
}

// oneDNN memory objects and argument maps of one plan on one thread, built once; each run only
// points them at this run's bytes (set_data_handle).
struct PlanMemories {
  memory src_user, dst_user, src, dst, w_user, weights, bias, residual, scratch;
  std::unordered_map<int, memory> conv_args, src_reorder_args, dst_reorder_args, w_reorder_args, residual_args;
};

struct ThreadState {
  DnnlBuffer src, dst, weights, scratch;
  std::unordered_map<uint64_t, PlanMemories> memories;  // by plan id
};

PlanMemories& memories_for(ThreadState& state, const ConvPlan& plan) {
  auto entry = thread_plan_entry(state.memories, plan.id);
  PlanMemories& m = entry.first;
  if (!entry.second) return m;
  dnnl::engine& eng = cpu_engine();
  m.src_user = memory(plan.src_plain, eng, nullptr);
  m.dst_user = memory(plan.dst_plain, eng, nullptr);
  m.src = plan.reorder_src ? memory(plan.src_md, eng, nullptr) : m.src_user;
  m.dst = plan.reorder_dst ? memory(plan.dst_md, eng, nullptr) : m.dst_user;
  m.scratch = memory(plan.scratch_md, eng, nullptr);
  if (plan.baked) {  // pointed at the plan's prepacked copies each run (not owned here)
    m.weights = memory(plan.w_md, eng, nullptr);
    if (plan.has_bias) m.bias = memory(plan.b_md, eng, nullptr);
  } else {
    m.w_user = memory(plan.w_plain, eng, nullptr);
    m.weights = plan.w_md != plan.w_plain ? memory(plan.w_md, eng, nullptr) : m.w_user;
    if (plan.has_bias) m.bias = memory(plan.b_md, eng, nullptr);
  }
  m.conv_args = {{DNNL_ARG_SRC, m.src}, {DNNL_ARG_WEIGHTS, m.weights}, {DNNL_ARG_DST, m.dst}, {DNNL_ARG_SCRATCHPAD, m.scratch}};
  if (plan.has_bias) m.conv_args[DNNL_ARG_BIAS] = m.bias;
  m.src_reorder_args = {{DNNL_ARG_FROM, m.src_user}, {DNNL_ARG_TO, m.src}};
  m.dst_reorder_args = {{DNNL_ARG_FROM, m.dst}, {DNNL_ARG_TO, m.dst_user}};
  m.w_reorder_args = {{DNNL_ARG_FROM, m.w_user}, {DNNL_ARG_TO, m.weights}};
  if (plan.with_sum) {
    m.residual = memory(plan.residual_md, eng, nullptr);
    m.residual_args = {{DNNL_ARG_FROM, m.residual}, {DNNL_ARG_TO, m.dst}};
  }
  return m;
}

void conv_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  const bool has_bias = ctx.has_input(2);
  // A fused residual (nn_fusion's Conv + Add) of the output's exact shape becomes oneDNN's sum
  // post-op; one that broadcasts takes the reference path.
  const bool with_sum = ctx.input_count() > 3 && ctx.has_input(3);
  const ir::DataType residual_type = with_sum ? ctx.input(3).dtype : ir::DataType::undefined;
  if (with_sum && ((residual_type != ir::DataType::float32 && residual_type != ir::DataType::bfloat16) ||
                   ctx.node().op != ir::OpKind::Conv))
    return conv_reference(ctx);
  set_dnnl_threads(ctx.threads().size());
  // Only bytes that stay fixed for the session's life may be baked into a cached plan.
  const bool bake = w.storage && ctx.input_is_constant(1) && (!has_bias || ctx.input_is_constant(2));
  const void* key_weights = bake ? static_cast<const void*>(w.data<float>()) : nullptr;
  const void* key_bias = bake && has_bias ? static_cast<const void*>(ctx.input(2).data<float>()) : nullptr;
  const uint64_t hash = plan_hash(ctx.node(), key_weights, key_bias, has_bias, with_sum, x.dims, w.dims, x.dtype, residual_type);
  std::shared_ptr<ConvPlan> plan;
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(hash);
    if (it != cache.end() &&
        plan_matches(*it->second, ctx.node(), key_weights, key_bias, has_bias, with_sum, x.dims, w.dims, x.dtype, residual_type))
      plan = it->second;
  }
  if (!plan) {
    plan = build_plan(ctx, bake, with_sum);
    plan->key_weights = key_weights;
    plan->key_bias = key_bias;
    plan->with_sum = with_sum;
    plan->key_op = ctx.node().op;
    plan->key_x = x.dims;
    plan->key_w = w.dims;
    plan->key_x_type = x.dtype;
    plan->key_residual_type = residual_type;
    plan->key_attributes = ctx.node().attributes;
    static std::atomic<uint64_t> next_id{1};
    plan->id = next_id++;
    std::lock_guard<std::mutex> lock(cache_mutex);
    // Baked plans whose weights only the cache still holds belong to models that are gone (an
    // evaluation copy per epoch, say): drop them, and their prepacked copies, now.
    for (auto it = cache.begin(); it != cache.end();)
      it = it->second->weight_owner && it->second->weight_owner.use_count() == 1 ? cache.erase(it) : std::next(it);
    if (cache.size() > 4096) cache.clear();  // bounded: models are re-planned after a flush
    cache[hash] = plan;  // a (never seen) hash collision just replaces the other plan
  }
  if (with_sum && ctx.input(3).dims != plan->out_dims) return conv_reference(ctx);
  // The residual's bytes become Y's (the sum post-op adds the convolution to them) where the pass
  // found this node the residual's last reader and nobody else holds them now (output_over_input).
  uint8_t* y_bytes = plan->residual_in_place && ctx.input(3).storage != x.storage ? output_over_input(ctx, 0, 3) : nullptr;
  const bool in_place = y_bytes != nullptr;
  if (!in_place) y_bytes = mutable_bytes(ctx.allocate_output(0, conv_output_type(ctx.node(), x.dtype, w.dtype), plan->out_dims));
  thread_local ThreadState state;
  PlanMemories& m = memories_for(state, *plan);
  dnnl::stream& stream = dnnl_thread_stream();
  m.src_user.set_data_handle(const_cast<uint8_t*>(x.bytes()));
  m.dst_user.set_data_handle(y_bytes);
  m.scratch.set_data_handle(state.scratch.at_least(std::max<size_t>(1, plan->scratch_md.get_size())));
  if (plan->reorder_src) {
    m.src.set_data_handle(state.src.at_least(plan->src_md.get_size()));
    plan->src_reorder.execute(stream, m.src_reorder_args);
  }
  if (plan->baked) {
    m.weights.set_data_handle(plan->weights.get_data_handle());
    if (has_bias) m.bias.set_data_handle(plan->bias.get_data_handle());
  } else {
    m.w_user.set_data_handle(const_cast<float*>(w.data<float>()));
    if (plan->w_md != plan->w_plain) {
      m.weights.set_data_handle(state.weights.at_least(plan->w_md.get_size()));
      plan->w_reorder.execute(stream, m.w_reorder_args);
    }
    if (has_bias) m.bias.set_data_handle(const_cast<float*>(ctx.input(2).data<float>()));
  }
  if (plan->reorder_dst) m.dst.set_data_handle(state.dst.at_least(plan->dst_md.get_size()));
  if (with_sum && !in_place) {  // the residual (in Y's layout) into dst, which the sum post-op adds to
    const uint8_t* r = ctx.input(3).bytes();
    if (plan->residual_md == plan->dst_md) {
      std::memcpy(m.dst.get_data_handle(), r, plan->residual_md.get_size());
    } else {
      m.residual.set_data_handle(const_cast<uint8_t*>(r));
      plan->residual_reorder.execute(stream, m.residual_args);
    }
  }
  plan->conv.execute(stream, m.conv_args);
  if (plan->reorder_dst) plan->dst_reorder.execute(stream, m.dst_reorder_args);
  stream.wait();
}

// float32 X and W (bias float32); X and the fused residual may be bfloat16 storage on a node
// following the bf16 hint (passes/compute_precision.h).
bool conv_fast_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  using ir::DataType;
  const bool storage = node.op == ir::OpKind::Conv && bf16_compute_hinted(node);
  auto activation = [&](DataType t) { return t == DataType::float32 || (storage && t == DataType::bfloat16); };
  if (types.size() < 2 || !activation(types[0]) || types[1] != DataType::float32) return false;
  if (types.size() > 2 && types[2] != DataType::float32 && types[2] != DataType::undefined) return false;
  if (types.size() > 3 && !activation(types[3]) && types[3] != DataType::undefined) return false;
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
  table.push_back({ir::OpKind::Conv, KernelKind::fast, conv_fast, conv_fast_supports, 0, /*channels_last=*/true});
  table.push_back({ir::OpKind::ConvTranspose, KernelKind::fast, conv_fast, conv_transpose_fast_supports, 0, /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
