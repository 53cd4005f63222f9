// Backward rules for the reductions beyond ReduceSum / ReduceMean: ReduceMax, ReduceMin (ties
// share the gradient equally, as torch.amax / amin), ReduceSumSquare, ReduceL1, ReduceL2 (0 where
// the norm is 0, as torch), ReduceLogSum, ReduceLogSumExp, ReduceProd (inputs must be nonzero:
// the rule divides the product by each element).
//
// Every rule works in "kept" form: dy and y reshaped to the input's rank with reduced axes of
// size 1, so plain broadcasting spreads them back over x.
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {

std::string extremum_grad(Builder& b, const std::string& x, const std::string& y_kept, const std::string& dy_kept,
                          const std::vector<int64_t>& axes) {
  const std::string hit = b.op("Cast", {b.op("Equal", {x, y_kept})}, {int_attr("to", static_cast<int64_t>(ir::DataType::float32))});
  const std::string ties = b.reduce_sum(hit, axes, true);
  return b.op("Mul", {hit, b.op("Div", {dy_kept, ties})});
}

namespace {

struct Kept {
  std::string x, y, dy;          // x; y and dy in kept-dims form
  std::vector<int64_t> axes;     // reduced axes
};

// Fills input_grads with "" and returns false when no gradient is wanted or the node is a no-op
// (noop_with_empty_axes with no axes: dx = dy).
bool prepare(Builder& b, RuleCall& c, Kept& k) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return false;
  bool noop = false;
  const auto kept = reduce_kept_dims(b, n, &noop);
  if (noop) {
    c.input_grads[0] = c.output_grads[0];
    return false;
  }
  k.x = n.inputs[0];
  k.y = b.reshape(n.outputs[0], kept);
  k.dy = b.reshape(c.output_grads[0], kept);
  k.axes = ones_axes(kept);
  return true;
}

void reduce_extremum_rule(Builder& b, RuleCall& c) {
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = extremum_grad(b, k.x, k.y, k.dy, k.axes);
}

void reduce_sum_square_rule(Builder& b, RuleCall& c) {  // dy * 2x
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Mul", {k.x, b.const_f32(2)})});
}

void reduce_l1_rule(Builder& b, RuleCall& c) {  // dy * sign(x)
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Sign", {k.x})});
}

void reduce_l2_rule(Builder& b, RuleCall& c) {  // dy * x / y, 0 where y == 0
  Kept k;
  if (!prepare(b, c, k)) return;
  const std::string zero = b.const_f32(0);
  const std::string is_zero = b.op("Equal", {k.y, zero});
  const std::string safe_y = b.op("Where", {is_zero, b.const_f32(1), k.y});
  const std::string g = b.op("Mul", {b.op("Div", {k.dy, safe_y}), k.x});
  c.input_grads[0] = b.op("Where", {is_zero, zero, g});
}

void reduce_log_sum_rule(Builder& b, RuleCall& c) {  // y = log(sum x): dy / sum x = dy / e^y
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Expand", {b.op("Div", {k.dy, b.op("Exp", {k.y})}), b.const_i64(b.shape(k.x))});
}

void reduce_log_sum_exp_rule(Builder& b, RuleCall& c) {  // dy * e^(x - y): the softmax over the axes
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Exp", {b.op("Sub", {k.x, k.y})})});
}

void reduce_prod_rule(Builder& b, RuleCall& c) {  // dy * y / x
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Div", {k.y, k.x})});
}

}  // namespace

void add_reduce_rules(std::map<std::string, Rule>& rules) {
  rules["ReduceMax"] = reduce_extremum_rule;
  rules["ReduceMin"] = reduce_extremum_rule;
  rules["ReduceSumSquare"] = reduce_sum_square_rule;
  rules["ReduceL1"] = reduce_l1_rule;
  rules["ReduceL2"] = reduce_l2_rule;
  rules["ReduceLogSum"] = reduce_log_sum_rule;
  rules["ReduceLogSumExp"] = reduce_log_sum_exp_rule;
  rules["ReduceProd"] = reduce_prod_rule;
}

}  // namespace mhub::autograd
