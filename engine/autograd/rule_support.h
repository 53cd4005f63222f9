// Small helpers shared by the backward-rule files: axis normalisation, constant inputs read at
// build time, float constants of any shape, the axes a Reduce* node reduces over.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/autograd/rules.h"
#include "engine/ops/shape.h"

namespace mhub::autograd {


[[noreturn]] inline void no_rule(const ir::Node& node, const std::string& what) {
  throw Error(ErrorCategory::unsupported, "training: " + node.op_type + " node '" + node.name + "': " + what +
                                              " has no backward rule yet; freeze the layers before it with --freeze");
}

// The tensor of an initializer or a Constant node's `value`; nullptr when `name` is computed.
inline const ir::Tensor* constant_tensor(Builder& b, const std::string& name) {
  if (const ir::Tensor* t = b.graph().initializer(name)) return t;
  for (const auto& n : b.graph().nodes)
    if (n.op_type == "Constant" && !n.outputs.empty() && n.outputs[0] == name)
      if (const ir::Attribute* value = n.attribute("value"); value && value->t) return value->t.get();
  return nullptr;
}

// Values of a constant int64/int32 input; throws mhub::Error (unsupported) when it is computed.
inline std::vector<int64_t> constant_int_values(Builder& b, const std::string& name, const ir::Node& user) {
  const ir::Tensor* t = constant_tensor(b, name);
  if (t && t->dtype == ir::DataType::int64) return std::vector<int64_t>(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  if (t && t->dtype == ir::DataType::int32) return std::vector<int64_t>(t->data<int32_t>(), t->data<int32_t>() + t->numel());
  no_rule(user, "a computed (non-constant) '" + name + "' input");
}

// A float32 initializer of shape `dims` holding `values`.
inline std::string const_f32_tensor(Builder& b, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  const std::string name = b.fresh("const");
  b.graph().initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, dims, values.data(), values.size() * 4, name));
  b.set_shape(name, dims);
  return name;
}

// The input's dims with every reduced axis of a Reduce* node set to 1 (what the output is with
// keepdims=1). Axes come from the attribute (before opset 18; ReduceSum: 13) or the constant
// second input; none means all axes, unless noop_with_empty_axes (then `*noop` is set).
inline std::vector<int64_t> reduce_kept_dims(Builder& b, const ir::Node& n, bool* noop = nullptr) {
  const auto& xs = b.shape(n.inputs[0]);
  std::vector<int64_t> axes = n.attr_ints("axes");
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) axes = constant_int_values(b, n.inputs[1], n);
  if (noop) *noop = axes.empty() && n.attr_int("noop_with_empty_axes", 0) != 0;
  std::vector<int64_t> kept = xs;
  if (axes.empty()) kept.assign(xs.size(), 1);
  for (auto a : axes) kept[static_cast<size_t>(engine::ops::wrap_axis(a, xs.size()))] = 1;
  return kept;
}

// The axes reduce_kept_dims set to 1 (size-1 axes included: reducing them changes nothing).
inline std::vector<int64_t> ones_axes(const std::vector<int64_t>& kept) {
  std::vector<int64_t> axes;
  for (size_t i = 0; i < kept.size(); ++i)
    if (kept[i] == 1) axes.push_back(static_cast<int64_t>(i));
  return axes;
}

// Gradient of y = max (or min) of x over `axes`, with y and dy given in kept-dims form: dy goes
// to the elements equal to y, shared equally among ties (as torch.amax / amin). In
// rules_reduce.cpp.
std::string extremum_grad(Builder& b, const std::string& x, const std::string& y_kept, const std::string& dy_kept,
                          const std::vector<int64_t>& axes);

}  // namespace mhub::autograd
