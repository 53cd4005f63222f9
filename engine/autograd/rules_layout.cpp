// Backward rules of the layout family: Transpose, Split, Concat, Slice (any steps), Pad
// (constant/reflect/edge/wrap, negative pads, axes input), Tile.
#include "common/error.h"
#include "engine/autograd/rule_support.h"
#include "engine/ops/slice_axis.h"

namespace mhub::autograd {
namespace {

std::string zeros_like(Builder& b, const std::vector<int64_t>& dims) { return b.op("ConstantOfShape", {b.const_i64(dims)}); }

// Which input position output position `o` of a padded axis reads (-1: the constant).
int64_t pad_source(const std::string& mode, int64_t o, int64_t before, int64_t extent) {
  int64_t i = o - before;
  if (mode == "constant") return i >= 0 && i < extent ? i : -1;
  if (mode == "edge") return std::clamp<int64_t>(i, 0, extent - 1);
  if (mode == "wrap") return ((i % extent) + extent) % extent;
  if (extent == 1) return 0;  // reflect
  while (i < 0 || i >= extent) i = i < 0 ? -i : 2 * (extent - 1) - i;
  return i;
}

void transpose_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  auto perm = n.attr_ints("perm");
  const size_t rank = b.shape(n.inputs[0]).size();
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  std::vector<int64_t> inverse(rank);
  for (size_t i = 0; i < rank; ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  c.input_grads[0] = b.op("Transpose", {c.output_grads[0]}, {ints_attr("perm", inverse)});
}

void split_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const int64_t axis = engine::ops::wrap_axis(n.attr_int("axis", 0), b.shape(n.inputs[0]).size());
  std::vector<std::string> pieces;
  for (size_t i = 0; i < n.outputs.size(); ++i)
    pieces.push_back(!c.output_grads[i].empty() ? c.output_grads[i] : b.op("ConstantOfShape", {b.const_i64(b.shape(n.outputs[i]))}));
  c.input_grads[0] = b.op("Concat", pieces, {int_attr("axis", axis)});
}

void concat_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& ys = b.shape(n.outputs[0]);
  const int64_t axis = engine::ops::wrap_axis(n.attr_int("axis", 0), ys.size());
  c.input_grads.assign(n.inputs.size(), "");
  int64_t offset = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const int64_t size = b.shape(n.inputs[i])[static_cast<size_t>(axis)];
    if (c.wants[i])
      c.input_grads[i] = b.op("Slice", {c.output_grads[0], b.const_i64({offset}), b.const_i64({offset + size}), b.const_i64({axis})});
    offset += size;
  }
}

// Slice whose starts are computed at run time (exports slice a fused QKV projection at
// offsets computed from Shape): unit steps only, axes constant. Each axis's first element read
// is computed by graph ops with slice_axis's clamping for step 1 (a negative start counts from
// the end, then clamps to [0, dim]); the static output extent gives the padding after it.
std::string slice_grad_runtime_starts(Builder& b, const ir::Node& n, const std::string& dy) {
  const auto& xs = b.shape(n.inputs[0]);
  const auto& ys = b.shape(n.outputs[0]);
  const size_t rank = xs.size();
  const auto& count_dims = b.shape(n.inputs[1]);
  if (count_dims.size() != 1) no_rule(n, "a computed starts input that is not 1-D");
  const int64_t count = count_dims[0];
  std::vector<int64_t> axes;
  if (n.inputs.size() > 3 && !n.inputs[3].empty()) axes = constant_int_values(b, n.inputs[3], n);
  else
    for (int64_t i = 0; i < count; ++i) axes.push_back(i);
  if (static_cast<int64_t>(axes.size()) != count) no_rule(n, "starts and axes of different lengths");
  if (n.inputs.size() > 4 && !n.inputs[4].empty())
    for (auto step : constant_int_values(b, n.inputs[4], n))
      if (step != 1) no_rule(n, "a computed starts input with a step other than 1");
  const std::string starts = b.op("Cast", {n.inputs[1]}, {int_attr("to", static_cast<int64_t>(ir::DataType::int64))});
  std::vector<std::string> before(rank), after(rank);
  for (int64_t k = 0; k < count; ++k) {
    const auto axis = static_cast<size_t>(engine::ops::wrap_axis(axes[static_cast<size_t>(k)], rank));
    const int64_t dim = xs[axis];
    const std::string s = b.op("Slice", {starts, b.const_i64({k}), b.const_i64({k + 1})});
    const std::string wrapped = b.op("Where", {b.op("Less", {s, b.const_i64({0})}), b.op("Add", {s, b.const_i64({dim})}), s});
    before[axis] = b.op("Min", {b.op("Max", {wrapped, b.const_i64({0})}), b.const_i64({dim})});
    after[axis] = b.op("Sub", {b.const_i64({dim - ys[axis]}), before[axis]});
  }
  std::vector<std::string> pads;
  for (size_t i = 0; i < 2 * rank; ++i) {
    const std::string& piece = i < rank ? before[i] : after[i - rank];
    pads.push_back(piece.empty() ? b.const_i64({0}) : piece);
  }
  return b.op("Pad", {dy, b.op("Concat", pads, {int_attr("axis", 0)})});
}

// Slice: unit-step axes get dy zero-padded back to the input's extent; strided axes get dy
// scattered onto the positions start + j * step (all distinct, so no reduction is needed).
void slice_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(n.inputs[0]);
  const auto& ys = b.shape(n.outputs[0]);
  const size_t rank = xs.size();
  if (!constant_tensor(b, n.inputs[1])) {
    c.input_grads[0] = slice_grad_runtime_starts(b, n, c.output_grads[0]);
    return;
  }
  const auto starts = constant_int_values(b, n.inputs[1], n);
  std::vector<int64_t> axes, steps(starts.size(), 1);
  if (n.inputs.size() > 3 && !n.inputs[3].empty()) axes = constant_int_values(b, n.inputs[3], n);
  else
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (n.inputs.size() > 4 && !n.inputs[4].empty()) steps = constant_int_values(b, n.inputs[4], n);
  std::vector<int64_t> pads(2 * rank, 0);
  struct Strided {
    size_t axis;
    int64_t start, step;
  };
  std::vector<Strided> strided;
  for (size_t k = 0; k < axes.size(); ++k) {
    const auto axis = static_cast<size_t>(engine::ops::wrap_axis(axes[k], rank));
    const int64_t dim = xs[axis], step = steps[k];
    // the first element read, which does not depend on the end
    const int64_t start = engine::ops::slice_axis(dim, starts[k], dim, step).begin;
    if (step == 1) {
      pads[axis] = start;
      pads[rank + axis] = dim - start - ys[axis];
    } else {
      strided.push_back({axis, start, step});
    }
  }
  std::vector<int64_t> current = ys;
  std::string g = c.output_grads[0];
  if (std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; })) {
    g = b.op("Pad", {g, b.const_i64(pads)});
    for (size_t i = 0; i < rank; ++i) current[i] += pads[i] + pads[rank + i];
  }
  for (const auto& s : strided) {
    std::vector<int64_t> positions, index_dims(rank, 1);
    for (int64_t j = 0; j < current[s.axis]; ++j) positions.push_back(s.start + j * s.step);
    index_dims[s.axis] = current[s.axis];
    const std::string spread = b.op("Expand", {b.reshape(b.const_i64(positions), index_dims), b.const_i64(current)});
    std::vector<int64_t> widened = current;
    widened[s.axis] = xs[s.axis];
    g = b.op("ScatterElements", {zeros_like(b, widened), spread, g}, {int_attr("axis", static_cast<int64_t>(s.axis))});
    current = widened;
  }
  c.input_grads[0] = g;
}

void pad_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const std::string mode = n.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") no_rule(n, "mode '" + mode + "'");
  const auto& xs = b.shape(n.inputs[0]);
  const size_t rank = xs.size();
  const auto given = constant_int_values(b, n.inputs[1], n);
  std::vector<int64_t> axes;
  if (n.inputs.size() > 3 && !n.inputs[3].empty())
    for (auto a : constant_int_values(b, n.inputs[3], n)) axes.push_back(engine::ops::wrap_axis(a, rank));
  else
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  std::vector<int64_t> before(rank, 0), after(rank, 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    before[static_cast<size_t>(axes[k])] = given[k];
    after[static_cast<size_t>(axes[k])] = given[axes.size() + k];
  }
  const bool plain = mode == "constant" && std::all_of(before.begin(), before.end(), [](int64_t p) { return p >= 0; }) &&
                     std::all_of(after.begin(), after.end(), [](int64_t p) { return p >= 0; });
  if (plain) {  // the unpadded window of dy
    std::vector<int64_t> starts, ends, all;
    for (size_t i = 0; i < rank; ++i) {
      starts.push_back(before[i]);
      ends.push_back(before[i] + xs[i]);
      all.push_back(static_cast<int64_t>(i));
    }
    c.input_grads[0] = b.op("Slice", {c.output_grads[0], b.const_i64(starts), b.const_i64(ends), b.const_i64(all)});
    return;
  }
  std::string g = c.output_grads[0];
  for (size_t axis = 0; axis < rank; ++axis) {
    if (before[axis] == 0 && after[axis] == 0) continue;
    const int64_t extent = xs[axis], padded = extent + before[axis] + after[axis];
    std::vector<float> matrix(static_cast<size_t>(padded * extent), 0.0f);
    for (int64_t o = 0; o < padded; ++o)
      if (const int64_t i = pad_source(mode, o, before[axis], extent); i >= 0) matrix[static_cast<size_t>(o * extent + i)] = 1.0f;
    std::vector<int64_t> to_last, from_last(rank);  // move `axis` last, multiply, move it back
    for (size_t i = 0; i < rank; ++i)
      if (i != axis) to_last.push_back(static_cast<int64_t>(i));
    to_last.push_back(static_cast<int64_t>(axis));
    for (size_t i = 0; i < rank; ++i) from_last[static_cast<size_t>(to_last[i])] = static_cast<int64_t>(i);
    const std::string moved = b.op("Transpose", {g}, {ints_attr("perm", to_last)});
    const std::string summed = b.op("MatMul", {moved, const_f32_tensor(b, {padded, extent}, matrix)});
    g = b.op("Transpose", {summed}, {ints_attr("perm", from_last)});
  }
  c.input_grads[0] = g;
}

// y = x repeated r_i times along each axis: dy viewed as [r0, x0, r1, x1, ...] summed over the
// repeat axes.
void tile_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(n.inputs[0]);
  const auto repeats = constant_int_values(b, n.inputs[1], n);
  std::vector<int64_t> split, repeat_axes;
  for (size_t i = 0; i < xs.size(); ++i) {
    repeat_axes.push_back(static_cast<int64_t>(split.size()));
    split.push_back(repeats[i]);
    split.push_back(xs[i]);
  }
  c.input_grads[0] = b.reduce_sum(b.reshape(c.output_grads[0], split), repeat_axes, false);
}

}  // namespace

void add_layout_rules(std::map<std::string, Rule>& rules) {
  rules["Transpose"] = transpose_rule;
  rules["Split"] = split_rule;
  rules["Concat"] = concat_rule;
  rules["Slice"] = slice_rule;
  rules["Pad"] = pad_rule;
  rules["Tile"] = tile_rule;
}

}  // namespace mhub::autograd
