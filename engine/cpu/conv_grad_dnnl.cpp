// Fast float32 ConvGradInput / ConvGradWeight (see conv_grad.cpp for the ops and their reference
// loops) through oneDNN's convolution_backward_data / convolution_backward_weights, with the bias
// gradient fused into the weights gradient when it is wanted. bfloat16 data and float32 nodes
// with the bf16 compute hint take conv_grad_dnnl_bf16.cpp's kernels, registered before these.
//
// Only primitives are cached (with user scratchpads: sessions on other threads share them), keyed by the node's attributes and the shapes (never data
// addresses): every input of these ops is computed anew each run, or is a parameter the trainer
// updates in place, so its bytes are reordered into oneDNN's layouts on every run. The reorders
// are primitives of the plan, and the blocked copies, the blocked output and the scratchpad live
// in per-thread buffers (dnnl_common's DnnlBuffer) that steady-state runs find big enough: a
// training step allocates nothing here (at batch 32 a fresh multi-megabyte buffer per call is
// memory the kernel maps and zeroes page by page, every step).
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "engine/cpu/conv_grad.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

// A primitive plus the layouts it wants, the plain layouts the graph's tensors have, and the
// reorders between them (empty where the primitive takes the plain layout).
struct GradPlan {
  dnnl::primitive prim;
  memory::desc a_plain, a_md, b_plain, b_md, out_plain, out_md, bias_md, scratch_md;
  dnnl::reorder a_reorder, b_reorder, out_reorder;
  bool with_bias = false;
};

// Builds the reorders of a plan whose descriptors are set.
void add_reorders(GradPlan& plan) {
  dnnl::engine& eng = dnnl_cpu_engine();
  if (plan.a_md != plan.a_plain) plan.a_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.a_plain, eng, plan.a_md));
  if (plan.b_md != plan.b_plain) plan.b_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.b_plain, eng, plan.b_md));
  if (plan.out_md != plan.out_plain)
    plan.out_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.out_md, eng, plan.out_plain));
}

// The calling thread's buffers for blocked copies of the two inputs, the blocked output and the
// scratchpad.
struct GradBuffers {
  DnnlBuffer a, b, out, scratch;
};

GradBuffers& thread_buffers() {
  thread_local GradBuffers buffers;
  return buffers;
}

// `bytes` in `plain` as the primitive wants them in `wanted`: the bytes themselves, or a copy
// reordered into `buffer`.
memory input_in_layout(dnnl::stream& stream, const memory::desc& plain, const memory::desc& wanted, const dnnl::reorder& reorder,
                       const void* bytes, DnnlBuffer& buffer) {
  memory user(plain, dnnl_cpu_engine(), const_cast<void*>(bytes));
  if (wanted == plain) return user;
  memory copy(wanted, dnnl_cpu_engine(), buffer.at_least(wanted.get_size()));
  reorder.execute(stream, user, copy);
  return copy;
}

// The primitive's output memory: the caller's bytes, or the thread's buffer in the blocked layout
// (reordered into the bytes by finish_output).
memory output_memory(const GradPlan& plan, void* bytes, DnnlBuffer& buffer) {
  if (plan.out_md == plan.out_plain) return memory(plan.out_plain, dnnl_cpu_engine(), bytes);
  return memory(plan.out_md, dnnl_cpu_engine(), buffer.at_least(plan.out_md.get_size()));
}

void finish_output(dnnl::stream& stream, const GradPlan& plan, memory& out, void* bytes) {
  if (plan.out_md == plan.out_plain) return;
  memory user(plan.out_plain, dnnl_cpu_engine(), bytes);
  plan.out_reorder.execute(stream, out, user);
}

memory scratchpad(const GradPlan& plan, DnnlBuffer& buffer) {
  return memory(plan.scratch_md, dnnl_cpu_engine(), buffer.at_least(std::max<size_t>(1, plan.scratch_md.get_size())));
}

using GradKey = std::pair<std::string, std::vector<int64_t>>;

std::mutex grad_cache_mutex;
std::map<GradKey, std::shared_ptr<GradPlan>> grad_cache;

GradKey grad_key(OpContext& ctx, const ConvGradShapes& s) {
  std::vector<int64_t> dims = s.x;
  dims.insert(dims.end(), s.w.begin(), s.w.end());
  dims.insert(dims.end(), s.dy.begin(), s.dy.end());
  std::string sig = dnnl_attribute_signature(ctx.node());
  if (ctx.output_wanted(1)) sig += ";bias";
  return {sig, dims};
}

std::shared_ptr<GradPlan> cached(const GradKey& key) {
  std::lock_guard<std::mutex> lock(grad_cache_mutex);
  auto it = grad_cache.find(key);
  return it == grad_cache.end() ? nullptr : it->second;
}

void remember(const GradKey& key, std::shared_ptr<GradPlan> plan) {
  std::lock_guard<std::mutex> lock(grad_cache_mutex);
  if (grad_cache.size() > 4096) grad_cache.clear();  // bounded: re-planned after a flush
  grad_cache[key] = std::move(plan);
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

int64_t group_of(OpContext& ctx) { return ctx.node().attr_int("group", 1); }

// dX from dY (a) and W (b).
void conv_grad_input_fast(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, true);
  set_dnnl_threads(ctx.threads().size());
  GradKey key = grad_key(ctx, s);
  std::shared_ptr<GradPlan> plan = cached(key);
  const size_t rank = s.x.size();
  if (!plan) {
    DnnlConvDims d = dnnl_conv_dims(s.x, s.w, group_of(ctx), s.geometry);
    const auto dt = memory::data_type::f32;
    auto any = memory::format_tag::any;
    auto hint = dnnl_conv_forward_hint(d, false, dt);
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, memory::desc(d.src, dt, any),
                                               memory::desc(d.weights, dt, any), memory::desc(d.dst, dt, any),
                                               d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad(), dnnl_cpu_engine(), hint);
    plan = std::make_shared<GradPlan>();
    plan->prim = dnnl::convolution_backward_data(pd);
    plan->a_plain = memory::desc(d.dst, dt, dnnl_plain_tag(rank));
    plan->a_md = pd.diff_dst_desc();
    plan->b_plain = memory::desc(d.weights, dt, dnnl_plain_weight_tag(rank, d.grouped));
    plan->b_md = pd.weights_desc();
    plan->out_plain = memory::desc(d.src, dt, dnnl_plain_tag(rank));
    plan->out_md = pd.diff_src_desc();
    plan->scratch_md = pd.scratchpad_desc();
    add_reorders(*plan);
    remember(key, plan);
  }
  ir::Tensor& dx = ctx.allocate_output(0, ctx.input(0).dtype, s.x);
  dnnl::stream& stream = dnnl_thread_stream();
  GradBuffers& buffers = thread_buffers();
  memory dy = input_in_layout(stream, plan->a_plain, plan->a_md, plan->a_reorder, ctx.input(0).bytes(), buffers.a);
  memory w = input_in_layout(stream, plan->b_plain, plan->b_md, plan->b_reorder, ctx.input(1).bytes(), buffers.b);
  memory out = output_memory(*plan, mutable_bytes(dx), buffers.out);
  plan->prim.execute(stream, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, out},
                              {DNNL_ARG_SCRATCHPAD, scratchpad(*plan, buffers.scratch)}});
  finish_output(stream, *plan, out, mutable_bytes(dx));
  stream.wait();
}

// dW (and dB) from X (a) and dY (b).
void conv_grad_weight_fast(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, false);
  set_dnnl_threads(ctx.threads().size());
  GradKey key = grad_key(ctx, s);
  std::shared_ptr<GradPlan> plan = cached(key);
  const size_t rank = s.x.size();
  const bool with_bias = ctx.output_wanted(1);
  if (!plan) {
    DnnlConvDims d = dnnl_conv_dims(s.x, s.w, group_of(ctx), s.geometry);
    const auto dt = memory::data_type::f32;
    auto any = memory::format_tag::any;
    auto hint = dnnl_conv_forward_hint(d, with_bias, dt);
    memory::desc src(d.src, dt, any), dw(d.weights, dt, any), dst(d.dst, dt, any);
    memory::desc db(d.bias, dt, memory::format_tag::a);
    auto desc = with_bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src, dw, db, dst,
                                                                     d.strides, d.dilates, d.pad_l, d.pad_r)
                          : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src, dw, dst,
                                                                     d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad(), dnnl_cpu_engine(), hint);
    plan = std::make_shared<GradPlan>();
    plan->prim = dnnl::convolution_backward_weights(pd);
    plan->a_plain = memory::desc(d.src, dt, dnnl_plain_tag(rank));
    plan->a_md = pd.src_desc();
    plan->b_plain = memory::desc(d.dst, dt, dnnl_plain_tag(rank));
    plan->b_md = pd.diff_dst_desc();
    plan->out_plain = memory::desc(d.weights, dt, dnnl_plain_weight_tag(rank, d.grouped));
    plan->out_md = pd.diff_weights_desc();
    plan->scratch_md = pd.scratchpad_desc();
    plan->with_bias = with_bias;
    if (with_bias) plan->bias_md = pd.diff_bias_desc();
    add_reorders(*plan);
    remember(key, plan);
  }
  ir::Tensor& dw = ctx.allocate_output(0, ctx.input(1).dtype, s.w);
  dnnl::stream& stream = dnnl_thread_stream();
  GradBuffers& buffers = thread_buffers();
  memory x = input_in_layout(stream, plan->a_plain, plan->a_md, plan->a_reorder, ctx.input(0).bytes(), buffers.a);
  memory dy = input_in_layout(stream, plan->b_plain, plan->b_md, plan->b_reorder, ctx.input(1).bytes(), buffers.b);
  memory out = output_memory(*plan, mutable_bytes(dw), buffers.out);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, out},
                                          {DNNL_ARG_SCRATCHPAD, scratchpad(*plan, buffers.scratch)}};
  if (plan->with_bias) {
    ir::Tensor& db = ctx.allocate_output(1, ctx.input(1).dtype, {s.w[0]});
    memory::desc plain({s.w[0]}, memory::data_type::f32, memory::format_tag::a);
    if (plan->bias_md != plain) fail(ctx, "oneDNN chose a non-plain bias gradient layout");
    args[DNNL_ARG_DIFF_BIAS] = memory(plain, dnnl_cpu_engine(), mutable_bytes(db));
  }
  plan->prim.execute(stream, args);
  finish_output(stream, *plan, out, mutable_bytes(dw));
  stream.wait();
}

bool grad_fast_supports(const ir::Node&, std::span<const ir::DataType> types) {
  return types.size() >= 2 && types[0] == ir::DataType::float32 && types[1] == ir::DataType::float32;
}

}  // namespace

void add_conv_grad_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ConvGradInput, KernelKind::fast, conv_grad_input_fast, grad_fast_supports});
  table.push_back({ir::OpKind::ConvGradWeight, KernelKind::fast, conv_grad_weight_fast, grad_fast_supports});
}

}  // namespace mhub::engine::cpu
