// If, Loop, Scan: run their body graphs through ctx.scope().run_subgraph, which resolves names
// the bodies read from enclosing scopes. Loop-carried values may be tensors, sequences or
// optionals; Value copies share storage, so carrying costs no copies.
#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"
#include "engine/ops/shape.h"
#include "engine/cpu/tensor_pieces.h"

namespace mhub::engine::cpu {

namespace {

const ir::Graph& graph_attr(OpContext& ctx, const char* name) {
  const ir::Attribute* a = ctx.node().attribute(name);
  if (!a || !a->g)
    throw_error(ErrorCategory::format, ctx.describe() + ": graph attribute " + name + " is missing");
  return *a->g;
}

bool truth(const ir::Tensor& t) { return t.numel() > 0 && load_int64(t, 0) != 0; }

void if_op(OpContext& ctx) {
  const ir::Graph& branch = graph_attr(ctx, truth(ctx.input(0)) ? "then_branch" : "else_branch");
  std::vector<Value> outs = ctx.scope().run_subgraph(branch, {});
  if (outs.size() < ctx.output_count())
    throw_error(ErrorCategory::format, ctx.describe() + ": the branch gives fewer outputs than the node has");
  for (size_t i = 0; i < ctx.output_count(); ++i) ctx.set_output(i, std::move(outs[i]));
}

// Stacks per-iteration scan outputs along `axis` (reversed order first when `reverse`); with no
// iterations gives an empty tensor typed from the body's declared output.
Value stack_scan_output(OpContext& ctx, std::vector<ir::Tensor> parts, const ir::ValueInfo& declared,
                        int64_t axis, bool reverse) {
  if (parts.empty()) {
    ir::DataType dtype = declared.type ? declared.type->dtype() : ir::DataType::float32;
    std::vector<int64_t> dims{0};
    if (declared.type && declared.type->shape)
      for (const auto& d : declared.type->shape->dims) dims.push_back(d.kind == ir::Dim::Kind::value ? d.value : 0);
    return Value::of(ctx.scope().allocate(dtype, dims));
  }
  if (reverse) std::reverse(parts.begin(), parts.end());
  axis = ops::normalize_axis(ctx.node(), axis, static_cast<int64_t>(parts[0].dims.size()) + 1);
  return Value::of(concat_axis(parts, static_cast<size_t>(axis), true, ctx.scope(), ctx.describe()));
}

void loop_op(OpContext& ctx) {
  const ir::Graph& body = graph_attr(ctx, "body");
  bool has_limit = ctx.has_input(0);
  int64_t limit = has_limit ? load_int64(ctx.input(0), 0) : 0;
  bool cond = ctx.has_input(1) ? truth(ctx.input(1)) : true;
  size_t carried_count = ctx.input_count() > 2 ? ctx.input_count() - 2 : 0;
  std::vector<Value> carried;
  for (size_t i = 0; i < carried_count; ++i) carried.push_back(ctx.has_input(i + 2) ? ctx.value(i + 2) : Value::none());
  size_t scan_count = ctx.output_count() > carried_count ? ctx.output_count() - carried_count : 0;
  std::vector<std::vector<ir::Tensor>> scans(scan_count);
  for (int64_t iteration = 0; (!has_limit || iteration < limit) && cond; ++iteration) {
    std::vector<Value> args;
    args.push_back(Value::of(ir::Tensor::from_bytes(ir::DataType::int64, {}, &iteration, 8)));
    uint8_t c = cond ? 1 : 0;
    args.push_back(Value::of(ir::Tensor::from_bytes(ir::DataType::boolean, {}, &c, 1)));
    for (const auto& v : carried) args.push_back(v);
    std::vector<Value> outs = ctx.scope().run_subgraph(body, std::move(args));
    if (outs.size() != 1 + carried_count + scan_count)
      throw_error(ErrorCategory::format, ctx.describe() + ": the body's output count does not match the node");
    cond = outs[0].is_tensor() ? truth(outs[0].tensor) : true;
    for (size_t i = 0; i < carried_count; ++i) carried[i] = std::move(outs[1 + i]);
    for (size_t k = 0; k < scan_count; ++k) scans[k].push_back(outs[1 + carried_count + k].tensor);
  }
  for (size_t i = 0; i < carried_count; ++i) ctx.set_output(i, std::move(carried[i]));
  for (size_t k = 0; k < scan_count; ++k)
    ctx.set_output(carried_count + k,
                   stack_scan_output(ctx, std::move(scans[k]), body.outputs.at(1 + carried_count + k), 0, false));
}

std::vector<int64_t> ints_or(OpContext& ctx, const char* name, size_t count, int64_t fallback) {
  std::vector<int64_t> v = ctx.node().attr_ints(name);
  if (v.empty()) v.assign(count, fallback);
  if (v.size() != count)
    throw_error(ErrorCategory::format, ctx.describe() + ": attribute " + name + " must have one entry per scan value");
  return v;
}

// One Scan run (opset 9 semantics) over `states` and `scan_inputs`; returns final states then
// scan outputs.
std::vector<Value> scan_once(OpContext& ctx, const ir::Graph& body, std::vector<Value> states,
                             const std::vector<ir::Tensor>& scan_inputs, const std::vector<int64_t>& in_axes,
                             const std::vector<int64_t>& in_dirs, const std::vector<int64_t>& out_axes,
                             const std::vector<int64_t>& out_dirs) {
  size_t state_count = states.size();
  int64_t length = -1;
  std::vector<size_t> axes;
  for (size_t k = 0; k < scan_inputs.size(); ++k) {
    int64_t rank = static_cast<int64_t>(scan_inputs[k].dims.size());
    const int64_t a = ops::normalize_axis(ctx.node(), in_axes[k], rank);
    axes.push_back(static_cast<size_t>(a));
    if (length >= 0 && scan_inputs[k].dims[a] != length)
      throw_error(ErrorCategory::format, ctx.describe() + ": scan inputs differ in sequence length");
    length = scan_inputs[k].dims[a];
  }
  if (length < 0) length = 0;
  size_t scan_out_count = body.outputs.size() - state_count;
  std::vector<std::vector<ir::Tensor>> scans(scan_out_count);
  for (int64_t t = 0; t < length; ++t) {
    std::vector<Value> args = states;
    for (size_t k = 0; k < scan_inputs.size(); ++k) {
      int64_t index = in_dirs[k] ? length - 1 - t : t;
      args.push_back(Value::of(take_axis(scan_inputs[k], axes[k], index, ctx.scope())));
    }
    std::vector<Value> outs = ctx.scope().run_subgraph(body, std::move(args));
    for (size_t i = 0; i < state_count; ++i) states[i] = std::move(outs[i]);
    for (size_t k = 0; k < scan_out_count; ++k) scans[k].push_back(outs[state_count + k].tensor);
  }
  std::vector<Value> result = std::move(states);
  for (size_t k = 0; k < scan_out_count; ++k)
    result.push_back(stack_scan_output(ctx, std::move(scans[k]), body.outputs[state_count + k], out_axes[k], out_dirs[k] != 0));
  return result;
}

void scan_op(OpContext& ctx) {
  const ir::Graph& body = graph_attr(ctx, "body");
  size_t scan_in = static_cast<size_t>(ctx.node().attr_int("num_scan_inputs", 0));
  bool batched = ctx.opset() < 9;  // Scan-8: optional sequence_lens first, batch axis 0 everywhere
  size_t first = batched ? 1 : 0;
  if (ctx.input_count() < first + scan_in)
    throw_error(ErrorCategory::format, ctx.describe() + ": fewer inputs than num_scan_inputs");
  size_t state_count = ctx.input_count() - first - scan_in;
  size_t scan_out = body.outputs.size() - state_count;
  auto in_axes = ints_or(ctx, "scan_input_axes", scan_in, 0);
  auto in_dirs = batched ? ints_or(ctx, "directions", scan_in, 0) : ints_or(ctx, "scan_input_directions", scan_in, 0);
  auto out_axes = ints_or(ctx, "scan_output_axes", scan_out, 0);
  auto out_dirs = ints_or(ctx, "scan_output_directions", scan_out, 0);
  if (!batched) {
    std::vector<Value> states;
    std::vector<ir::Tensor> scans;
    for (size_t i = 0; i < state_count; ++i) states.push_back(ctx.value(i));
    for (size_t k = 0; k < scan_in; ++k) scans.push_back(ctx.input(state_count + k));
    auto outs = scan_once(ctx, body, std::move(states), scans, in_axes, in_dirs, out_axes, out_dirs);
    for (size_t i = 0; i < outs.size() && i < ctx.output_count(); ++i) ctx.set_output(i, std::move(outs[i]));
    return;
  }
  if (ctx.has_input(0)) {
    const ir::Tensor& lens = ctx.input(0);
    int64_t full = ctx.input(first + state_count).dims.at(1);
    for (uint64_t i = 0; i < lens.numel(); ++i)
      if (load_int64(lens, i) != full)
        throw_error(ErrorCategory::unsupported, ctx.describe() + ": Scan-8 with per-batch sequence_lens shorter than the input is not supported");
  }
  int64_t batch = ctx.input(first).dims.at(0);
  std::vector<std::vector<ir::Tensor>> per_output(state_count + scan_out);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Value> states;
    std::vector<ir::Tensor> scans;
    for (size_t i = 0; i < state_count; ++i) states.push_back(Value::of(take_axis(ctx.input(first + i), 0, b, ctx.scope())));
    for (size_t k = 0; k < scan_in; ++k) scans.push_back(take_axis(ctx.input(first + state_count + k), 0, b, ctx.scope()));
    auto outs = scan_once(ctx, body, std::move(states), scans, in_axes, in_dirs, out_axes, out_dirs);
    for (size_t i = 0; i < outs.size(); ++i) per_output[i].push_back(outs[i].tensor);
  }
  for (size_t i = 0; i < per_output.size() && i < ctx.output_count(); ++i)
    ctx.set_output(i, Value::of(concat_axis(per_output[i], 0, true, ctx.scope(), ctx.describe())));
}

}  // namespace

void add_control_flow_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  table.push_back({O::If, KernelKind::reference, if_op, nullptr});
  table.push_back({O::Loop, KernelKind::reference, loop_op, nullptr});
  table.push_back({O::Scan, KernelKind::reference, scan_op, nullptr});
}

}  // namespace mhub::engine::cpu
