#include "engine/autograd/differentiate.h"

#include <set>

#include "common/error.h"
#include "engine/autograd/rules.h"
#include "engine/ir/ops.h"

namespace mhub::autograd {
namespace {

// The values that depend on a trainable parameter: only they need gradients.
std::set<std::string> values_needing_grads(const std::vector<ForwardStep>& steps, const std::vector<std::string>& trainable) {
  std::set<std::string> needs(trainable.begin(), trainable.end());
  for (const auto& step : steps) {
    // Shapes and sizes are integers: nothing flows back through them.
    if (step.node.op == ir::OpKind::Shape || step.node.op == ir::OpKind::Size) continue;
    for (const auto& in : step.node.inputs)
      if (needs.count(in)) {
        for (const auto& out : step.node.outputs) needs.insert(out);
        break;
      }
  }
  return needs;
}

}  // namespace

std::string sum_gradient_parts(Builder& b, const std::vector<std::string>& parts) {
  if (parts.size() == 1) return parts[0];
  return b.op("Sum", parts);
}

GradientParts differentiate(Builder& b, const std::vector<ForwardStep>& steps,
                                                 const std::vector<std::string>& trainable, const std::string& output,
                                                 const std::string& output_grad) {
  const std::set<std::string> needs = values_needing_grads(steps, trainable);
  GradientParts grads;
  grads[output].push_back(output_grad);
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const ir::Node& n = it->node;
    RuleCall call{n, {}, {}, {}, it->saved};
    bool any = false;
    for (const auto& out : n.outputs) {
      auto found = grads.find(out);
      call.output_grads.push_back(found == grads.end() ? "" : sum_gradient_parts(b, found->second));
      any = any || found != grads.end();
    }
    bool wanted = false;
    for (const auto& in : n.inputs) {
      call.wants.push_back(!in.empty() && needs.count(in) > 0);
      wanted = wanted || call.wants.back();
    }
    if (!any || !wanted) continue;
    if (call.output_grads[0].empty()) continue;
    const Rule rule = find_rule(n.op);
    if (!rule)
      throw Error(ErrorCategory::unsupported, "training: " + n.op_type + " node '" + n.name +
                                                  "' has no backward rule yet (differentiable: see mhub finetune --help); freeze the layers before it with --freeze");
    rule(b, call);
    for (size_t i = 0; i < call.input_grads.size() && i < n.inputs.size(); ++i)
      if (!call.input_grads[i].empty() && call.wants[i]) grads[n.inputs[i]].push_back(call.input_grads[i]);
  }
  return grads;
}

}  // namespace mhub::autograd
