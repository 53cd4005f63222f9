// ConvGradInput / ConvGradWeight computing in bfloat16 through oneDNN's backward primitives
// (see conv_grad.cpp for the ops and their reference loops), in two cases:
//  - bfloat16 data (the backward of a graph whose values are bfloat16, autocast.h's Cast form):
//    bfloat16 in and out, float32 accumulation, each gradient rounded once as the reference does;
//  - float32 data of nodes carrying the session's bf16 compute hint (compute_precision.h; what
//    `--precision bf16` training gives the Conv gradients on the CPU): the reorders into
//    oneDNN's layouts round dY, W and X to bfloat16, and oneDNN accumulates and writes dX, dW and
//    dB in float32 (f32 diff_src / diff_weights from bf16 operands), as torch.autocast's CPU
//    backward does. No Cast node, no bfloat16 copy of a weight or activation in the graph.
// Supported only where the CPU has bfloat16 units (bf16_support.h); registered before the
// float32 kernels of conv_grad_dnnl.cpp, so hinted nodes find these first.
//
// Primitives and their reorders are cached per (attributes, shapes, types), never by data
// address (every input is computed anew each run, or is a parameter the trainer updates in
// place); each thread keeps its reorder buffers and scratchpad, so steady-state runs allocate no
// tensor-sized memory.
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "engine/cpu/bf16_support.h"
#include "engine/cpu/conv_grad.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;

// One backward primitive over two operands (a, b) and one main result (out), each with the plain
// layout of the graph's tensor and the layout the primitive wants, and the reorders between them.
struct Bf16GradPlan {
  dnnl::primitive prim;
  memory::desc a_plain, a_md, b_plain, b_md, out_plain, out_md, bias_md, scratch_md;
  dnnl::reorder a_reorder, b_reorder, out_reorder;
  bool reorder_a = false, reorder_b = false, reorder_out = false, with_bias = false;
  int a_arg = 0, b_arg = 0, out_arg = 0;
};

using Bf16GradKey = std::pair<std::string, std::vector<int64_t>>;

std::mutex bf16_grad_mutex;
std::map<Bf16GradKey, std::shared_ptr<const Bf16GradPlan>> bf16_grad_cache;

memory::data_type io_type(OpContext& ctx) {
  return ctx.input(0).dtype == ir::DataType::bfloat16 ? memory::data_type::bf16 : memory::data_type::f32;
}

dnnl::reorder reorder_between(const memory::desc& from, const memory::desc& to) {
  return dnnl::reorder(dnnl::reorder::primitive_desc(dnnl_cpu_engine(), from, dnnl_cpu_engine(), to));
}

// Fills in the reorders of a plan whose layouts are set.
void add_reorders(Bf16GradPlan& plan) {
  plan.reorder_a = plan.a_md != plan.a_plain;
  plan.reorder_b = plan.b_md != plan.b_plain;
  plan.reorder_out = plan.out_md != plan.out_plain;
  if (plan.reorder_a) plan.a_reorder = reorder_between(plan.a_plain, plan.a_md);
  if (plan.reorder_b) plan.b_reorder = reorder_between(plan.b_plain, plan.b_md);
  if (plan.reorder_out) plan.out_reorder = reorder_between(plan.out_md, plan.out_plain);
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// dX from dY (a) and W (b): bfloat16 operands, dX in the graph's type.
std::shared_ptr<Bf16GradPlan> plan_grad_input(OpContext& ctx, const ConvGradShapes& s) {
  DnnlConvDims d = dnnl_conv_dims(s.x, s.w, ctx.node().attr_int("group", 1), s.geometry);
  const size_t rank = s.x.size();
  const auto bf16 = memory::data_type::bf16, io = io_type(ctx);
  const auto any = memory::format_tag::any;
  dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, memory::desc(d.src, io, any),
                                             memory::desc(d.weights, bf16, any), memory::desc(d.dst, bf16, any), d.strides,
                                             d.dilates, d.pad_l, d.pad_r);
  dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad(), dnnl_cpu_engine(),
                                                     dnnl_conv_forward_hint(d, false, bf16));
  auto plan = std::make_shared<Bf16GradPlan>();
  plan->prim = dnnl::convolution_backward_data(pd);
  plan->a_plain = memory::desc(d.dst, io, dnnl_plain_tag(rank));
  plan->a_md = pd.diff_dst_desc();
  plan->b_plain = memory::desc(d.weights, io, dnnl_plain_weight_tag(rank, d.grouped));
  plan->b_md = pd.weights_desc();
  plan->out_plain = memory::desc(d.src, io, dnnl_plain_tag(rank));
  plan->out_md = pd.diff_src_desc();
  plan->scratch_md = pd.scratchpad_desc();
  plan->a_arg = DNNL_ARG_DIFF_DST;
  plan->b_arg = DNNL_ARG_WEIGHTS;
  plan->out_arg = DNNL_ARG_DIFF_SRC;
  add_reorders(*plan);
  return plan;
}

// dW (and dB) from X (a) and dY (b): bfloat16 operands, dW and dB in the graph's type.
std::shared_ptr<Bf16GradPlan> plan_grad_weight(OpContext& ctx, const ConvGradShapes& s, bool with_bias) {
  DnnlConvDims d = dnnl_conv_dims(s.x, s.w, ctx.node().attr_int("group", 1), s.geometry);
  const size_t rank = s.x.size();
  const auto bf16 = memory::data_type::bf16, io = io_type(ctx);
  const auto any = memory::format_tag::any;
  memory::desc src(d.src, bf16, any), dw(d.weights, io, any), dst(d.dst, bf16, any);
  memory::desc db(d.bias, io, memory::format_tag::a);
  const auto algo = dnnl::algorithm::convolution_direct;
  auto desc = with_bias ? dnnl::convolution_backward_weights::desc(algo, src, dw, db, dst, d.strides, d.dilates, d.pad_l, d.pad_r)
                        : dnnl::convolution_backward_weights::desc(algo, src, dw, dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad(), dnnl_cpu_engine(),
                                                        dnnl_conv_forward_hint(d, with_bias, bf16));
  auto plan = std::make_shared<Bf16GradPlan>();
  plan->prim = dnnl::convolution_backward_weights(pd);
  plan->a_plain = memory::desc(d.src, io, dnnl_plain_tag(rank));
  plan->a_md = pd.src_desc();
  plan->b_plain = memory::desc(d.dst, io, dnnl_plain_tag(rank));
  plan->b_md = pd.diff_dst_desc();
  plan->out_plain = memory::desc(d.weights, io, dnnl_plain_weight_tag(rank, d.grouped));
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

std::shared_ptr<const Bf16GradPlan> find_plan(OpContext& ctx, const ConvGradShapes& s, bool grad_input) {
  const bool with_bias = !grad_input && ctx.output_wanted(1);
  std::vector<int64_t> dims = s.x;
  dims.insert(dims.end(), s.w.begin(), s.w.end());
  dims.insert(dims.end(), s.dy.begin(), s.dy.end());
  std::string sig = dnnl_attribute_signature(ctx.node());
  if (with_bias) sig += ";bias";
  sig += io_type(ctx) == memory::data_type::bf16 ? ";bf16 data" : ";f32 data";
  Bf16GradKey key{std::move(sig), std::move(dims)};
  {
    std::lock_guard<std::mutex> lock(bf16_grad_mutex);
    auto it = bf16_grad_cache.find(key);
    if (it != bf16_grad_cache.end()) return it->second;
  }
  std::shared_ptr<Bf16GradPlan> plan = grad_input ? plan_grad_input(ctx, s) : plan_grad_weight(ctx, s, with_bias);
  std::lock_guard<std::mutex> lock(bf16_grad_mutex);
  if (bf16_grad_cache.size() > 4096) bf16_grad_cache.clear();  // bounded: re-planned after a flush
  bf16_grad_cache[key] = plan;
  return plan;
}

// Per-thread reorder targets and scratchpad, reused by every plan the thread runs.
struct Bf16GradBuffers {
  DnnlBuffer a, b, out, scratch;
};

memory in_primitive_layout(dnnl::stream& stream, const memory::desc& plain, const memory::desc& wanted,
                           const dnnl::reorder& reorder, bool reorders, DnnlBuffer& buffer, const void* bytes) {
  memory user(plain, dnnl_cpu_engine(), const_cast<void*>(bytes));
  if (!reorders) return user;
  memory reordered(wanted, dnnl_cpu_engine(), buffer.at_least(wanted.get_size()));
  reorder.execute(stream, user, reordered);
  return reordered;
}

// Runs `plan` on the node's inputs a = input 0, b = input 1 into `out` (and `bias` when wanted).
void run_plan(OpContext& ctx, const Bf16GradPlan& plan, void* out, void* bias) {
  thread_local Bf16GradBuffers buffers;
  dnnl::stream& stream = dnnl_thread_stream();
  const dnnl::engine& engine = dnnl_cpu_engine();
  memory a = in_primitive_layout(stream, plan.a_plain, plan.a_md, plan.a_reorder, plan.reorder_a, buffers.a, ctx.input(0).bytes());
  memory b = in_primitive_layout(stream, plan.b_plain, plan.b_md, plan.b_reorder, plan.reorder_b, buffers.b, ctx.input(1).bytes());
  memory out_user(plan.out_plain, engine, out);
  memory result = plan.reorder_out ? memory(plan.out_md, engine, buffers.out.at_least(plan.out_md.get_size())) : out_user;
  std::unordered_map<int, memory> args = {{plan.a_arg, a}, {plan.b_arg, b}, {plan.out_arg, result},
                                          {DNNL_ARG_SCRATCHPAD,
                                           memory(plan.scratch_md, engine, buffers.scratch.at_least(plan.scratch_md.get_size()))}};
  if (plan.with_bias) args[DNNL_ARG_DIFF_BIAS] = memory(plan.bias_md, engine, bias);
  plan.prim.execute(stream, args);
  if (plan.reorder_out) plan.out_reorder.execute(stream, result, out_user);
  stream.wait();
}

void conv_grad_input_bf16(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, true);
  set_dnnl_threads(ctx.threads().size());
  std::shared_ptr<const Bf16GradPlan> plan = find_plan(ctx, s, true);
  ir::Tensor& dx = ctx.allocate_output(0, ctx.input(0).dtype, s.x);
  run_plan(ctx, *plan, mutable_bytes(dx), nullptr);
}

void conv_grad_weight_bf16(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, false);
  set_dnnl_threads(ctx.threads().size());
  std::shared_ptr<const Bf16GradPlan> plan = find_plan(ctx, s, false);
  ir::Tensor& dw = ctx.allocate_output(0, ctx.input(1).dtype, s.w);
  void* db = plan->with_bias ? mutable_bytes(ctx.allocate_output(1, ctx.input(1).dtype, {s.w[0]})) : nullptr;
  run_plan(ctx, *plan, mutable_bytes(dw), db);
}

// Both inputs bfloat16, or both float32 on a node with the bf16 compute hint; bf16 units needed.
bool bf16_grad_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.size() < 2 || types[0] != types[1]) return false;
  if (types[0] == ir::DataType::bfloat16) return cpu_has_bf16_units();
  return types[0] == ir::DataType::float32 && bf16_compute_hinted(node);
}

}  // namespace

void add_conv_grad_dnnl_bf16_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ConvGradInput, KernelKind::fast, conv_grad_input_bf16, bf16_grad_supports});
  table.push_back({ir::OpKind::ConvGradWeight, KernelKind::fast, conv_grad_weight_bf16, bf16_grad_supports});
}

}  // namespace mhub::engine::cpu
