// Backward rules of the collective family: AllReduce (engine/ir/internal_ops.def).
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

// Y = the sum over the ranks of X, and every rank's loss depends on every rank's X through Y,
// so the gradient of the ranks' summed losses with respect to this rank's X is the sum over the
// ranks of their dY: an AllReduce of dY (what torch's differentiable all_reduce does). One node
// for every input that needs its gradient; every rank emits the same (the graphs are equal).
void all_reduce_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(c.node.inputs.size(), "");
  std::vector<std::string> upstream;
  std::vector<size_t> targets;
  for (size_t i = 0; i < c.node.inputs.size() && i < c.output_grads.size(); ++i)
    if (c.wants[i] && !c.output_grads[i].empty()) upstream.push_back(c.output_grads[i]), targets.push_back(i);
  if (upstream.empty()) return;
  const auto summed = b.internal_node("AllReduce", upstream, {}, std::vector<bool>(upstream.size(), true));
  for (size_t k = 0; k < targets.size(); ++k) c.input_grads[targets[k]] = summed[k];
}

}  // namespace

void add_collective_rules(std::map<std::string, Rule>& rules) { rules["AllReduce"] = all_reduce_rule; }

}  // namespace mhub::autograd
