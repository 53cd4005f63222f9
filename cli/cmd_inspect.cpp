// mhub inspect FILE [--json]
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "common/printable.h"
#include "onnx_io/gguf/container.h"
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
  std::string text = printable(port.name) + "  " + port.dtype;
  if (!port.has_shape) return text + " (shape unknown)";
  text += " [";
  for (size_t i = 0; i < port.dims.size(); ++i) text += (i ? "," : "") + printable(port.dims[i]);
  return text + "]";
}

void print_text(const std::string& file, const onnx_io::ModelSummary& summary) {
  std::cout << file << "\n";
  std::cout << "  format      ONNX, IR version " << summary.ir_version << ", opset";
  for (const auto& opset : summary.opsets)
    std::cout << " " << (opset.domain.empty() ? "ai.onnx" : opset.domain) << " " << opset.version;
  std::cout << "\n";
  if (!summary.producer.empty()) std::cout << "  producer    " << printable(summary.producer) << "\n";
  for (const auto& [key, value] : summary.metadata)
    std::cout << "  metadata    " << printable(key) << " = " << printable(value) << "\n";
  for (const auto& port : summary.inputs) std::cout << "  input       " << port_text(port) << "\n";
  for (const auto& port : summary.outputs) std::cout << "  output      " << port_text(port) << "\n";
  std::vector<std::pair<std::string, int64_t>> ops(summary.op_histogram.begin(), summary.op_histogram.end());
  std::stable_sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::cout << "  nodes       " << summary.node_count;
  if (!ops.empty()) {
    std::cout << " (";
    for (size_t i = 0; i < ops.size(); ++i) std::cout << (i ? ", " : "") << printable(ops[i].first) << " " << ops[i].second;
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
      std::cout << "  external    " << printable(location) << " (" << human_bytes(bytes) << " referenced)\n";
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
  if (!file.pth_key_used.empty()) std::cout << "  weights in  '" << printable(file.pth_key_used) << "'\n";
  for (const auto& [key, value] : weights.metadata)
    std::cout << "  metadata    " << printable(key) << " = " << printable(value) << "\n";
  std::cout << "  parameters  " << human_count(parameters) << " in " << weights.size() << " tensors ("
            << human_bytes(weights.total_bytes()) << ")\n";
  size_t width = 0;
  for (const auto& tensor : weights.tensors()) width = std::max(width, tensor.name.size());
  for (const auto& tensor : weights.tensors()) {
    std::string name = tensor.name;
    name.resize(width, ' ');
    std::cout << "  " << printable(name) << "  " << ir::name_of(tensor.dtype) << " " << shape_text(tensor.dims) << "\n";
  }
  if (!file.skipped.empty()) {
    std::cout << "  non-tensor entries left out:";
    for (const auto& name : file.skipped) std::cout << " " << printable(name);
    std::cout << "\n";
  }
}

// .gguf: the header as llama.cpp reads it — architecture, hyperparameters, tokenizer summary,
// and tensors with their ggml types (quantized ones as stored, not dequantized).
void inspect_gguf(const InspectOptions& options) {
  auto mapped = ir::MappedFile::open(options.file);
  auto file = onnx_io::gguf::parse(mapped, mapped->data(), mapped->size(), options.file);
  std::string arch;
  if (const auto* value = file.find("general.architecture")) arch = value->text();
  nlohmann::json metadata = nlohmann::json::object(), hyperparameters = nlohmann::json::object(),
                 tokenizer = nlohmann::json::object();
  for (const auto& [key, value] : file.metadata) {
    using onnx_io::gguf::ValueType;
    nlohmann::json shown = value.text();
    if (value.type == ValueType::boolean) shown = value.text() == "true";
    else if (value.type == ValueType::f32 || value.type == ValueType::f64) shown = *value.number();
    else if (value.number()) shown = static_cast<int64_t>(*value.number());
    if (!arch.empty() && key.rfind(arch + ".", 0) == 0) hyperparameters[key.substr(arch.size() + 1)] = shown;
    else if (key.rfind("tokenizer.", 0) == 0) continue;
    else metadata[key] = shown;
  }
  const auto* tokens = file.find("tokenizer.ggml.tokens");
  if (const auto* model = file.find("tokenizer.ggml.model")) tokenizer["model"] = model->text();
  if (const auto* pre = file.find("tokenizer.ggml.pre")) tokenizer["pre"] = pre->text();
  if (tokens) tokenizer["tokens"] = tokens->count;
  if (const auto* merges = file.find("tokenizer.ggml.merges")) tokenizer["merges"] = merges->count;
  for (const char* kind : {"bos", "eos", "unknown", "padding"})
    if (const auto* id = file.find(std::string("tokenizer.ggml.") + kind + "_token_id"); id && id->number()) {
      auto index = static_cast<uint64_t>(*id->number());
      nlohmann::json entry = {{"id", index}};
      if (tokens && tokens->type == onnx_io::gguf::ValueType::array && index < tokens->strings.size())
        entry["token"] = tokens->strings[index];
      tokenizer[kind] = entry;
    }
  for (const char* flag : {"add_bos_token", "add_eos_token"})
    if (const auto* value = file.find(std::string("tokenizer.ggml.") + flag)) tokenizer[flag] = value->text() == "true";
  if (file.find("tokenizer.chat_template")) tokenizer["chat_template"] = true;
  uint64_t parameters = 0, bytes = 0;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& tensor : file.tensors) {
    uint64_t count = 1;
    for (int64_t dim : tensor.dims) count *= static_cast<uint64_t>(dim);
    parameters += count;
    bytes += tensor.bytes;
    tensors.push_back({{"name", tensor.name}, {"type", onnx_io::gguf::ggml_type_info(static_cast<uint32_t>(tensor.type))->name},
                       {"shape", tensor.dims}, {"bytes", tensor.bytes}});
  }
  if (options.json) {
    nlohmann::json json = {{"file", options.file}, {"format", "gguf"}, {"architecture", arch},
                           {"metadata", metadata}, {"hyperparameters", hyperparameters}, {"tokenizer", tokenizer},
                           {"tensors", tensors}, {"parameters", parameters}, {"bytes", bytes}};
    std::cout << json.dump(2) << "\n";
    return;
  }
  auto shown = [](const nlohmann::json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); };
  std::cout << options.file << "\n  format      GGUF\n";
  for (const auto& [key, value] : metadata.items()) std::cout << "  metadata    " << key << " = " << shown(value) << "\n";
  for (const auto& [key, value] : hyperparameters.items()) std::cout << "  hparam      " << key << " = " << shown(value) << "\n";
  if (!tokenizer.empty()) {
    std::cout << "  tokenizer   ";
    bool first = true;
    for (const auto& [key, value] : tokenizer.items()) {
      std::cout << (first ? "" : ", ") << key << " "
                << (value.is_object() ? value["id"].dump() + (value.contains("token") ? " " + value["token"].dump() : "") : shown(value));
      first = false;
    }
    std::cout << "\n";
  }
  std::cout << "  parameters  " << human_count(parameters) << " in " << file.tensors.size() << " tensors ("
            << human_bytes(bytes) << ")\n";
  size_t width = 0;
  for (const auto& tensor : file.tensors) width = std::max(width, tensor.name.size());
  for (const auto& tensor : tensors) {
    std::string name = tensor["name"];
    name.resize(width, ' ');
    std::cout << "  " << name << "  " << tensor["type"].get<std::string>() << " " << shape_text(tensor["shape"].get<std::vector<int64_t>>()) << "\n";
  }
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* command = app.add_subcommand(
      "inspect", "Show a model's header, inputs/outputs, op histogram, parameter count and "
                 "external data files; for a weights file, its tensors (name, dtype, shape) and metadata; "
                 "for GGUF also the hyperparameters and a tokenizer summary.");
  command->add_option("FILE", options->file,
                      "An .onnx model, or a weights file (.safetensors, .gguf, .pth, .pt, .bin, "
                      ".ckpt: its tensors are listed)")->required();
  command->add_flag("--json", options->json, "Print one JSON object instead of text");
  command->callback([options] {
    if (onnx_io::weights_format_of(options->file) == onnx_io::WeightsFormat::gguf) {
      inspect_gguf(*options);
      return;
    }
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
