// mhub inspect FILE [--json]
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "onnx_io/model_io.h"
#include "onnx_io/summary.h"

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

}  // namespace

void add_inspect(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* command = app.add_subcommand(
      "inspect", "Show a model's header, inputs/outputs, op histogram, parameter count and "
                 "external data files.");
  command->add_option("FILE", options->file, "An .onnx model file")->required();
  command->add_flag("--json", options->json, "Print one JSON object instead of text");
  command->callback([options] {
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
