// Backward rules for pooling-to-vector, joins and selections, and a few more activations:
// GlobalAveragePool, Concat, Where, Expand, ReduceSum, LogSoftmax, LeakyRelu, Clip. (Slice and
// Pad moved to rules_indexing.cpp.)
#include <algorithm>

#include "common/error.h"
#include "engine/autograd/rule_support.h"
#include "engine/autograd/rules.h"
#include "engine/autograd/training_graph.h"

namespace mhub::autograd {
namespace {

int64_t positive_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

void global_average_pool_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(c.node.inputs[0]);
  int64_t area = 1;
  for (size_t i = 2; i < xs.size(); ++i) area *= xs[i];
  const std::string scaled = b.op("Div", {c.output_grads[0], b.const_f32(static_cast<float>(area))});
  c.input_grads[0] = b.op("Expand", {scaled, b.const_i64(xs)});
}

void concat_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& ys = b.shape(n.outputs[0]);
  const int64_t axis = positive_axis(n.attr_int("axis", 0), ys.size());
  c.input_grads.assign(n.inputs.size(), "");
  int64_t offset = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const int64_t size = b.shape(n.inputs[i])[static_cast<size_t>(axis)];
    if (c.wants[i])
      c.input_grads[i] = b.op("Slice", {c.output_grads[0], b.const_i64({offset}), b.const_i64({offset + size}), b.const_i64({axis})});
    offset += size;
  }
}

void where_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& ys = b.shape(n.outputs[0]);
  const std::string zero = b.const_f32(0);
  c.input_grads.assign(3, "");
  if (c.wants[1]) c.input_grads[1] = sum_to(b, b.op("Where", {n.inputs[0], c.output_grads[0], zero}), ys, b.shape(n.inputs[1]));
  if (c.wants[2]) c.input_grads[2] = sum_to(b, b.op("Where", {n.inputs[0], zero, c.output_grads[0]}), ys, b.shape(n.inputs[2]));
}

void expand_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(c.node.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = sum_to(b, c.output_grads[0], b.shape(c.node.outputs[0]), b.shape(c.node.inputs[0]));
}

void reduce_sum_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(n.inputs[0]);
  std::vector<int64_t> axes;
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const ir::Tensor* given = b.graph().initializer(n.inputs[1]);
    if (!given) throw Error(ErrorCategory::unsupported, "training: ReduceSum '" + n.name + "' with computed axes has no backward rule");
    axes.assign(given->data<int64_t>(), given->data<int64_t>() + given->numel());
  }
  if (axes.empty() && n.attr_int("noop_with_empty_axes", 0)) {
    c.input_grads[0] = c.output_grads[0];
    return;
  }
  std::vector<int64_t> kept = xs;
  if (axes.empty()) kept.assign(xs.size(), 1);
  for (auto a : axes) kept[static_cast<size_t>(positive_axis(a, xs.size()))] = 1;
  c.input_grads[0] = b.op("Expand", {b.reshape(c.output_grads[0], kept), b.const_i64(xs)});
}

void log_softmax_rule(Builder& b, RuleCall& c) {  // dy - softmax * sum(dy)
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  if (b.opset() < 13) throw Error(ErrorCategory::unsupported, "training: LogSoftmax before opset 13 has no backward rule");
  const int64_t axis = positive_axis(n.attr_int("axis", -1), b.shape(n.inputs[0]).size());
  const std::string total = b.reduce_sum(c.output_grads[0], {axis}, true);
  c.input_grads[0] = b.op("Sub", {c.output_grads[0], b.op("Mul", {b.op("Exp", {n.outputs[0]}), total})});
}

void leaky_relu_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const std::string& dy = c.output_grads[0];
  const std::string scaled = b.op("Mul", {dy, b.const_f32(c.node.attr_float("alpha", 0.01f))});
  c.input_grads[0] = b.op("Where", {b.op("Greater", {c.node.inputs[0], b.const_f32(0)}), dy, scaled});
}

// Gradient passes where min <= x <= max (as torch.clamp's backward).
void clip_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  if (b.opset() < 11) throw Error(ErrorCategory::unsupported, "training: Clip before opset 11 has no backward rule");
  const std::string& x = n.inputs[0];
  if (b.internal_ops()) {
    // Constant float bounds (Relu6 and friends): one ClipGrad with the bounds as attributes.
    std::vector<ir::Attribute> bounds;
    bool constant = true;
    for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      const ir::Tensor* t = constant_tensor(b, n.inputs[i]);
      if (!t || t->dtype != ir::DataType::float32 || t->numel() != 1) {
        constant = false;
        break;
      }
      bounds.push_back(float_attr(i == 1 ? "min" : "max", t->data<float>()[0]));
    }
    if (constant) {
      c.input_grads[0] = b.internal_node("ClipGrad", {c.output_grads[0], x}, bounds, {true})[0];
      return;
    }
  }
  std::string inside;
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) inside = b.op("GreaterOrEqual", {x, n.inputs[1]});
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const std::string below = b.op("LessOrEqual", {x, n.inputs[2]});
    inside = inside.empty() ? below : b.op("And", {inside, below});
  }
  c.input_grads[0] = inside.empty() ? c.output_grads[0] : b.op("Where", {inside, c.output_grads[0], b.const_f32(0)});
}

}  // namespace

void add_more_rules(std::map<std::string, Rule>& rules) {
  rules["GlobalAveragePool"] = global_average_pool_rule;
  rules["Concat"] = concat_rule;
  rules["Where"] = where_rule;
  rules["Expand"] = expand_rule;
  rules["ReduceSum"] = reduce_sum_rule;
  rules["LogSoftmax"] = log_softmax_rule;
  rules["LeakyRelu"] = leaky_relu_rule;
  rules["Clip"] = clip_rule;
  // The families added later register here, so the table in training_graph.cpp lists four.
  add_activation_rules(rules);
  add_conv_transpose_rules(rules);
  add_pool_rules(rules);
  add_norm_rules(rules);
  add_indexing_rules(rules);
  add_reduce_rules(rules);
}

std::vector<std::string> rule_names() { return differentiable_ops(); }

}  // namespace mhub::autograd
