#include "engine/autograd/training_graph.h"

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "engine/autograd/differentiate.h"
#include "engine/autograd/training_shapes.h"
#include "engine/ir/ops.h"

namespace mhub::autograd {
namespace {

void rename_last_output(Builder& b, const std::string& name) { b.graph().nodes.back().outputs[0] = name; }

// Step 5: the outputs the optimizer reads, in the order the Trainer expects: loss, logits,
// grad/<param> per trainable parameter, running/<buffer> per BatchNormalization statistic.
void wire_optimizer_outputs(Builder& b, const ir::Model& forward, const std::vector<std::string>& trainable,
                            const GradientParts& grads, const std::vector<std::pair<std::string, std::string>>& running,
                            const std::optional<std::string>& loss_scale, const std::vector<int64_t>& logits_dims,
                            TrainingModel& result) {
  ir::Graph& g = b.graph();
  g.outputs.clear();
  g.outputs.push_back(float_value_info("loss", std::vector<int64_t>{}));
  g.outputs.push_back(float_value_info(result.logits_name, logits_dims));
  for (const auto& name : trainable) {
    auto found = grads.find(name);
    if (found == grads.end())
      throw Error(ErrorCategory::usage, "training: parameter '" + name + "' does not affect the loss; freeze it with --freeze");
    if (loss_scale) b.op("Div", {sum_gradient_parts(b, found->second), *loss_scale});
    else b.op("Identity", {sum_gradient_parts(b, found->second)});
    rename_last_output(b, "grad/" + name);
    g.outputs.push_back(float_value_info("grad/" + name, forward.graph.initializer(name)->dims));
    result.params.push_back(name);
  }
  for (const auto& [buffer, value] : running) {
    b.op("Identity", {value});
    rename_last_output(b, "running/" + buffer);
    g.outputs.push_back(float_value_info("running/" + buffer, forward.graph.initializer(buffer)->dims));
    result.running_buffers.push_back(buffer);
  }
}

}  // namespace

TrainingModel build_training_model(const ir::Model& given, const std::vector<std::string>& trainable,
                                   const std::filesystem::path& base_dir, TrainingGraphOptions options) {
  if (given.graph.outputs.empty()) throw Error(ErrorCategory::usage, "training: the model has no outputs");
  for (const auto& name : trainable)
    if (!given.graph.initializer(name))
      throw Error(ErrorCategory::usage, "training: '" + name + "' is not an initializer of the model");
  ConstantMap shape_constants;
  ShapeMap shapes = training_value_shapes(given, base_dir, &shape_constants);  // step 1
  // Values fixed by the static dims become constants, so rules see constant pads and bounds.
  const ir::Model forward = fold_shape_constants(given, shape_constants);
  TrainingModel result;
  result.model = forward;
  ir::Graph& g = result.model.graph;
  g.value_info.clear();
  g.nodes.clear();
  Builder b(g, std::move(shapes), forward.default_opset());
  b.set_internal_ops(!options.standard_ops_only);
  result.logits_name = forward.graph.outputs[0].name;
  const std::vector<int64_t> zs = b.shape(result.logits_name);
  if (zs.size() != 2) throw Error(ErrorCategory::unsupported, "training: the model's first output must be logits [batch, classes]");

  TrainingForward pass = emit_training_forward(b, forward.graph, options.sync_batchnorm);  // step 2
  result.dropout_masks = pass.dropout_masks;

  g.inputs.push_back(float_value_info("target", zs));  // step 3
  std::string dz = emit_loss(b, options.loss, result.logits_name, "target", zs, "loss").dlogits;
  std::optional<std::string> loss_scale;
  if (options.loss_scale_input) {
    loss_scale = "loss_scale";
    g.inputs.push_back(float_value_info(*loss_scale, std::vector<int64_t>{}));
    dz = b.op("Mul", {dz, *loss_scale});
  }

  const GradientParts grads = differentiate(b, pass.steps, trainable, result.logits_name, dz);  // step 4

  // Internal ops, where a rule emitted them, need their domain imported.
  const bool uses_internal = std::any_of(g.nodes.begin(), g.nodes.end(), [](const ir::Node& n) { return ir::is_internal_op(n.op); });
  if (uses_internal) result.model.opset_imports.push_back({std::string(ir::kInternalDomain), 1, 0});

  wire_optimizer_outputs(b, forward, trainable, grads, pass.running, loss_scale, zs, result);  // step 5
  return result;
}

}  // namespace mhub::autograd
