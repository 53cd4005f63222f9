#include "engine/train/model_prep.h"

#include <map>
#include <set>

#include "common/error.h"
#include "onnx_io/onnx_tools.h"

namespace mhub::train {
namespace {

// Input positions of each op that hold learned values.
const std::map<std::string, std::vector<size_t>>& parameter_slots() {
  static const std::map<std::string, std::vector<size_t>> slots = {
      {"Conv", {1, 2}},
      {"ConvTranspose", {1, 2}},
      {"Gemm", {1, 2}},
      {"MatMul", {1}},
      {"BatchNormalization", {1, 2, 3, 4}},
      {"InstanceNormalization", {1, 2}},
      {"LayerNormalization", {1, 2}},
      {"PRelu", {1}},
  };
  return slots;
}

const ir::ValueInfo* first_data_input(const ir::Model& model) {
  for (const auto& in : model.graph.inputs)
    if (!model.graph.initializer(in.name)) return &in;
  return nullptr;
}

}  // namespace

int promote_weight_constants(ir::Model& model) {
  ir::Graph& g = model.graph;
  const auto producers = g.producers();
  auto made_by = [&](const std::string& value, const char* op) {
    auto it = producers.find(value);
    return it != producers.end() && g.nodes[it->second].op_type == op;
  };
  std::set<std::string> wanted;
  for (const auto& n : g.nodes) {
    if (!n.domain.empty()) continue;
    if (auto it = parameter_slots().find(n.op_type); it != parameter_slots().end())
      for (size_t slot : it->second)
        if (slot < n.inputs.size() && !n.inputs[slot].empty()) wanted.insert(n.inputs[slot]);
    if (n.op_type == "Add" && n.inputs.size() == 2)  // the bias of a MatMul layer
      for (size_t i = 0; i < 2; ++i)
        if (made_by(n.inputs[1 - i], "MatMul")) wanted.insert(n.inputs[i]);
  }
  int promoted = 0;
  std::vector<ir::Node> kept;
  for (auto& n : g.nodes) {
    const ir::Attribute* value = n.op_type == "Constant" && n.domain.empty() && n.outputs.size() == 1 ? n.attribute("value") : nullptr;
    if (!value || !value->t || !wanted.count(n.outputs[0])) {
      kept.push_back(std::move(n));
      continue;
    }
    ir::Tensor t = *value->t;
    t.name = n.outputs[0];
    g.initializers.push_back(std::move(t));
    ++promoted;
  }
  g.nodes = std::move(kept);
  return promoted;
}

bool strip_final_softmax(ir::Model& model) {
  ir::Graph& g = model.graph;
  if (g.outputs.empty()) return false;
  const std::string out = g.outputs[0].name;
  const auto producers = g.producers();
  auto it = producers.find(out);
  if (it == producers.end()) return false;
  const ir::Node& softmax = g.nodes[it->second];
  if (softmax.op_type != "Softmax" || !softmax.domain.empty() || softmax.inputs.empty()) return false;
  const int64_t axis = softmax.attr_int("axis", model.default_opset() >= 13 ? -1 : 1);
  if (axis != 1 && axis != -1) return false;
  const std::string in = softmax.inputs[0];
  for (const auto& v : g.inputs)
    if (v.name == in) return false;
  for (const auto& v : g.outputs)
    if (v.name == in) return false;
  for (const auto& n : g.nodes)
    for (const auto& used : n.inputs)
      if (used == in && &n != &softmax) return false;
  g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(it->second));
  g.rename_value(in, out);
  std::erase_if(g.value_info, [&](const ir::ValueInfo& v) { return v.name == out; });
  return true;
}

void upgrade_opset_for_training(ir::Model& model, const std::filesystem::path& base_dir) {
  if (model.default_opset() >= 13) return;
  model = onnx_io::convert_opset(model, 13, base_dir);
}

void prepare_for_training(ir::Model& model, const std::filesystem::path& base_dir) {
  strip_final_softmax(model);
  upgrade_opset_for_training(model, base_dir);
  promote_weight_constants(model);
}

void set_input_size(ir::Model& model, int64_t height, int64_t width) {
  ir::ValueInfo* input = nullptr;
  for (auto& in : model.graph.inputs)
    if (!model.graph.initializer(in.name)) {
      input = &in;
      break;
    }
  if (!input || !input->type || !input->type->shape || input->type->shape->dims.size() != 4)
    throw Error(ErrorCategory::usage, "--input-size: the model's input is not an image batch [N, C, H, W]");
  auto& dims = input->type->shape->dims;
  const int64_t wanted[2] = {height, width};
  for (size_t i = 0; i < 2; ++i) {
    ir::Dim& d = dims[2 + i];
    if (d.kind == ir::Dim::Kind::value && d.value != wanted[i])
      throw Error(ErrorCategory::usage, "--input-size: the model's input '" + input->name + "' is fixed to " +
                                            std::to_string(dims[2].value) + "x" + std::to_string(dims[3].value));
    d = ir::Dim::of(wanted[i]);
  }
  model.graph.value_info.clear();  // shapes inferred for other sizes would contradict these
}

std::vector<int64_t> model_example_shape(const ir::Model& model, const std::vector<int64_t>& data_shape) {
  const ir::ValueInfo* input = first_data_input(model);
  if (data_shape.size() != 3 || !input || !input->type || !input->type->shape || input->type->shape->dims.size() != 4)
    return data_shape;
  std::vector<int64_t> shape = data_shape;
  for (size_t i = 0; i < 3; ++i) {
    const ir::Dim& d = input->type->shape->dims[1 + i];
    if (d.kind == ir::Dim::Kind::value) shape[i] = d.value;
  }
  return shape;
}

}  // namespace mhub::train
