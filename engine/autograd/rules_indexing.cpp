// Backward rules of the indexing family: Gather / GatherElements via ScatterElements(add), so
// repeated indices accumulate.
#include <optional>

#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

std::string as_int64(Builder& b, const std::string& indices) {
  return b.op("Cast", {indices}, {int_attr("to", static_cast<int64_t>(ir::DataType::int64))});
}

// Negative indices count from the end of an axis of `extent` elements.
std::string wrap_negative(Builder& b, const std::string& indices, int64_t extent) {
  const std::string negative = b.op("Less", {indices, b.const_i64({0})});
  return b.op("Where", {negative, b.op("Add", {indices, b.const_i64({extent})}), indices});
}

std::string zeros_like(Builder& b, const std::vector<int64_t>& dims) { return b.op("ConstantOfShape", {b.const_i64(dims)}); }

// The first index when `indices` is a constant run of consecutive ascending positions along an
// axis of `extent` (negative ones counted from the end), e.g. the scalar 0 of `qkv[0]`; nullopt
// for computed, repeated, out-of-order or out-of-range indices.
std::optional<int64_t> constant_run_start(Builder& b, const std::string& indices, int64_t extent) {
  const ir::Tensor* t = constant_tensor(b, indices);
  if (!t || (t->dtype != ir::DataType::int64 && t->dtype != ir::DataType::int32) || t->numel() == 0) return std::nullopt;
  const size_t count = t->numel();
  std::optional<int64_t> start;
  for (size_t i = 0; i < count; ++i) {
    int64_t v = t->dtype == ir::DataType::int64 ? t->data<int64_t>()[i] : t->data<int32_t>()[i];
    if (v < 0) v += extent;
    if (v < 0 || v >= extent) return std::nullopt;
    if (!start) start = v;
    if (v != *start + static_cast<int64_t>(i)) return std::nullopt;
  }
  return start;
}

// y = data[..., indices, ...] along `axis`: with the indices flattened to K entries, dy is
// [pre, K, post]; each slice goes back to its index, repeats adding up. Constant consecutive
// indices (a transformer's q, k, v = qkv[0], qkv[1], qkv[2]) need no scatter: dy padded with
// zeros to data's extent along the axis, one pass.
void gather_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const auto& ds = b.shape(n.inputs[0]);
  const auto& is = b.shape(n.inputs[1]);
  const auto axis = static_cast<size_t>(engine::ops::wrap_axis(n.attr_int("axis", 0), ds.size()));
  int64_t count = 1;
  for (auto d : is) count *= d;
  std::vector<int64_t> flat_dims = ds, index_dims(ds.size(), 1);
  flat_dims[axis] = count;
  index_dims[axis] = count;
  const std::string flat_dy = b.reshape(c.output_grads[0], flat_dims);
  if (std::optional<int64_t> start = constant_run_start(b, n.inputs[1], ds[axis])) {
    std::vector<int64_t> pads(2 * ds.size(), 0);
    pads[axis] = *start;
    pads[ds.size() + axis] = ds[axis] - *start - count;
    c.input_grads[0] = b.op("Pad", {flat_dy, b.const_i64(pads)});
    return;
  }
  const std::string flat_indices = wrap_negative(b, as_int64(b, b.reshape(n.inputs[1], {count})), ds[axis]);
  const std::string spread = b.op("Expand", {b.reshape(flat_indices, index_dims), b.const_i64(flat_dims)});
  c.input_grads[0] = b.op("ScatterElements", {zeros_like(b, ds), spread, flat_dy},
                          {int_attr("axis", static_cast<int64_t>(axis)), string_attr("reduction", "add")});
}

void gather_elements_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const auto& ds = b.shape(n.inputs[0]);
  const auto axis = engine::ops::wrap_axis(n.attr_int("axis", 0), ds.size());
  const std::string indices = wrap_negative(b, as_int64(b, n.inputs[1]), ds[static_cast<size_t>(axis)]);
  c.input_grads[0] = b.op("ScatterElements", {zeros_like(b, ds), indices, c.output_grads[0]},
                          {int_attr("axis", axis), string_attr("reduction", "add")});
}

}  // namespace

void add_indexing_rules(std::map<std::string, Rule>& rules) {
  rules["Gather"] = gather_rule;
  rules["GatherElements"] = gather_elements_rule;
}

}  // namespace mhub::autograd
