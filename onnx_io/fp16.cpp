#include "onnx_io/fp16.h"

#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "onnx_io/onnx_tools.h"
#include "onnx_io/op_type_support.h"
#include "onnx_io/ort_cpu_kernels.h"

namespace mhub::onnx_io {

namespace {

using ir::DataType;

constexpr float kHalfMax = 65504.0f;
constexpr int32_t kFloat = static_cast<int32_t>(DataType::float32);

// Element i read with memcpy: tensors viewing a safetensors buffer need not be aligned.
template <typename T>
T element(const ir::Tensor& tensor, uint64_t i) {
  T value;
  std::memcpy(&value, tensor.bytes() + i * sizeof(T), sizeof(T));
  return value;
}

double element_as_double(const ir::Tensor& tensor, uint64_t i) {
  switch (tensor.dtype) {
    case DataType::float32: return element<float>(tensor, i);
    case DataType::float64: return element<double>(tensor, i);
    case DataType::float16: return half_to_float(element<uint16_t>(tensor, i));
    case DataType::bfloat16: return bfloat16_to_float(element<uint16_t>(tensor, i));
    default:
      throw Error(ErrorCategory::unsupported, "tensor '" + tensor.name + "' of type " +
                                                  std::string(ir::name_of(tensor.dtype)) + " cannot be compared as floats");
  }
}

// Inputs at these positions must stay float32 whatever the model's precision (ONNX types them
// as tensor(float) only).
bool is_fp32_only_input(const ir::Node& node, size_t index) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return false;
  return (node.op_type == "Resize" && index == 2) || (node.op_type == "Upsample" && index == 1);
}

struct TypeTable {
  std::unordered_map<std::string, int32_t> elem_type;
  void note(const ir::ValueInfo& info) {
    if (info.type && info.type->kind == ir::Type::Kind::tensor && info.type->has_elem_type)
      elem_type[info.name] = info.type->elem_type;
  }
  bool is_float32(const std::string& name) const {
    auto found = elem_type.find(name);
    return found != elem_type.end() && found->second == kFloat;
  }
  bool known(const std::string& name) const { return elem_type.count(name) > 0; }
};

TypeTable collect_types(const ir::Model& model, const std::filesystem::path& base_dir) {
  TypeTable table;
  ir::Model typed;
  const ir::Model* source = &model;
  try {
    typed = infer_shapes(model, base_dir);
    source = &typed;
  } catch (const Error&) {
    // Opset too new or inference failed: fall back on the types the file declares.
  }
  for (const auto& info : source->graph.inputs) table.note(info);
  for (const auto& info : source->graph.outputs) table.note(info);
  for (const auto& info : source->graph.value_info) table.note(info);
  for (const auto& tensor : source->graph.initializers) table.elem_type[tensor.name] = static_cast<int32_t>(tensor.dtype);
  for (const auto& node : source->graph.nodes) {
    if (node.op_type == "Constant" && !node.outputs.empty())
      if (const ir::Attribute* value = node.attribute("value"); value && value->t)
        table.elem_type[node.outputs[0]] = static_cast<int32_t>(value->t->dtype);
    if (node.op_type == "Cast" && !node.outputs.empty())
      table.elem_type[node.outputs[0]] = static_cast<int32_t>(node.attr_int("to", 0));
  }
  return table;
}

// Converts one float32 tensor; counts what changed.
ir::Tensor convert_tensor(const ir::Tensor& tensor, const LowPrecisionOptions& options, LowPrecisionReport& report) {
  ir::Tensor out = tensor;
  out.dtype = options.target;
  out.encoding = ir::TensorEncoding::raw;
  out.external_data.clear();
  out.segment.reset();
  uint64_t count = tensor.numel();
  auto storage = ir::Storage::zeros(count * 2);
  auto* target = reinterpret_cast<uint16_t*>(storage->mutable_data());
  uint64_t out_of_range = 0;
  for (uint64_t i = 0; i < count; ++i) {
    float value = element<float>(tensor, i);
    if (options.target == DataType::float16) {
      if (std::isfinite(value) && std::fabs(value) > kHalfMax) {
        ++out_of_range;
        value = value > 0 ? kHalfMax : -kHalfMax;
      }
      target[i] = float_to_half(value);
      if (value != 0 && (target[i] & 0x7FFF) == 0) ++report.flushed_to_zero;
    } else {
      target[i] = float_to_bfloat16(value);
      if (value != 0 && (target[i] & 0x7FFF) == 0) ++report.flushed_to_zero;
    }
  }
  out.storage = storage;
  out.offset = 0;
  ++report.converted_tensors;
  report.converted_elements += count;
  if (out_of_range) {
    report.out_of_range += out_of_range;
    report.out_of_range_tensors.emplace_back(tensor.name, out_of_range);
  }
  return out;
}

ir::Node make_cast(const std::string& input, const std::string& output, DataType to) {
  ir::Node cast;
  cast.op = ir::OpKind::Cast;
  cast.op_type = "Cast";
  cast.name = output + "/Cast";
  cast.inputs = {input};
  cast.outputs = {output};
  ir::Attribute attribute;
  attribute.name = "to";
  attribute.type = ir::AttributeType::int_;
  attribute.i = static_cast<int64_t>(to);
  cast.attributes.push_back(attribute);
  return cast;
}

enum class KeepReason { none, precision, schema, runtime };

// Removes inserted Casts nobody reads: a kept node's output is cast back to the low type for
// its other readers, and when every reader is a kept node too (reading the float32 result
// directly) that Cast would only cost time. Returns how many were removed. Inserted Casts are
// the ones make_cast named "<output>/Cast" that no node of the original graph is named.
size_t drop_unread_casts(std::vector<ir::Node>& nodes, const std::unordered_set<std::string>& original_names,
                         const std::vector<ir::ValueInfo>& outputs) {
  size_t removed = 0;
  for (bool changed = true; changed;) {
    changed = false;
    std::unordered_set<std::string> read;
    for (const auto& node : nodes) read.insert(node.inputs.begin(), node.inputs.end());
    for (const auto& output : outputs) read.insert(output.name);
    for (auto it = nodes.begin(); it != nodes.end();) {
      bool ours = it->op_type == "Cast" && it->outputs.size() == 1 && it->name == it->outputs[0] + "/Cast" &&
                  !original_names.count(it->name);
      if (ours && !read.count(it->outputs[0])) {
        it = nodes.erase(it);
        ++removed;
        changed = true;
      } else {
        ++it;
      }
    }
  }
  return removed;
}

// value_info entries for values no node, input or initializer holds any more.
void drop_unknown_value_info(ir::Graph& graph) {
  std::unordered_set<std::string> known;
  for (const auto& input : graph.inputs) known.insert(input.name);
  for (const auto& tensor : graph.initializers) known.insert(tensor.name);
  for (const auto& node : graph.nodes) known.insert(node.outputs.begin(), node.outputs.end());
  std::vector<ir::ValueInfo> kept;
  for (auto& info : graph.value_info)
    if (known.count(info.name)) kept.push_back(std::move(info));
  graph.value_info = std::move(kept);
}

void set_elem_type(ir::ValueInfo& info, DataType dtype) {
  if (info.type && info.type->kind == ir::Type::Kind::tensor) info.type->elem_type = static_cast<int32_t>(dtype);
}

}  // namespace

const std::set<std::string>& default_fp32_ops() {
  static const std::set<std::string> ops = {
      "ReduceMean", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
      "ReduceLogSumExp", "ReduceSumSquare", "CumSum", "LayerNormalization", "BatchNormalization",
      "InstanceNormalization", "GroupNormalization", "LpNormalization", "MeanVarianceNormalization",
      "Softmax", "LogSoftmax", "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss",
  };
  return ops;
}

LowPrecisionReport convert_to_low_precision(ir::Model& model, const LowPrecisionOptions& options,
                                            const std::filesystem::path& base_dir) {
  if (options.target != DataType::float16 && options.target != DataType::bfloat16)
    throw Error(ErrorCategory::usage, "--dtype must be fp16 or bf16");
  if (options.target == DataType::bfloat16 && model.default_opset() < 13)
    throw Error(ErrorCategory::unsupported,
                "bfloat16 needs opset 13 or newer (Cast and most ops accept it from there); this model has opset " +
                    std::to_string(model.default_opset()) + ": add --opset 13, or use --dtype fp16");
  for (const auto& node : model.graph.nodes)
    for (const auto& attribute : node.attributes)
      if (attribute.g || !attribute.graphs.empty())
        throw Error(ErrorCategory::unsupported, "node '" + node.name + "' (" + node.op_type +
                                                    ") has a subgraph; fp16/bf16 conversion of models with "
                                                    "control flow is not supported yet");
  TypeTable types = collect_types(model, base_dir);
  ir::Graph& graph = model.graph;
  LowPrecisionReport report;

  // Which nodes compute in float32 and why (see fp16.h), and which initializers only nodes
  // kept for precision (or fp32-only input positions) read.
  int64_t opset = model.default_opset();
  std::unordered_map<std::string, KeepReason> reason_by_op;
  auto why_kept = [&](const ir::Node& node) {
    if (!node.domain.empty() && node.domain != "ai.onnx") return KeepReason::none;
    auto found = reason_by_op.find(node.op_type);
    if (found != reason_by_op.end()) return found->second;
    KeepReason reason = KeepReason::none;
    if (options.keep_fp32_ops.count(node.op_type)) reason = KeepReason::precision;
    else if (!op_accepts_float_type(node.op_type, "", opset, options.target)) reason = KeepReason::schema;
    else if (options.runtime == LowPrecisionRuntime::ort_cpu && !ort_cpu_runs_in(node.op_type, "", opset, options.target))
      reason = KeepReason::runtime;
    reason_by_op.emplace(node.op_type, reason);
    return reason;
  };
  auto kept = [&](const ir::Node& node) { return why_kept(node) != KeepReason::none; };
  std::unordered_map<std::string, bool> only_fp32_consumers;
  for (const auto& node : graph.nodes)
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      bool fp32_use = why_kept(node) == KeepReason::precision || is_fp32_only_input(node, i);
      auto [it, fresh] = only_fp32_consumers.emplace(node.inputs[i], fp32_use);
      if (!fresh) it->second = it->second && fp32_use;
    }
  std::unordered_set<std::string> low;  // values that will hold the target type
  for (const auto& [name, type] : types.elem_type)
    if (type == kFloat) low.insert(name);

  std::vector<ir::Tensor> initializers;
  for (const auto& tensor : graph.initializers) {
    bool fp32 = tensor.dtype == DataType::float32;
    auto use = only_fp32_consumers.find(tensor.name);
    if (fp32 && use != only_fp32_consumers.end() && use->second) {
      low.erase(tensor.name);
      report.kept_fp32_initializers.push_back(tensor.name);
      initializers.push_back(tensor);
    } else {
      initializers.push_back(fp32 ? convert_tensor(tensor, options, report) : tensor);
    }
  }

  std::vector<ir::Node> nodes;
  std::unordered_map<std::string, std::string> fp32_copy;  // low value -> its Cast-to-float32 twin
  auto as_fp32 = [&](const std::string& value) {
    auto found = fp32_copy.find(value);
    if (found != fp32_copy.end()) return found->second;
    std::string twin = value + "__fp32";
    nodes.push_back(make_cast(value, twin, DataType::float32));
    ++report.casts_inserted;
    fp32_copy.emplace(value, twin);
    return twin;
  };

  // Graph inputs that stay float32 at the edge feed a Cast; nodes read the Cast's output.
  std::unordered_map<std::string, std::string> renamed_input;
  for (auto& input : graph.inputs) {
    if (!types.is_float32(input.name)) continue;
    if (graph.initializer(input.name)) {  // IR < 4 lists initializers as inputs too
      if (low.count(input.name)) set_elem_type(input, options.target);
      continue;
    }
    if (options.keep_io_types) {
      std::string inner = input.name + "__" + std::string(ir::name_of(options.target));
      nodes.push_back(make_cast(input.name, inner, options.target));
      ++report.casts_inserted;
      renamed_input[input.name] = inner;
      low.insert(inner);
      fp32_copy[inner] = input.name;  // kept nodes can read the original directly
    } else {
      set_elem_type(input, options.target);
    }
  }
  std::unordered_set<std::string> consumed;
  for (const auto& node : graph.nodes) consumed.insert(node.inputs.begin(), node.inputs.end());
  std::unordered_map<std::string, std::string> renamed_output;  // graph output -> its low-precision twin
  if (options.keep_io_types)
    for (const auto& output : graph.outputs)
      if (types.is_float32(output.name)) renamed_output[output.name] = output.name + "__" + std::string(ir::name_of(options.target));

  for (auto node : graph.nodes) {
    for (auto& input : node.inputs) {
      if (auto found = renamed_input.find(input); found != renamed_input.end()) input = found->second;
      // Inside the graph, a float32 graph output is read through its low-precision twin.
      if (auto found = renamed_output.find(input); found != renamed_output.end()) input = found->second;
    }
    bool keep = kept(node);
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if ((keep || is_fp32_only_input(node, i)) && low.count(node.inputs[i])) node.inputs[i] = as_fp32(node.inputs[i]);
    if (node.op_type == "Constant")
      for (auto& attribute : node.attributes)
        if (attribute.name == "value" && attribute.t && attribute.t->dtype == DataType::float32 && !keep)
          attribute.t = std::make_shared<ir::Tensor>(convert_tensor(*attribute.t, options, report));
    if (node.op_type == "ConstantOfShape")
      for (auto& attribute : node.attributes)
        if (attribute.name == "value" && attribute.t && attribute.t->dtype == DataType::float32)
          attribute.t = std::make_shared<ir::Tensor>(convert_tensor(*attribute.t, options, report));
    if (node.op_type == "Cast")
      for (auto& attribute : node.attributes)
        if (attribute.name == "to" && attribute.i == kFloat) attribute.i = static_cast<int64_t>(options.target);
    std::vector<ir::Node> casts_after;
    for (auto& output : node.outputs) {
      auto graph_output = renamed_output.find(output);
      if (graph_output != renamed_output.end()) {
        const std::string& outer = graph_output->first;
        const std::string& inner = graph_output->second;
        low.insert(inner);
        if (keep) {
          // A float32 node feeding a float32 graph output: no Casts on that path; nodes
          // inside the graph that read the output get a low-precision twin.
          fp32_copy[inner] = outer;
          if (consumed.count(outer)) casts_after.push_back(make_cast(outer, inner, options.target));
        } else {
          output = inner;
          casts_after.push_back(make_cast(inner, outer, DataType::float32));
        }
        continue;
      }
      if (keep && low.count(output)) {
        std::string fp32_result = output + "__fp32";
        casts_after.push_back(make_cast(fp32_result, output, options.target));
        fp32_copy[output] = fp32_result;
        output = fp32_result;
      }
    }
    if (keep) ++report.kept_fp32_nodes;
    if (why_kept(node) == KeepReason::runtime) {
      ++report.kept_for_runtime;
      report.runtime_fp32_ops.insert(node.op_type);
    }
    nodes.push_back(std::move(node));
    for (auto& cast : casts_after) nodes.push_back(std::move(cast));
    report.casts_inserted += casts_after.size();
  }

  if (report.out_of_range > 0 && !options.allow_clamp) {
    const auto& [name, count] = report.out_of_range_tensors.front();
    throw Error(ErrorCategory::format,
                std::to_string(report.out_of_range) + " weight values lie outside float16's range (|x| > 65504), " +
                    std::to_string(count) + " of them in '" + name +
                    "'; pass --allow-clamp to clamp them to ±65504, or use --dtype bf16 (float32's range)");
  }
  for (auto& output : graph.outputs)
    if (types.is_float32(output.name) && !options.keep_io_types) set_elem_type(output, options.target);
  for (auto& info : graph.value_info)
    if (low.count(info.name)) set_elem_type(info, options.target);
  std::unordered_set<std::string> original_names;
  for (const auto& node : graph.nodes) original_names.insert(node.name);
  report.casts_inserted -= drop_unread_casts(nodes, original_names, graph.outputs);
  graph.initializers = std::move(initializers);
  graph.nodes = std::move(nodes);
  drop_unknown_value_info(graph);
  return report;
}

ir::Tensor cast_float_tensor(const ir::Tensor& tensor, DataType target) {
  ir::Tensor out = ir::Tensor::zeros(target, tensor.dims, tensor.name);
  uint64_t count = tensor.numel();
  uint8_t* data = out.storage->mutable_data();
  for (uint64_t i = 0; i < count; ++i) {
    double value = element_as_double(tensor, i);
    switch (target) {
      case DataType::float32: reinterpret_cast<float*>(data)[i] = static_cast<float>(value); break;
      case DataType::float64: reinterpret_cast<double*>(data)[i] = value; break;
      case DataType::float16: reinterpret_cast<uint16_t*>(data)[i] = float_to_half(static_cast<float>(value)); break;
      case DataType::bfloat16: reinterpret_cast<uint16_t*>(data)[i] = float_to_bfloat16(static_cast<float>(value)); break;
      default: throw Error(ErrorCategory::unsupported, "cannot cast to " + std::string(ir::name_of(target)));
    }
  }
  return out;
}

OutputError compare_outputs(const std::string& name, const ir::Tensor& expected, const ir::Tensor& actual) {
  if (expected.dims != actual.dims)
    throw Error(ErrorCategory::format, "output '" + name + "' has different shapes in the two models");
  OutputError error{name, 0, 0, 0, expected.numel()};
  double largest = 0;
  for (uint64_t i = 0; i < error.elements; ++i) {
    double a = element_as_double(expected, i);
    double b = element_as_double(actual, i);
    double difference = std::fabs(a - b);
    if (std::isnan(a) != std::isnan(b)) difference = INFINITY;
    if (std::isnan(a) && std::isnan(b)) difference = 0;
    error.max_abs_error = std::max(error.max_abs_error, difference);
    error.max_rel_error = std::max(error.max_rel_error, difference / std::max(std::fabs(a), 1e-6));
    if (std::isfinite(a)) largest = std::max(largest, std::fabs(a));
  }
  error.max_error_vs_largest = largest > 0 ? error.max_abs_error / largest : error.max_abs_error;
  return error;
}

std::vector<OutputError> measure_precision_error(const ir::Model& reference, const ir::Model& converted,
                                                 const std::vector<ir::Tensor>& inputs, const ModelRunner& run) {
  if (!run)
    throw Error(ErrorCategory::usage, "no inference engine is connected, so the fp16/bf16 error cannot be measured");
  std::vector<ir::Tensor> converted_inputs;
  size_t index = 0;
  for (const auto& input : converted.graph.inputs) {
    if (converted.graph.initializer(input.name)) continue;
    if (index >= inputs.size()) break;
    const ir::Tensor& given = inputs[index++];
    DataType wanted = input.type ? input.type->dtype() : given.dtype;
    bool both_float = ir::is_float(wanted) && ir::is_float(given.dtype);
    converted_inputs.push_back(both_float && wanted != given.dtype ? cast_float_tensor(given, wanted) : given);
  }
  std::vector<ir::Tensor> expected = run(reference, inputs);
  std::vector<ir::Tensor> actual = run(converted, converted_inputs);
  if (expected.size() != actual.size())
    throw Error(ErrorCategory::format, "the converted model returns " + std::to_string(actual.size()) +
                                           " outputs, the float32 model " + std::to_string(expected.size()));
  std::vector<OutputError> errors;
  for (size_t i = 0; i < expected.size(); ++i) {
    std::string name = i < reference.graph.outputs.size() ? reference.graph.outputs[i].name : std::to_string(i);
    errors.push_back(compare_outputs(name, expected[i], actual[i]));
  }
  return errors;
}

}  // namespace mhub::onnx_io
