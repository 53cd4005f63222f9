#include "engine/autograd/training_forward.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "common/error.h"
#include "engine/ir/ops.h"

namespace mhub::autograd {
namespace {

void rename_last_output(Builder& b, const std::string& name) { b.graph().nodes.back().outputs[0] = name; }

// Training-mode BatchNormalization as primitives (see rules_nn.cpp for its backward), plus
// torch-style running statistics (unbiased batch variance). `relu`: the Relu reading only this
// node's output, fused into BatchNormTraining (whose output takes the Relu's name) or nullptr.
ForwardStep lower_batchnorm(Builder& b, const ir::Node& n, std::vector<std::pair<std::string, std::string>>& running, bool sync,
                            const ir::Node* relu) {
  const auto& xs = b.shape(n.inputs[0]);
  if (xs.size() < 2) throw Error(ErrorCategory::unsupported, "training: BatchNormalization '" + n.name + "' on a rank < 2 input");
  std::vector<int64_t> axes = {0}, bshape = {1, xs[1]};
  int64_t reduced = xs[0];
  for (size_t i = 2; i < xs.size(); ++i) axes.push_back(static_cast<int64_t>(i)), bshape.push_back(1), reduced *= xs[i];
  const float eps = n.attr_float("epsilon", 1e-5f), momentum = n.attr_float("momentum", 0.9f);
  const bool has_running = n.inputs.size() >= 5 && b.graph().initializer(n.inputs[3]) && b.graph().initializer(n.inputs[4]);
  const float unbiased = reduced > 1 ? static_cast<float>(reduced) / static_cast<float>(reduced - 1) : 1.0f;
  if (sync && !b.internal_ops())
    throw Error(ErrorCategory::unsupported, "training: synchronised BatchNormalization ('" + n.name + "') needs mhub's internal training ops");
  if (b.internal_ops()) {
    // One fused op; its batch mean and (biased) variance feed the running statistics and
    // BatchNormGrad. Synchronised, it normalises with this rank's statistics all-reduced, and
    // its unbiased variance output counts the elements of every rank.
    std::vector<std::string> inputs = {n.inputs[0], n.inputs[1], n.inputs[2]};
    if (sync) inputs.push_back(b.internal_node("AllReduce", {b.internal_node("BatchNormStats", {n.inputs[0]}, {}, {true})[0]}, {}, {true})[0]);
    std::vector<ir::Attribute> attributes = {float_attr("epsilon", eps)};
    if (relu) attributes.push_back(int_attr("relu", 1));
    const auto outs = b.internal_node("BatchNormTraining", inputs, attributes, {true, true, true, sync && has_running});
    rename_last_output(b, relu ? relu->outputs[0] : n.outputs[0]);
    if (has_running) {
      const std::string keep = b.const_f32(momentum);
      running.emplace_back(n.inputs[3], b.op("Add", {b.op("Mul", {n.inputs[3], keep}), b.op("Mul", {outs[1], b.const_f32(1 - momentum)})}));
      const std::string new_var = sync ? b.op("Mul", {outs[3], b.const_f32(1 - momentum)})
                                       : b.op("Mul", {outs[2], b.const_f32((1 - momentum) * unbiased)});
      running.emplace_back(n.inputs[4], b.op("Add", {b.op("Mul", {n.inputs[4], keep}), new_var}));
    }
    ForwardStep step{n, {{"mean", outs[1]}, {"var", outs[2]}}};
    if (sync) step.saved["stats_all"] = inputs[3];
    step.node.outputs.resize(1);
    if (relu) {
      // The rule sees one node whose output is the Relu's: dY arrives for it, and BatchNormGrad
      // masks it by that output as ReluGrad would.
      step.node.outputs[0] = relu->outputs[0];
      step.saved["relu_output"] = relu->outputs[0];
    }
    return step;
  }
  const std::string mean = b.reduce_mean(n.inputs[0], axes, true);
  const std::string centred = b.op("Sub", {n.inputs[0], mean});
  const std::string var = b.reduce_mean(b.op("Mul", {centred, centred}), axes, true);
  const std::string std_dev = b.op("Sqrt", {b.op("Add", {var, b.const_f32(eps)})});
  const std::string xhat = b.op("Div", {centred, std_dev});
  const std::string gamma = b.reshape(n.inputs[1], bshape), beta = b.reshape(n.inputs[2], bshape);
  b.op("Add", {b.op("Mul", {xhat, gamma}), beta});
  rename_last_output(b, n.outputs[0]);
  b.set_shape(xhat, xs);
  if (has_running) {
    const std::string keep = b.const_f32(momentum);
    const std::string new_mean = b.op("Add", {b.op("Mul", {n.inputs[3], keep}),
                                              b.op("Mul", {b.reshape(mean, {xs[1]}), b.const_f32(1 - momentum)})});
    const std::string new_var = b.op("Add", {b.op("Mul", {n.inputs[4], keep}),
                                             b.op("Mul", {b.reshape(var, {xs[1]}), b.const_f32((1 - momentum) * unbiased)})});
    running.emplace_back(n.inputs[3], new_mean);
    running.emplace_back(n.inputs[4], new_var);
  }
  ForwardStep step{n, {{"xhat", xhat}, {"std", std_dev}, {"gamma_b", gamma}}};
  step.node.outputs.resize(1);
  return step;
}

// A constant's tensor: an initializer or a Constant node's value.
const ir::Tensor* find_constant(ir::Graph& g, const std::string& name) {
  if (const ir::Tensor* t = g.initializer(name)) return t;
  for (const auto& n : g.nodes)
    if (n.op == ir::OpKind::Constant && !n.outputs.empty() && n.outputs[0] == name)
      if (const ir::Attribute* value = n.attribute("value"); value && value->t) return value->t.get();
  return nullptr;
}

// Dropout in training mode (opset >= 12 reads ratio and training_mode from constant inputs).
ForwardStep lower_dropout(Builder& b, const ir::Node& n, std::vector<DropoutMask>& masks) {
  ir::Graph& g = b.graph();
  float ratio = n.attr_float("ratio", 0.5f);
  bool training = false;
  if (b.opset() >= 12 && n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const ir::Tensor* r = find_constant(g, n.inputs[1]);
    if (!r || r->dtype != ir::DataType::float32)
      throw Error(ErrorCategory::unsupported, "training: Dropout '" + n.name + "' needs a constant float ratio");
    ratio = r->data<float>()[0];
  }
  if (b.opset() >= 12 && n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const ir::Tensor* t = find_constant(g, n.inputs[2]);
    if (!t || t->dtype != ir::DataType::boolean)
      throw Error(ErrorCategory::unsupported, "training: Dropout '" + n.name + "' needs a constant training_mode");
    training = t->bytes()[0] != 0;
  }
  if (training && ratio > 0) {
    DropoutMask mask{"dropout_mask/" + n.outputs[0], b.shape(n.inputs[0]), ratio};
    g.inputs.push_back(float_value_info(mask.input, mask.dims));
    b.op("Mul", {n.inputs[0], mask.input});
    masks.push_back(mask);
  } else {
    b.op("Identity", {n.inputs[0]});
  }
  rename_last_output(b, n.outputs[0]);
  return ForwardStep{g.nodes.back(), {}};
}

// For each node, the Relu a training-mode BatchNormTraining may absorb: the only reader of the
// node's output, which is no graph output (internal ops only; standard_ops_only keeps both).
std::vector<const ir::Node*> fusable_relus(const Builder& b, const ir::Graph& forward) {
  std::vector<const ir::Node*> relu_of(forward.nodes.size(), nullptr);
  if (!b.internal_ops()) return relu_of;
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < forward.nodes.size(); ++i)
    for (const auto& in : forward.nodes[i].inputs)
      if (!in.empty()) readers[in].push_back(i);
  for (const auto& out : forward.outputs) readers[out.name].push_back(SIZE_MAX);
  for (size_t i = 0; i < forward.nodes.size(); ++i) {
    const ir::Node& n = forward.nodes[i];
    if (n.op != ir::OpKind::BatchNormalization || n.outputs.empty()) continue;
    const auto it = readers.find(n.outputs[0]);
    if (it == readers.end() || it->second.size() != 1 || it->second[0] == SIZE_MAX) continue;
    const ir::Node& reader = forward.nodes[it->second[0]];
    if (reader.op == ir::OpKind::Relu && reader.domain.empty()) relu_of[i] = &reader;
  }
  return relu_of;
}

}  // namespace

TrainingForward emit_training_forward(Builder& b, const ir::Graph& forward, bool sync_batchnorm) {
  TrainingForward result;
  const std::vector<const ir::Node*> relu_of = fusable_relus(b, forward);
  std::set<const ir::Node*> fused;
  for (size_t index : forward.topological_order()) {
    const ir::Node& n = forward.nodes[index];
    if (fused.count(&n)) continue;  // emitted by its BatchNormalization
    switch (n.op) {
      case ir::OpKind::BatchNormalization: {
        // With internal ops the fused Relu is emitted here (saved "relu_output"), not later.
        const ir::Node* relu = relu_of[index];
        result.steps.push_back(lower_batchnorm(b, n, result.running, sync_batchnorm, relu));
        if (relu && result.steps.back().saved.count("relu_output")) fused.insert(relu);
        continue;
      }
      case ir::OpKind::Dropout:
        result.steps.push_back(lower_dropout(b, n, result.dropout_masks));
        continue;
      default:
        break;
    }
    ForwardStep step{n, {}};
    if (n.op == ir::OpKind::MaxPool && (n.outputs.size() < 2 || n.outputs[1].empty())) {
      step.node.outputs.resize(2);
      step.node.outputs[1] = b.fresh("maxpool_indices");
    }
    b.graph().nodes.push_back(step.node);
    result.steps.push_back(step);
  }
  return result;
}

}  // namespace mhub::autograd
