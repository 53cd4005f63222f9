// mhub inspect FILE [--json]
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "onnx_io/model_io.h"
#include "onnx_io/summary.h"
#include "onnx_io/weights_file.h"

namespace mhub::cli {

namespace {

struct InspectOptions {
  std::string file;
  bool json = false;
};

std::string port_text(const onnx_io::PortSummary& port) {
  std::string text = port.name + "  " + port.dtype;
  if (!port.has_shape) return text + " (shape unknown)";
  text += " [";
  for (size_t i = 0; i < port.dims.size(); ++i) text += (i ? "," : "") + port.dims[i];
  return text + "]";
}

void print_text(const std::string& file, const onnx_io::ModelSummary& summary) {
  std::cout << file << "\n";
  std::cout << "  format      ONNX, IR version " << summary.ir_version << ", opset";
  for (const auto& opset : summary.opsets)
    std::cout << " " << (opset.domain.empty() ? "ai.onnx" : opset.domain) << " " << opset.version;
  std::cout << "\n";
  if (!summary.producer.empty()) std::cout << "  producer    " << summary.producer << "\n";
  for (const auto& [key, value] : summary.metadata) std::cout << "  metadata    " << key << " = " << value << "\n";
  for (const auto& port : summary.inputs) std::cout << "  input       " << port_text(port) << "\n";
  for (const auto& port : summary.outputs) std::cout << "  output      " << port_text(port) << "\n";
  std::vector<std::pair<std::string, int64_t>> ops(summary.op_histogram.begin(), summary.op_histogram.end());
  std::stable_sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::cout << "  nodes       " << summary.node_count;
  if (!ops.empty()) {
    std::cout << " (";
    for (size_t i = 0; i < ops.size(); ++i) std::cout << (i ? ", " : "") << ops[i].first << " " << ops[i].second;
    std::cout << ")";
  }
  std::cout << "\n";
  std::cout << "  parameters  " << human_count(summary.parameter_count) << " in "
            << summary.initializer_count << " initializers (" << human_bytes(summary.parameter_bytes) << ")\n";
  if (summary.function_count) std::cout << "  functions   " << summary.function_count << "\n";
  if (summary.external_files.empty()) {
    std::cout << "  external    none\n";
  } else {
    for (const auto& [location, bytes] : summary.external_files)
      std::cout << "  external    " << location << " (" << human_bytes(bytes) << " referenced)\n";
  }
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

// .safetensors / .gguf / .pth: the tensors in file order.
void inspect_weights(const InspectOptions& options) {
  auto file = onnx_io::read_weights_file(options.file);
  const auto& weights = file.weights;
  uint64_t parameters = 0;
  for (const auto& tensor : weights.tensors()) parameters += tensor.numel();
  if (options.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& tensor : weights.tensors())
      tensors.push_back({{"name", tensor.name}, {"dtype", std::string(ir::name_of(tensor.dtype))},
                         {"shape", tensor.dims}, {"bytes", tensor.byte_size()}});
    nlohmann::json metadata = nlohmann::json::object();
    for (const auto& [key, value] : weights.metadata) metadata[key] = value;
    nlohmann::json json = {{"file", options.file}, {"format", onnx_io::weights_format_name(file.format)},
                           {"tensors", tensors}, {"metadata", metadata}, {"parameters", parameters},
                           {"bytes", weights.total_bytes()}};
    if (!file.pth_key_used.empty()) json["checkpoint_key"] = file.pth_key_used;
    if (!file.skipped.empty()) json["skipped_entries"] = file.skipped;
    std::cout << json.dump(2) << "\n";
    return;
  }
  std::cout << options.file << "\n";
  std::cout << "  format      " << onnx_io::weights_format_name(file.format) << "\n";
  if (!file.pth_key_used.empty()) std::cout << "  weights in  '" << file.pth_key_used << "'\n";
  for (const auto& [key, value] : weights.metadata) std::cout << "  metadata    " << key << " = " << value << "\n";
  std::cout << "  parameters  " << human_count(parameters) << " in " << weights.size() << " tensors ("
            << human_bytes(weights.total_bytes()) << ")\n";
  size_t width = 0;
  for (const auto& tensor : weights.tensors()) width = std::max(width, tensor.name.size());
  for (const auto& tensor : weights.tensors()) {
    std::string name = tensor.name;
    name.resize(width, ' ');
    std::cout << "  " << name << "  " << ir::name_of(tensor.dtype) << " " << shape_text(tensor.dims) << "\n";
  }
  if (!file.skipped.empty()) {
    std::cout << "  non-tensor entries left out:";
    for (const auto& name : file.skipped) std::cout << " " << name;
    std::cout << "\n";
  }
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* command = app.add_subcommand(
      "inspect", "Show a model's header, inputs/outputs, op histogram, parameter count and "
                 "external data files; for a weights file, its tensors (name, dtype, shape) and metadata.");
  command->add_option("FILE", options->file,
                      "An .onnx model, or a weights file (.safetensors, .gguf, .pth, .pt, .bin, "
                      ".ckpt: its tensors are listed)")->required();
  command->add_flag("--json", options->json, "Print one JSON object instead of text");
  command->callback([options] {
    if (onnx_io::weights_format_of(options->file) != onnx_io::WeightsFormat::none) {
      inspect_weights(*options);
      return;
    }
    ir::Model model = onnx_io::load_model(options->file);
    onnx_io::ModelSummary summary = onnx_io::summarize(model);
    if (options->json) {
      auto json = onnx_io::to_json(summary);
      json["file"] = options->file;
      std::cout << json.dump(2) << "\n";
    } else {
      print_text(options->file, summary);
    }
  });
}

}  // namespace mhub::cli
