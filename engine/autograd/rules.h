// Backward rules: one function per forward op, emitting standard ONNX nodes that compute the
// gradients of the node's inputs from the gradients of its outputs.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "engine/autograd/builder.h"
#include "engine/ir/ops.h"

namespace mhub::autograd {

struct RuleCall {
  const ir::Node& node;
  std::vector<std::string> output_grads;  // per node output; "" where no gradient flows
  std::vector<bool> wants;                // per node input: is its gradient needed?
  std::vector<std::string> input_grads;   // filled by the rule, per node input ("" = none)
  std::map<std::string, std::string> saved;  // values the forward lowering kept for the rule
};

using Rule = void (*)(Builder& b, RuleCall& call);

// The rule of an operator, looked up by kind (rule_table.cpp); nullptr when it has none (custom
// domains and opaque nodes never have one; of the internal ops only AllReduce has one).
Rule find_rule(ir::OpKind op);
// Every op with a rule, sorted (the same list as differentiable_ops()).
std::vector<std::string> rule_names();

// Sums `grad` (shaped like a broadcast result, `grad_shape`) down to `target` dims.
std::string sum_to(Builder& b, const std::string& grad, const std::vector<int64_t>& grad_shape, const std::vector<int64_t>& target);

// The rule table: one row per family (engine/ir/op_families.def) with the function of
// engine/autograd/rules_<family>.cpp that adds its rules (rule_table.cpp). Building the table
// fails when a function adds a rule for an op of another family.
struct FamilyRules {
  ir::OpFamily family;
  void (*add)(std::map<std::string, Rule>& rules);
};
std::span<const FamilyRules> rule_registrations();

void add_activations_rules(std::map<std::string, Rule>& rules);
void add_binary_rules(std::map<std::string, Rule>& rules);
void add_cast_rules(std::map<std::string, Rule>& rules);
void add_collective_rules(std::map<std::string, Rule>& rules);
void add_conv_rules(std::map<std::string, Rule>& rules);
void add_elementwise_rules(std::map<std::string, Rule>& rules);
void add_indexing_rules(std::map<std::string, Rule>& rules);
void add_layout_rules(std::map<std::string, Rule>& rules);
void add_matmul_rules(std::map<std::string, Rule>& rules);
void add_norm_rules(std::map<std::string, Rule>& rules);
void add_pool_rules(std::map<std::string, Rule>& rules);
void add_reduce_rules(std::map<std::string, Rule>& rules);
void add_shape_rules(std::map<std::string, Rule>& rules);
void add_softmax_rules(std::map<std::string, Rule>& rules);

}  // namespace mhub::autograd
