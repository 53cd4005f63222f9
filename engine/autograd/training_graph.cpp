#include "engine/autograd/training_graph.h"

#include <algorithm>
#include <set>

#include "common/error.h"
#include "engine/autograd/rules.h"
#include "engine/core/session.h"
#include "engine/ir/ops.h"
#include "onnx_io/onnx_tools.h"

namespace mhub::autograd {
namespace {

std::map<std::string, std::vector<int64_t>> static_shapes(const ir::Model& model) {
  std::map<std::string, std::vector<int64_t>> shapes;
  auto take = [&](const ir::ValueInfo& info) {
    if (!info.type || info.type->kind != ir::Type::Kind::tensor || !info.type->shape) return;
    std::vector<int64_t> dims;
    for (const auto& d : info.type->shape->dims) {
      if (d.kind != ir::Dim::Kind::value) return;
      dims.push_back(d.value);
    }
    shapes[info.name] = dims;
  };
  for (const auto& v : model.graph.inputs) take(v);
  for (const auto& v : model.graph.outputs) take(v);
  for (const auto& v : model.graph.value_info) take(v);
  for (const auto& t : model.graph.initializers) shapes[t.name] = t.dims;
  return shapes;
}

// Shape inference cannot follow shapes computed at run time (Reshape targets built from
// Shape/Concat chains), so the remaining shapes come from running the forward model once on
// zeros with every node output exposed.
void probe_shapes(const ir::Model& forward, std::map<std::string, std::vector<int64_t>>& shapes) {
  ir::Model probe = forward;
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (const auto& in : probe.graph.inputs) {
    if (probe.graph.initializer(in.name)) continue;
    auto it = shapes.find(in.name);
    if (it == shapes.end() || !in.type)
      throw Error(ErrorCategory::unsupported, "training graph: input '" + in.name + "' has no fixed shape; export the model with fixed input shapes");
    feeds.emplace_back(in.name, engine::Value::of(ir::Tensor::zeros(in.type->dtype(), it->second)));
  }
  probe.graph.outputs.clear();
  for (const auto& n : probe.graph.nodes)
    for (const auto& out : n.outputs)
      if (!out.empty() && !shapes.count(out)) {
        ir::ValueInfo info;
        info.name = out;
        probe.graph.outputs.push_back(info);
      }
  if (probe.graph.outputs.empty()) return;
  engine::SessionOptions options;
  options.threads = 1;
  engine::Session session(probe, options);
  const auto values = session.run(feeds);
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].kind == engine::Value::Kind::tensor) shapes[probe.graph.outputs[i].name] = values[i].tensor.dims;
}

// One forward node as the training graph runs it, with what its backward rule needs.
struct ForwardStep {
  ir::Node node;
  std::map<std::string, std::string> saved;
};

std::string total(Builder& b, const std::vector<std::string>& parts) {
  if (parts.size() == 1) return parts[0];
  return b.op("Sum", parts);
}

void rename_last_output(Builder& b, const std::string& name) { b.graph().nodes.back().outputs[0] = name; }

// Training-mode BatchNormalization as primitives (see rules_nn.cpp for its backward), plus
// torch-style running statistics (unbiased batch variance).
ForwardStep lower_batchnorm(Builder& b, const ir::Node& n, std::vector<std::pair<std::string, std::string>>& running) {
  const auto& xs = b.shape(n.inputs[0]);
  if (xs.size() < 2) throw Error(ErrorCategory::unsupported, "training: BatchNormalization '" + n.name + "' on a rank < 2 input");
  std::vector<int64_t> axes = {0}, bshape = {1, xs[1]};
  int64_t reduced = xs[0];
  for (size_t i = 2; i < xs.size(); ++i) axes.push_back(static_cast<int64_t>(i)), bshape.push_back(1), reduced *= xs[i];
  const float eps = n.attr_float("epsilon", 1e-5f), momentum = n.attr_float("momentum", 0.9f);
  const bool has_running = n.inputs.size() >= 5 && b.graph().initializer(n.inputs[3]) && b.graph().initializer(n.inputs[4]);
  const float unbiased = reduced > 1 ? static_cast<float>(reduced) / static_cast<float>(reduced - 1) : 1.0f;
  if (b.internal_ops()) {
    // One fused op; its batch mean and (biased) variance feed the running statistics and
    // BatchNormGrad.
    const auto outs = b.internal_node("BatchNormTraining", {n.inputs[0], n.inputs[1], n.inputs[2]}, {float_attr("epsilon", eps)},
                                      {true, true, true});
    rename_last_output(b, n.outputs[0]);
    if (has_running) {
      const std::string keep = b.const_f32(momentum);
      running.emplace_back(n.inputs[3], b.op("Add", {b.op("Mul", {n.inputs[3], keep}), b.op("Mul", {outs[1], b.const_f32(1 - momentum)})}));
      running.emplace_back(n.inputs[4], b.op("Add", {b.op("Mul", {n.inputs[4], keep}),
                                                     b.op("Mul", {outs[2], b.const_f32((1 - momentum) * unbiased)})}));
    }
    ForwardStep step{n, {{"mean", outs[1]}, {"var", outs[2]}}};
    step.node.outputs.resize(1);
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
    if (n.op_type == "Constant" && !n.outputs.empty() && n.outputs[0] == name)
      if (const ir::Attribute* value = n.attribute("value"); value && value->t) return value->t.get();
  return nullptr;
}

ir::ValueInfo float_value(const std::string& name, std::optional<std::vector<int64_t>> dims = std::nullopt) {
  ir::ValueInfo info;
  info.name = name;
  std::optional<ir::Shape> shape;
  if (dims) {
    shape = ir::Shape{};
    for (auto d : *dims) shape->dims.push_back(ir::Dim::of(d));
  }
  info.type = ir::Type::tensor(ir::DataType::float32, shape);
  return info;
}

}  // namespace

TrainingModel build_training_model(const ir::Model& forward, const std::vector<std::string>& trainable,
                                   const std::filesystem::path& base_dir, TrainingGraphOptions options) {
  if (forward.graph.outputs.empty()) throw Error(ErrorCategory::usage, "training: the model has no outputs");
  const int64_t opset = forward.default_opset();
  if (opset < 13)
    throw Error(ErrorCategory::unsupported, "training: opset " + std::to_string(opset) + " is too old; convert the model to opset 13 or newer with mhub convert");
  const ir::Model inferred = onnx_io::infer_shapes_if_known(forward, base_dir);
  TrainingModel result;
  result.model = forward;
  ir::Graph& g = result.model.graph;
  g.value_info.clear();
  g.nodes.clear();
  auto shapes = static_shapes(inferred);
  probe_shapes(forward, shapes);
  Builder b(g, std::move(shapes), opset);
  b.set_internal_ops(!options.standard_ops_only);
  result.logits_name = forward.graph.outputs[0].name;
  const auto& zs = b.shape(result.logits_name);
  if (zs.size() != 2) throw Error(ErrorCategory::unsupported, "training: the model's first output must be logits [batch, classes]");

  // Forward pass in training mode.
  std::vector<std::pair<std::string, std::string>> running;
  std::vector<ForwardStep> steps;
  for (size_t index : forward.graph.topological_order()) {
    const ir::Node& n = forward.graph.nodes[index];
    if (n.op_type == "BatchNormalization" && n.domain.empty()) {
      steps.push_back(lower_batchnorm(b, n, running));
      continue;
    }
    if (n.op_type == "Dropout" && n.domain.empty()) {
      float ratio = n.attr_float("ratio", 0.5f);
      bool training = false;
      if (opset >= 12 && n.inputs.size() > 1 && !n.inputs[1].empty()) {
        const ir::Tensor* r = find_constant(g, n.inputs[1]);
        if (!r || r->dtype != ir::DataType::float32)
          throw Error(ErrorCategory::unsupported, "training: Dropout '" + n.name + "' needs a constant float ratio");
        ratio = r->data<float>()[0];
      }
      if (opset >= 12 && n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const ir::Tensor* t = find_constant(g, n.inputs[2]);
        if (!t || t->dtype != ir::DataType::boolean)
          throw Error(ErrorCategory::unsupported, "training: Dropout '" + n.name + "' needs a constant training_mode");
        training = t->bytes()[0] != 0;
      }
      if (training && ratio > 0) {
        DropoutMask mask{"dropout_mask/" + n.outputs[0], b.shape(n.inputs[0]), ratio};
        g.inputs.push_back(float_value(mask.input, mask.dims));
        b.op("Mul", {n.inputs[0], mask.input});
        result.dropout_masks.push_back(mask);
      } else {
        b.op("Identity", {n.inputs[0]});
      }
      rename_last_output(b, n.outputs[0]);
      steps.push_back(ForwardStep{g.nodes.back(), {}});
      continue;
    }
    ForwardStep step{n, {}};
    if (n.op_type == "MaxPool" && (n.outputs.size() < 2 || n.outputs[1].empty())) {
      step.node.outputs.resize(2);
      step.node.outputs[1] = b.fresh("maxpool_indices");
    }
    g.nodes.push_back(step.node);
    steps.push_back(step);
  }

  // Loss: mean cross-entropy against the target distribution.
  const std::string target = "target";
  g.inputs.push_back(float_value(target, zs));
  const std::string rows = b.const_f32(static_cast<float>(zs[0]));
  const std::string log_p = b.op("LogSoftmax", {result.logits_name}, {int_attr("axis", 1)});
  const std::string p = b.op("Softmax", {result.logits_name}, {int_attr("axis", 1)});
  b.op("Div", {b.op("Neg", {b.reduce_sum(b.op("Mul", {target, log_p}), {0, 1}, false)}), rows});
  rename_last_output(b, "loss");
  std::string dz = b.op("Div", {b.op("Sub", {p, target}), rows});
  const std::string loss_scale = "loss_scale";
  if (options.loss_scale_input) {
    g.inputs.push_back(float_value(loss_scale, std::vector<int64_t>{}));
    dz = b.op("Mul", {dz, loss_scale});
  }

  // Which values depend on a trainable parameter.
  std::set<std::string> needs(trainable.begin(), trainable.end());
  for (const auto& name : trainable)
    if (!forward.graph.initializer(name))
      throw Error(ErrorCategory::usage, "training: '" + name + "' is not an initializer of the model");
  for (const auto& step : steps) {
    // Shapes and sizes are integers: nothing flows back through them.
    if (step.node.op_type == "Shape" || step.node.op_type == "Size") continue;
    for (const auto& in : step.node.inputs)
      if (needs.count(in)) {
        for (const auto& out : step.node.outputs) needs.insert(out);
        break;
      }
  }

  // Backward pass, last node first.
  std::map<std::string, std::vector<std::string>> grads;
  grads[result.logits_name].push_back(dz);
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const ir::Node& n = it->node;
    RuleCall call{n, {}, {}, {}, it->saved};
    bool any = false;
    for (const auto& out : n.outputs) {
      auto found = grads.find(out);
      call.output_grads.push_back(found == grads.end() ? "" : total(b, found->second));
      any = any || found != grads.end();
    }
    bool wanted = false;
    for (const auto& in : n.inputs) {
      call.wants.push_back(!in.empty() && needs.count(in) > 0);
      wanted = wanted || call.wants.back();
    }
    if (!any || !wanted) continue;
    if (call.output_grads[0].empty()) continue;
    const Rule rule = find_rule(n.op_type);
    if (!rule || !n.domain.empty())
      throw Error(ErrorCategory::unsupported, "training: " + n.op_type + " node '" + n.name +
                                                  "' has no backward rule yet (differentiable: see mhub finetune --help); freeze the layers before it with --freeze");
    rule(b, call);
    for (size_t i = 0; i < call.input_grads.size() && i < n.inputs.size(); ++i)
      if (!call.input_grads[i].empty() && call.wants[i]) grads[n.inputs[i]].push_back(call.input_grads[i]);
  }

  // Internal ops, where a rule emitted them, need their domain imported.
  const bool uses_internal = std::any_of(g.nodes.begin(), g.nodes.end(), [](const ir::Node& n) { return ir::is_internal_op(n.op); });
  if (uses_internal) result.model.opset_imports.push_back({std::string(ir::kInternalDomain), 1, 0});

  g.outputs.clear();
  g.outputs.push_back(float_value("loss", std::vector<int64_t>{}));
  g.outputs.push_back(float_value(result.logits_name, zs));
  for (const auto& name : trainable) {
    auto found = grads.find(name);
    if (found == grads.end())
      throw Error(ErrorCategory::usage, "training: parameter '" + name + "' does not affect the loss; freeze it with --freeze");
    if (options.loss_scale_input) b.op("Div", {total(b, found->second), loss_scale});
    else b.op("Identity", {total(b, found->second)});
    rename_last_output(b, "grad/" + name);
    g.outputs.push_back(float_value("grad/" + name, forward.graph.initializer(name)->dims));
    result.params.push_back(name);
  }
  for (const auto& [buffer, value] : running) {
    b.op("Identity", {value});
    rename_last_output(b, "running/" + buffer);
    g.outputs.push_back(float_value("running/" + buffer, forward.graph.initializer(buffer)->dims));
    result.running_buffers.push_back(buffer);
  }
  return result;
}

}  // namespace mhub::autograd
