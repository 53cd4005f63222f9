// The explicit table of backward rules: one row per op family, each naming the function of
// rules_<family>.cpp that adds the family's rules by op name. The table turns the names into
// OpKind slots once, so looking a rule up is an index.
#include <array>
#include <vector>

#include "common/error.h"
#include "engine/autograd/rules.h"
#include "engine/autograd/training_graph.h"
#include "engine/ir/ops.h"

namespace mhub::autograd {

namespace {

using F = ir::OpFamily;

constexpr std::array kRegistrations = {
    FamilyRules{F::activations, add_activations_rules},
    FamilyRules{F::binary, add_binary_rules},
    FamilyRules{F::cast, add_cast_rules},
    FamilyRules{F::collective, add_collective_rules},
    FamilyRules{F::conv, add_conv_rules},
    FamilyRules{F::elementwise, add_elementwise_rules},
    FamilyRules{F::indexing, add_indexing_rules},
    FamilyRules{F::layout, add_layout_rules},
    FamilyRules{F::matmul, add_matmul_rules},
    FamilyRules{F::norm, add_norm_rules},
    FamilyRules{F::pool, add_pool_rules},
    FamilyRules{F::reduce, add_reduce_rules},
    FamilyRules{F::shape, add_shape_rules},
    FamilyRules{F::softmax, add_softmax_rules},
};

// An ONNX operator's kind, else an internal op's (the names do not overlap), else opaque.
ir::OpKind op_named(const std::string& op_type) {
  const ir::OpKind op = ir::lookup_op("", op_type);
  return op != ir::OpKind::opaque ? op : ir::lookup_op(ir::kInternalDomain, op_type);
}

// Every rule by op name. A name that is no operator could never be found again (a typo in a
// family), and a family may add rules only for its own ops, once.
std::map<std::string, Rule> build_rules() {
  std::map<std::string, Rule> table;
  for (const FamilyRules& row : kRegistrations) {
    std::map<std::string, Rule> added;
    row.add(added);
    for (const auto& [op_type, rule] : added) {
      const ir::OpKind op = op_named(op_type);
      if (op == ir::OpKind::opaque)
        throw Error(ErrorCategory::internal, "rule table: a backward rule is registered for '" + op_type + "', which is no ONNX or internal operator");
      if (ir::op_family(op) != row.family || !table.emplace(op_type, rule).second)
        throw Error(ErrorCategory::internal, "rule table: the rule of " + op_type + " is added by family " +
                                                 std::string(ir::family_name(row.family)) + ", not " +
                                                 std::string(ir::family_name(ir::op_family(op))) + ", or twice");
    }
  }
  return table;
}

const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> table = build_rules();
  return table;
}

std::vector<Rule> rules_by_kind() {
  std::vector<Rule> table(static_cast<size_t>(ir::OpKind::opaque) + 1, nullptr);
  for (const auto& [name, rule] : rules()) table[static_cast<size_t>(op_named(name))] = rule;
  return table;
}

}  // namespace

std::span<const FamilyRules> rule_registrations() { return kRegistrations; }

Rule find_rule(ir::OpKind op) {
  static const std::vector<Rule> table = rules_by_kind();
  return table[static_cast<size_t>(op)];
}

std::vector<std::string> rule_names() {
  std::vector<std::string> names;
  for (const auto& [name, rule] : rules()) names.push_back(name);
  return names;
}

std::vector<std::string> differentiable_ops() { return rule_names(); }

}  // namespace mhub::autograd
