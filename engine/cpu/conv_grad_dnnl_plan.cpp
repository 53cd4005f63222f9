// Builds, caches and runs conv_grad_dnnl_plan.h's plans.
#include "engine/cpu/conv_grad_dnnl_plan.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

dnnl::reorder reorder_between(const memory::desc& from, const memory::desc& to) {
  return dnnl::reorder(dnnl::reorder::primitive_desc(dnnl_cpu_engine(), from, dnnl_cpu_engine(), to));
}

// Fills in the reorders of a plan whose layouts are set.
void add_reorders(ConvGradPlan& plan) {
  if (plan.a_md != plan.a_plain) plan.a_reorder = reorder_between(plan.a_plain, plan.a_md);
  if (plan.b_md != plan.b_plain) plan.b_reorder = reorder_between(plan.b_plain, plan.b_md);
  if (plan.out_md != plan.out_plain) plan.out_reorder = reorder_between(plan.out_md, plan.out_plain);
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// dX (out) from dY (a) and W (b).
std::shared_ptr<ConvGradPlan> plan_grad_input(OpContext& ctx, const ConvGradShapes& s, ConvGradTypes t) {
  DnnlConvDims d = dnnl_conv_dims(s.x, s.w, ctx.node().attr_int("group", 1), s.geometry);
  const size_t rank = s.x.size();
  const auto any = memory::format_tag::any;
  dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, memory::desc(d.src, t.io, any),
                                             memory::desc(d.weights, t.operand, any), memory::desc(d.dst, t.operand, any),
                                             d.strides, d.dilates, d.pad_l, d.pad_r);
  dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad(), dnnl_cpu_engine(),
                                                     dnnl_conv_forward_hint(d, false, t.operand));
  auto plan = std::make_shared<ConvGradPlan>();
  plan->prim = dnnl::convolution_backward_data(pd);
  plan->a_plain = memory::desc(d.dst, t.io, dnnl_plain_tag(rank));
  plan->a_md = pd.diff_dst_desc();
  plan->b_plain = memory::desc(d.weights, t.io, dnnl_plain_weight_tag(rank, d.grouped));
  plan->b_md = pd.weights_desc();
  plan->out_plain = memory::desc(d.src, t.io, dnnl_plain_tag(rank));
  plan->out_md = pd.diff_src_desc();
  plan->scratch_md = pd.scratchpad_desc();
  plan->a_arg = DNNL_ARG_DIFF_DST;
  plan->b_arg = DNNL_ARG_WEIGHTS;
  plan->out_arg = DNNL_ARG_DIFF_SRC;
  add_reorders(*plan);
  return plan;
}

// dW (out) and dB from X (a) and dY (b).
std::shared_ptr<ConvGradPlan> plan_grad_weight(OpContext& ctx, const ConvGradShapes& s, bool with_bias, ConvGradTypes t) {
  DnnlConvDims d = dnnl_conv_dims(s.x, s.w, ctx.node().attr_int("group", 1), s.geometry);
  const size_t rank = s.x.size();
  const auto any = memory::format_tag::any;
  memory::desc src(d.src, t.operand, any), dw(d.weights, t.io, any), dst(d.dst, t.operand, any);
  memory::desc db(d.bias, t.io, memory::format_tag::a);
  const auto algo = dnnl::algorithm::convolution_direct;
  auto desc = with_bias ? dnnl::convolution_backward_weights::desc(algo, src, dw, db, dst, d.strides, d.dilates, d.pad_l, d.pad_r)
                        : dnnl::convolution_backward_weights::desc(algo, src, dw, dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad(), dnnl_cpu_engine(),
                                                        dnnl_conv_forward_hint(d, with_bias, t.operand));
  auto plan = std::make_shared<ConvGradPlan>();
  plan->prim = dnnl::convolution_backward_weights(pd);
  plan->a_plain = memory::desc(d.src, t.io, dnnl_plain_tag(rank));
  plan->a_md = pd.src_desc();
  plan->b_plain = memory::desc(d.dst, t.io, dnnl_plain_tag(rank));
  plan->b_md = pd.diff_dst_desc();
  plan->out_plain = memory::desc(d.weights, t.io, dnnl_plain_weight_tag(rank, d.grouped));
  plan->out_md = pd.diff_weights_desc();
  plan->scratch_md = pd.scratchpad_desc();
  plan->with_bias = with_bias;
  if (with_bias) {
    plan->bias_md = pd.diff_bias_desc();
    if (plan->bias_md != db) fail(ctx, "oneDNN chose a non-plain bias gradient layout");
  }
  plan->a_arg = DNNL_ARG_SRC;
  plan->b_arg = DNNL_ARG_DIFF_DST;
  plan->out_arg = DNNL_ARG_DIFF_WEIGHTS;
  add_reorders(*plan);
  return plan;
}

using PlanKey = std::pair<std::string, std::vector<int64_t>>;

std::mutex plan_mutex;
std::map<PlanKey, std::shared_ptr<const ConvGradPlan>> plan_cache;

// Per-thread reorder targets and scratchpad, reused by every plan the thread runs.
struct GradBuffers {
  DnnlBuffer a, b, out, scratch;
};

// `bytes` in `plain` as the primitive wants them in `wanted`: the bytes themselves, or a copy
// reordered into `buffer`.
memory in_primitive_layout(dnnl::stream& stream, const memory::desc& plain, const memory::desc& wanted,
                           const dnnl::reorder& reorder, DnnlBuffer& buffer, const void* bytes) {
  memory user(plain, dnnl_cpu_engine(), const_cast<void*>(bytes));
  if (wanted == plain) return user;
  memory reordered(wanted, dnnl_cpu_engine(), buffer.at_least(wanted.get_size()));
  reorder.execute(stream, user, reordered);
  return reordered;
}

}  // namespace

std::shared_ptr<const ConvGradPlan> conv_grad_plan(OpContext& ctx, const ConvGradShapes& s, bool grad_input,
                                                   ConvGradTypes types) {
  set_dnnl_threads(ctx.threads().size());  // before primitive creation, which may look at it
  const bool with_bias = !grad_input && ctx.output_wanted(1);
  std::vector<int64_t> dims = s.x;
  dims.insert(dims.end(), s.w.begin(), s.w.end());
  dims.insert(dims.end(), s.dy.begin(), s.dy.end());
  dims.push_back(static_cast<int64_t>(types.operand));
  dims.push_back(static_cast<int64_t>(types.io));
  std::string sig = dnnl_attribute_signature(ctx.node());
  sig += grad_input ? ";input" : with_bias ? ";weight+bias" : ";weight";
  PlanKey key{std::move(sig), std::move(dims)};
  {
    std::lock_guard<std::mutex> lock(plan_mutex);
    auto it = plan_cache.find(key);
    if (it != plan_cache.end()) return it->second;
  }
  std::shared_ptr<const ConvGradPlan> plan =
      grad_input ? plan_grad_input(ctx, s, types) : plan_grad_weight(ctx, s, with_bias, types);
  std::lock_guard<std::mutex> lock(plan_mutex);
  if (plan_cache.size() > 4096) plan_cache.clear();  // bounded: re-planned after a flush
  plan_cache[key] = plan;
  return plan;
}

void run_conv_grad_plan(OpContext& ctx, const ConvGradPlan& plan, void* out, void* bias) {
  thread_local GradBuffers buffers;
  dnnl::stream& stream = dnnl_thread_stream();
  const dnnl::engine& engine = dnnl_cpu_engine();
  memory a = in_primitive_layout(stream, plan.a_plain, plan.a_md, plan.a_reorder, buffers.a, ctx.input(0).bytes());
  memory b = in_primitive_layout(stream, plan.b_plain, plan.b_md, plan.b_reorder, buffers.b, ctx.input(1).bytes());
  memory out_user(plan.out_plain, engine, out);
  const bool reorder_out = plan.out_md != plan.out_plain;
  memory result = reorder_out ? memory(plan.out_md, engine, buffers.out.at_least(plan.out_md.get_size())) : out_user;
  memory scratch(plan.scratch_md, engine, buffers.scratch.at_least(std::max<size_t>(1, plan.scratch_md.get_size())));
  std::unordered_map<int, memory> args = {{plan.a_arg, a}, {plan.b_arg, b}, {plan.out_arg, result}, {DNNL_ARG_SCRATCHPAD, scratch}};
  if (plan.with_bias) args[DNNL_ARG_DIFF_BIAS] = memory(plan.bias_md, engine, bias);
  plan.prim.execute(stream, args);
  if (reorder_out) plan.out_reorder.execute(stream, result, out_user);
  stream.wait();
}

}  // namespace mhub::engine::cpu
