// Training-graph step 4, differentiation: the backward pass of the training-mode forward
// (training_forward.h), emitted into the builder's graph, last node first.
//
// Contract: `output_grad` is d(loss)/d(`output`) (a value of the graph, shaped like `output`).
// Gradients flow only into values that depend on a name in `trainable` (never back through
// Shape or Size, whose outputs are integers). Each node's rule is looked up by its OpKind
// (rules.h: find_rule); a node on the path to a trainable value without a rule throws
// mhub::Error (unsupported) naming the node and suggesting --freeze. Returns, for every value
// that received a gradient, its contributions (sum_gradient_parts adds them up).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/autograd/builder.h"
#include "engine/autograd/training_forward.h"

namespace mhub::autograd {

using GradientParts = std::map<std::string, std::vector<std::string>>;

GradientParts differentiate(Builder& b, const std::vector<ForwardStep>& steps,
                                                 const std::vector<std::string>& trainable, const std::string& output,
                                                 const std::string& output_grad);

// One value holding the sum of `parts` (the part itself when there is one; a Sum node else).
std::string sum_gradient_parts(Builder& b, const std::vector<std::string>& parts);

}  // namespace mhub::autograd
