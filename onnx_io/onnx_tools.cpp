#include "onnx_io/onnx_tools.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <unordered_set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "onnx_io/model_io.h"

namespace mhub::onnx_io {

namespace {

::onnx::ModelProto to_reference(const ir::Model& model) {
  ::onnx::ModelProto proto;
  if (!proto.ParseFromString(serialize_model(model)))
    throw_error(ErrorCategory::internal, "libonnx could not parse the model mhub serialized");
  return proto;
}

ir::Model from_reference(const ::onnx::ModelProto& proto, const std::filesystem::path& base_dir) {
  std::string bytes = proto.SerializeAsString();
  return parse_model(bytes.data(), bytes.size(), "converted model", base_dir);
}

int count_typed(const ::onnx::GraphProto& graph) {
  int typed = 0;
  for (const auto& info : graph.value_info())
    if (info.has_type()) ++typed;
  for (const auto& info : graph.output())
    if (info.has_type()) ++typed;
  return typed;
}

std::string too_new(const ir::Model& model) {
  int64_t opset = model.default_opset();
  if (opset > kReferenceToolsMaxOpset)
    return "the model uses opset " + std::to_string(opset) + "; libonnx 1.12 knows opsets up to " +
           std::to_string(kReferenceToolsMaxOpset);
  if (model.ir_version > kReferenceToolsMaxIrVersion)
    return "the model has IR version " + std::to_string(model.ir_version) +
           "; libonnx 1.12 knows IR versions up to " + std::to_string(kReferenceToolsMaxIrVersion);
  return {};
}

}  // namespace

CheckReport check_model_file(const std::filesystem::path& path) {
  CheckReport report;
  ir::Model model = load_model(path);  // our own parse first: clear errors for broken files
  std::string skip = too_new(model);
  if (!skip.empty()) {
    report.checker_message = "skipped: " + skip;
    report.shapes_message = "skipped: " + skip;
    return report;
  }
  report.checker_ran = true;
  try {
    ::onnx::checker::check_model(path.string());
    report.checker_passed = true;
  } catch (const std::exception& error) {
    report.checker_message = error.what();
  }
  ::onnx::ModelProto proto = to_reference(model);
  report.values_typed_before = count_typed(proto.graph());
  report.shapes_ran = true;
  try {
    ::onnx::ShapeInferenceOptions options(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/true);
    ::onnx::shape_inference::InferShapes(proto, ::onnx::OpSchemaRegistry::Instance(), options);
    report.shapes_passed = true;
  } catch (const std::exception& error) {
    report.shapes_message = error.what();
  }
  report.values_typed_after = count_typed(proto.graph());
  std::unordered_set<std::string> typed;
  for (const auto& info : proto.graph().value_info()) typed.insert(info.name());
  for (const auto& info : proto.graph().output()) typed.insert(info.name());
  for (const auto& node : proto.graph().node())
    for (const auto& output : node.output())
      if (!output.empty() && !typed.count(output)) report.untyped_values.push_back(output);
  return report;
}

ir::Model infer_shapes(const ir::Model& model, const std::filesystem::path& base_dir) {
  std::string skip = too_new(model);
  if (!skip.empty()) throw_error(ErrorCategory::unsupported, "shape inference: " + skip);
  ::onnx::ModelProto proto = to_reference(model);
  try {
    ::onnx::shape_inference::InferShapes(proto);
  } catch (const std::exception& error) {
    throw_error(ErrorCategory::format, std::string("shape inference failed: ") + error.what());
  }
  return from_reference(proto, base_dir);
}

ir::Model convert_opset(const ir::Model& model, int target_opset, const std::filesystem::path& base_dir) {
  int64_t from = model.default_opset();
  if (from == target_opset) return from_reference(to_reference(model), base_dir);
  if (from > kReferenceToolsMaxOpset || target_opset > kReferenceToolsMaxOpset || target_opset < 1)
    throw_error(ErrorCategory::unsupported,
                "opset conversion " + std::to_string(from) + " -> " + std::to_string(target_opset) +
                    ": libonnx 1.12's converter knows opsets 1 to " +
                    std::to_string(kReferenceToolsMaxOpset));
  // libonnx's converter rebuilds initializers from their bytes and drops external_data entries,
  // so a tensor stored outside would come back with dims and no data: hand it every byte inline
  // (the caller writes external data again if asked to).
  ir::Model inlined = model;
  for (auto& tensor : inlined.graph.initializers)
    if (tensor.encoding == ir::TensorEncoding::external) {
      tensor.encoding = ir::TensorEncoding::raw;
      tensor.external_data.clear();
    }
  ::onnx::ModelProto converted;
  try {
    converted = ::onnx::version_conversion::ConvertVersion(to_reference(inlined), target_opset);
  } catch (const std::exception& error) {
    // libonnx words it as an assertion ("...: Assertion `false` failed: No Adapter From
    // Version $14 for Relu"); keep only the sentence a user needs.
    std::string message = error.what();
    if (auto at = message.rfind("failed: "); at != std::string::npos) message = message.substr(at + 8);
    std::erase(message, '$');
    throw_error(ErrorCategory::unsupported,
                "opset conversion " + std::to_string(from) + " -> " + std::to_string(target_opset) +
                    " failed: " + message);
  }
  return from_reference(converted, base_dir);
}

ir::Model infer_shapes_if_known(const ir::Model& model, const std::filesystem::path& base_dir) {
  if (!too_new(model).empty()) return model;
  return infer_shapes(model, base_dir);
}

}  // namespace mhub::onnx_io
