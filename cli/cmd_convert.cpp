// mhub convert IN OUT [--opset N] [--external-data[=BYTES]] [--weights W [--map RULE]...
//   [--allow-partial]] [--dtype fp16|bf16 [--keep-io-types] [--keep-fp32 OPS] [--allow-clamp]
//   [--for-runtime ort-cpu|any]]
// The formats follow the extensions: .onnx -> .onnx; .onnx -> .safetensors/.gguf (initializers);
// .pth/.pt/.bin/.safetensors/.gguf -> .safetensors/.gguf (weights); a Hugging Face checkpoint
// folder or hf:ORG/REPO -> .gguf for llama.cpp [--outtype TYPE].
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/format.h"
#include "common/error.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "hub/progress.h"
#include "hub/pull.h"
#include "onnx_io/fp16.h"
#include "onnx_io/gguf/hf_to_gguf.h"
#include "onnx_io/model_io.h"
#include "onnx_io/onnx_tools.h"
#include "onnx_io/safetensors_external.h"
#include "onnx_io/weights_file.h"
#include "onnx_io/weights_into_graph.h"

namespace mhub::cli {

namespace {

struct ConvertOptions {
  std::string input;
  std::string output;
  int opset = 0;
  std::string external;  // "" = not given; a number = threshold in bytes
  bool external_given = false;
  std::string external_file;
  std::string weights;
  std::vector<std::string> map_rules;
  bool allow_partial = false;
  std::string pth_key;
  std::string dtype;
  bool keep_io_types = false;
  std::vector<std::string> keep_fp32;
  bool allow_clamp = false;
  std::string for_runtime = "ort-cpu";
  std::string architecture = "mhub";
  std::string outtype;
  bool json = false;
};

std::string extension_of(const std::string& path) {
  auto dot = path.find_last_of('.');
  auto slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return path.substr(dot);
}

uint64_t parse_threshold(const std::string& text) {
  if (text.empty()) return 1024;  // onnx's own default for convert_model_to_external_data
  return parse_byte_size(text, "--external-data");
}

std::string joined(const std::vector<std::string>& names, size_t limit = 8) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < limit; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > limit) text += ", ... (" + std::to_string(names.size() - limit) + " more)";
  return text;
}

nlohmann::json weights_report_json(const onnx_io::WeightsReport& report) {
  nlohmann::json matched = nlohmann::json::array();
  for (const auto& match : report.matched)
    matched.push_back({{"initializer", match.initializer}, {"weight", match.weight}, {"exact", match.exact}});
  nlohmann::json mismatched = nlohmann::json::array();
  for (const auto& mismatch : report.mismatched)
    mismatched.push_back({{"initializer", mismatch.initializer}, {"weight", mismatch.weight},
                          {"expected", mismatch.expected}, {"found", mismatch.found}});
  return {{"matched", matched}, {"mismatched", mismatched},
          {"unmatched_initializers", report.unmatched_initializers},
          {"generated_initializers", report.generated_initializers}, {"unused_weights", report.unused_weights}};
}

void print_weights_report(const onnx_io::WeightsReport& report, size_t initializer_count) {
  size_t by_suffix = 0;
  for (const auto& match : report.matched) by_suffix += !match.exact;
  std::cerr << "weights: " << report.matched.size() << " of " << initializer_count << " initializers loaded ("
            << by_suffix << " matched by name suffix)\n";
  if (!report.mismatched.empty()) {
    std::cerr << "  mismatched (architecture value kept):\n";
    for (const auto& mismatch : report.mismatched)
      std::cerr << "    " << mismatch.initializer << " is " << mismatch.expected << ", weight " << mismatch.weight
                << " is " << mismatch.found << "\n";
  }
  if (!report.unmatched_initializers.empty())
    std::cerr << "  unmatched initializers (architecture value kept): " << joined(report.unmatched_initializers) << "\n";
  if (!report.generated_initializers.empty())
    std::cerr << "  of which named by the exporter (Conv+BN folding, deduplication; not matchable by name): "
              << joined(report.generated_initializers) << "\n";
  if (!report.unused_weights.empty())
    std::cerr << "  weights no initializer took: " << joined(report.unused_weights) << "\n";
}

nlohmann::json precision_report_json(const onnx_io::LowPrecisionReport& report) {
  nlohmann::json out_of_range = nlohmann::json::array();
  for (const auto& [name, count] : report.out_of_range_tensors) out_of_range.push_back({{"tensor", name}, {"count", count}});
  return {{"converted_tensors", report.converted_tensors}, {"converted_elements", report.converted_elements},
          {"out_of_range", report.out_of_range}, {"out_of_range_tensors", out_of_range},
          {"flushed_to_zero", report.flushed_to_zero}, {"kept_fp32_nodes", report.kept_fp32_nodes},
          {"kept_for_runtime", report.kept_for_runtime}, {"runtime_fp32_ops", report.runtime_fp32_ops},
          {"casts_inserted", report.casts_inserted}, {"kept_fp32_initializers", report.kept_fp32_initializers}};
}

// Sample inputs for the precision check: a fixed pseudo-random float tensor per float input,
// symbolic dims taken as 1. Other input types get zeros.
std::vector<ir::Tensor> sample_inputs(const ir::Model& model) {
  std::vector<ir::Tensor> inputs;
  uint32_t state = 12345;
  for (const auto& input : model.graph.inputs) {
    if (model.graph.initializer(input.name) || !input.type || input.type->kind != ir::Type::Kind::tensor) continue;
    std::vector<int64_t> dims;
    if (input.type->shape)
      for (const auto& dim : input.type->shape->dims) dims.push_back(dim.kind == ir::Dim::Kind::value ? dim.value : 1);
    ir::Tensor tensor = ir::Tensor::zeros(input.type->dtype(), dims, input.name);
    if (tensor.dtype == ir::DataType::float32)
      for (uint64_t i = 0; i < tensor.numel(); ++i) {
        state = state * 1664525u + 1013904223u;
        reinterpret_cast<float*>(tensor.storage->mutable_data())[i] = static_cast<float>(state >> 8) / 16777216.0f * 2 - 1;
      }
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}

// Runs a model once on the CPU engine: how `--dtype` measures the converted model against the
// float32 one. Both sessions are built fresh; the models are small next to a conversion's I/O.
std::vector<ir::Tensor> run_with_engine(const ir::Model& model, const std::vector<ir::Tensor>& inputs) {
  engine::Session session(model, engine::host_backend());
  std::vector<std::pair<std::string, engine::Value>> feeds;
  const auto& ports = session.inputs();
  for (size_t i = 0; i < inputs.size() && i < ports.size(); ++i) feeds.emplace_back(ports[i].name, engine::Value::of(inputs[i]));
  std::vector<ir::Tensor> outputs;
  for (auto& value : session.run(feeds)) {
    if (value.kind != engine::Value::Kind::tensor)
      throw Error(ErrorCategory::unsupported, "an output is not a tensor; only tensor outputs are compared");
    outputs.push_back(std::move(value.tensor));
  }
  return outputs;
}

void convert_weights_only(const ConvertOptions& options, nlohmann::json& result) {
  auto file = onnx_io::read_weights_file(options.input, {options.pth_key});
  if (!file.pth_key_used.empty()) std::cerr << "using the checkpoint's '" << file.pth_key_used << "' entry\n";
  if (!file.skipped.empty()) std::cerr << "left out non-tensor entries: " << joined(file.skipped) << "\n";
  onnx_io::GgufOptions gguf;
  gguf.architecture = options.architecture;
  onnx_io::write_weights_file(file.weights, options.output, gguf);
  result["tensors"] = file.weights.size();
  result["bytes"] = file.weights.total_bytes();
  result["source_format"] = onnx_io::weights_format_name(file.format);
  std::cerr << file.weights.size() << " tensors (" << human_bytes(file.weights.total_bytes()) << ")\n";
}

// hf:ORG/REPO[@REV]: the files a conversion reads, through the cache (pulled when missing):
// configs, tokenizer files, and the safetensors weights, else the pytorch_model*.bin ones.
std::filesystem::path pull_checkpoint(const std::string& target_text) {
  hub::HfTarget target = hub::parse_hf_target(target_text);
  if (!target.pattern.empty())
    throw Error(ErrorCategory::usage, "convert takes a whole checkpoint, hf:ORG/REPO[@REV], not a file pattern");
  hub::PullOptions pull = hub::pull_options_from_env();
  std::unique_ptr<hub::ProgressSink> progress = hub::make_progress(stderr);
  pull.download.progress = progress.get();
  auto result = hub::pull_hf(pull, target.repo, target.revision,
                             {"config.json", "*generation_config.json", "*tokenizer*.json", "*tokenizer.model",
                              "*added_tokens.json", "model*.safetensors", "model.safetensors.index.json"});
  std::filesystem::path folder;
  bool has_weights = false;
  for (const auto& file : result.files) {
    if (file.path == "config.json") folder = file.local.parent_path();
    has_weights = has_weights || file.path.find(".safetensors") != std::string::npos;
  }
  if (!has_weights) hub::pull_hf(pull, target.repo, result.commit, {"pytorch_model*.bin"});
  return folder;
}

void convert_checkpoint_to_gguf(const ConvertOptions& options, nlohmann::json& result) {
  onnx_io::gguf::HfToGgufOptions hf;
  if (!options.outtype.empty()) {
    auto type = onnx_io::gguf::parse_ggml_type(options.outtype);
    if (!type) throw Error(ErrorCategory::usage, "--outtype takes f32, f16, bf16, q8_0, q4_0, q4_k or q6_k, not '" + options.outtype + "'");
    hf.outtype = *type;
  }
  std::filesystem::path folder = options.input;
  if (options.input.rfind("hf:", 0) == 0) {
    folder = pull_checkpoint(options.input);
    hf.name = hub::parse_hf_target(options.input).repo.substr(hub::parse_hf_target(options.input).repo.find('/') + 1);
  }
  auto report = onnx_io::gguf::convert_hf_to_gguf(folder, options.output, hf);
  nlohmann::json types = report.type_counts;
  result["architecture"] = report.architecture;
  result["tensors"] = report.tensors;
  result["bytes"] = report.bytes;
  result["tensor_types"] = types;
  result["fallbacks"] = report.fallbacks;
  result["tokenizer"] = {{"model", report.tokenizer_model}, {"tokens", report.vocab_size}};
  if (!options.json) {
    std::cerr << report.architecture << ": " << report.tensors << " tensors (" << human_bytes(report.bytes) << "; "
              << types.dump() << "), tokenizer " << report.tokenizer_model << " with " << report.vocab_size << " tokens\n";
    for (const auto& fallback : report.fallbacks) std::cerr << "  " << fallback << "\n";
  }
}

void convert_onnx_to_weights(const ConvertOptions& options, nlohmann::json& result) {
  ir::Model model = onnx_io::load_model(options.input);
  onnx_io::WeightsMap weights = onnx_io::weights_from_model(model);
  std::string source = std::filesystem::path(options.input).filename().string();
  std::string producer = model.producer_name + (model.producer_version.empty() ? "" : " " + model.producer_version);
  std::string opset = std::to_string(model.default_opset());
  // GGUF keys are namespaced ("general.", "<arch>."): mhub's own go under "mhub.onnx.".
  if (onnx_io::weights_format_of(options.output) == onnx_io::WeightsFormat::gguf)
    weights.metadata = {{"mhub.onnx.source", source}, {"mhub.onnx.producer", producer}, {"mhub.onnx.opset", opset}};
  else
    weights.metadata = {{"format", "onnx"}, {"source", source}, {"producer", producer}, {"opset", opset}};
  onnx_io::GgufOptions gguf;
  gguf.architecture = options.architecture;
  gguf.name = std::filesystem::path(options.input).stem().string();
  onnx_io::write_weights_file(weights, options.output, gguf);
  result["tensors"] = weights.size();
  result["bytes"] = weights.total_bytes();
  std::cerr << weights.size() << " initializers (" << human_bytes(weights.total_bytes()) << ")\n";
}

void convert_onnx(const ConvertOptions& options, nlohmann::json& result) {
  ir::Model model = onnx_io::load_model(options.input);
  std::filesystem::path base_dir = std::filesystem::path(options.input).parent_path();
  if (base_dir.empty()) base_dir = ".";
  if (!options.weights.empty()) {
    auto file = onnx_io::read_weights_file(options.weights, {options.pth_key});
    onnx_io::WeightsIntoGraphOptions load;
    for (const auto& rule : options.map_rules) load.rules.push_back(onnx_io::parse_rename_rule(rule));
    load.allow_partial = options.allow_partial;
    size_t initializer_count = model.graph.initializers.size();
    auto report = onnx_io::load_weights_into_graph(model, file.weights, load);
    if (!options.json) print_weights_report(report, initializer_count);
    result["weights"] = weights_report_json(report);
  }
  // Opset first: bf16 needs opset 13, and the converter knows float32 graphs best.
  if (options.opset > 0) {
    int64_t from = model.default_opset();
    model = onnx_io::convert_opset(model, options.opset, base_dir);
    if (!options.json) std::cerr << "opset " << from << " -> " << options.opset << "\n";
  }
  if (!options.dtype.empty()) {
    onnx_io::LowPrecisionOptions low;
    if (options.dtype == "fp16" || options.dtype == "float16") low.target = ir::DataType::float16;
    else if (options.dtype == "bf16" || options.dtype == "bfloat16") low.target = ir::DataType::bfloat16;
    else throw Error(ErrorCategory::usage, "--dtype takes fp16 or bf16, not '" + options.dtype + "'");
    low.keep_io_types = options.keep_io_types;
    low.allow_clamp = options.allow_clamp;
    low.runtime = options.for_runtime == "any" ? onnx_io::LowPrecisionRuntime::any : onnx_io::LowPrecisionRuntime::ort_cpu;
    for (const auto& op : options.keep_fp32) low.keep_fp32_ops.insert(op);
    ir::Model reference = model;
    auto report = onnx_io::convert_to_low_precision(model, low, base_dir);
    result["dtype"] = precision_report_json(report);
    if (!options.json) {
      std::cerr << options.dtype << ": " << report.converted_tensors << " tensors converted, "
                << report.kept_fp32_nodes << " nodes kept in float32, " << report.casts_inserted << " Casts inserted\n";
      if (report.kept_for_runtime) {
        std::string ops;
        for (const auto& op : report.runtime_fp32_ops) ops += " " + op;
        std::cerr << "  " << report.kept_for_runtime << " of them because ONNX Runtime's CPU provider has no "
                  << options.dtype << " kernel for:" << ops << " (--for-runtime any keeps them in " << options.dtype
                  << ")\n";
      }
      if (report.out_of_range)
        std::cerr << "  " << report.out_of_range << " values beyond float16's range clamped to ±65504 (first: "
                  << report.out_of_range_tensors.front().first << ")\n";
      if (report.flushed_to_zero) std::cerr << "  " << report.flushed_to_zero << " tiny values became 0\n";
    }
    try {
      auto errors = onnx_io::measure_precision_error(reference, model, sample_inputs(reference), run_with_engine);
      nlohmann::json list = nlohmann::json::array();
      for (const auto& error : errors) {
        list.push_back({{"output", error.output}, {"max_abs_error", error.max_abs_error},
                        {"max_rel_error", error.max_rel_error}, {"max_error_vs_largest", error.max_error_vs_largest},
                        {"elements", error.elements}});
        if (!options.json)
          std::cerr << "  output " << error.output << ": max abs error " << error.max_abs_error
                    << ", max rel error " << error.max_rel_error << " (per element), max error / largest |output| "
                    << error.max_error_vs_largest << " (vs float32, fixed random input)\n";
      }
      result["dtype"]["errors"] = list;
    } catch (const Error& e) {
      // The conversion itself is sound; only the measurement needs the engine to run both models
      // (an op it lacks, say). Say so and still write the model.
      result["dtype"]["errors"] = nullptr;
      result["dtype"]["errors_not_measured"] = e.what();
      if (!options.json) std::cerr << "  error vs float32 not measured: " << e.what() << "\n";
    }
  }
  bool safetensors_data = options.external_file.size() > 12 &&
                          options.external_file.compare(options.external_file.size() - 12, 12, ".safetensors") == 0;
  if (safetensors_data) {
    size_t moved = onnx_io::save_model_with_safetensors_data(model, options.output, options.external_file,
                                                             parse_threshold(options.external));
    result["external_tensors"] = moved;
    return;
  }
  onnx_io::SaveOptions save;
  if (options.external_given) save.external_threshold = parse_threshold(options.external);
  save.external_file = options.external_file;
  onnx_io::save_model(model, options.output, save);
}

}  // namespace

void add_convert(CLI::App& app) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* command = app.add_subcommand(
      "convert",
      "Convert between formats; IN's and OUT's extensions choose the conversion:\n"
      "  .onnx -> .onnx                 opset change, external data, --weights, --dtype\n"
      "  .onnx -> .safetensors | .gguf  all initializers, names kept\n"
      "  .pth/.pt/.bin/.ckpt/.safetensors/.gguf -> .safetensors | .gguf   weights only\n"
      "  HF_FOLDER | hf:ORG/REPO[@REV] -> .gguf   a Hugging Face causal LM (llama, mistral, qwen2,\n"
      "                                 gpt2) for llama.cpp/ollama: hyperparameters, tokenizer, --outtype\n"
      "PyTorch checkpoints are read without Python and without running pickled code: only what "
      "torch.load(weights_only=True) allows.");
  command->add_option("IN", options->input,
                      "The file to read (.onnx, .safetensors, .gguf, .pth, .pt, .bin, .ckpt), or a Hugging "
                      "Face checkpoint: a folder with config.json, or hf:ORG/REPO[@REV] (pulled into the cache)")->required();
  command->add_option("OUT", options->output, "Where to write the result (.onnx, .safetensors, .gguf)")->required();
  command->add_option("--opset", options->opset,
                      "Convert the default-domain opset to N with ONNX's version converter")
      ->type_name("N");
  command->add_option("--external-data", options->external,
                      "Store initializers of at least BYTES (default 1024; suffixes K, M, G) in "
                      "OUT.data beside OUT; needed for models over 2 GiB")
      ->type_name("[BYTES]")
      ->expected(0, 1)
      ->default_str("")
      ->trigger_on_parse();
  command->add_option("--external-file", options->external_file,
                      "Name of the external data file, relative to OUT's folder (default OUT.data). "
                      "A name ending in .safetensors writes a valid safetensors file that the ONNX "
                      "model's external data points into, so one weight file serves ONNX and "
                      "safetensors readers (threshold from --external-data, default 1024)");
  command->add_option("--weights", options->weights,
                      "Put these pretrained weights (.safetensors, .pth, .pt, .bin, .gguf) into IN's "
                      "initializers: exact names first, then a unique name-suffix match "
                      "('fc.weight' fills 'model.fc.weight'); every match is dtype- and shape-checked. "
                      "Initializers the exporter named itself ('onnx::Conv_123' from Conv+BatchNorm "
                      "folding) cannot be matched and are reported");
  command->add_option("--map", options->map_rules,
                      "Rename weights before matching, FROM=TO (split at the last '='; repeatable, "
                      "applied in order). FROM is a literal prefix ('module.=' drops DataParallel's "
                      "prefix), or an ECMAScript regex when it starts with '^' "
                      "('^backbone\\.=' , '^blocks\\.(\\d+)\\.=layer$1.')");
  command->add_flag("--allow-partial", options->allow_partial,
                    "With --weights: write OUT even if some initializers were not matched or "
                    "mismatched (they keep IN's values); without it that is an error");
  command->add_option("--pth-key", options->pth_key,
                      "Which entry of a training checkpoint holds the weights ('model', 'ema', "
                      "'state_dict.module'); default: the top level, else the first of state_dict, "
                      "model, module, ema, model_ema, net, params");
  command->add_option("--dtype", options->dtype,
                      "Convert float32 weights and computation to fp16 or bf16. Reductions and "
                      "normalizations (ReduceMean, LayerNormalization, Softmax, ...) stay float32 "
                      "through inserted Casts, as do ops the target runtime lacks (see --for-runtime); "
                      "values beyond fp16's range are an error (see --allow-clamp). Reports the max "
                      "error against the float32 model on a fixed random input")
      ->check(CLI::IsMember({"fp16", "bf16", "float16", "bfloat16"}));
  command->add_flag("--keep-io-types", options->keep_io_types,
                    "With --dtype: keep float32 graph inputs and outputs (Casts at the edges)");
  command->add_option("--keep-fp32", options->keep_fp32,
                      "With --dtype: more op types to compute in float32, e.g. --keep-fp32 Exp Pow")
      ->delimiter(',');
  command->add_flag("--allow-clamp", options->allow_clamp,
                    "With --dtype fp16: clamp weights beyond ±65504 (they are counted and reported) "
                    "instead of failing");
  command->add_option("--for-runtime", options->for_runtime,
                      "With --dtype: whose kernels decide which ops may compute in fp16/bf16. ort-cpu: ops "
                      "ONNX Runtime's CPU provider lacks in that type compute in float32 behind Casts (for bf16: "
                      "all but data movement, Cast, Sign), weights are still stored in bf16, so ORT runs "
                      "the model; any: only ops ONNX defines no such type for (for runtimes with full bf16 kernels)")
      ->capture_default_str()->check(CLI::IsMember({"ort-cpu", "any"}));
  command->add_option("--architecture", options->architecture,
                      "general.architecture written into a .gguf OUT (default 'mhub')");
  command->add_option("--outtype", options->outtype,
                      "Checkpoint -> .gguf: the type of the weight matrices: f32, f16 (default), bf16, q8_0, "
                      "q4_0, q4_k, q6_k (ggml's reference quantizers; norms and 1-D tensors stay f32)");
  command->add_flag("--json", options->json, "Print one JSON object describing the conversion on stdout");
  command->callback([options, command] {
    options->external_given = command->count("--external-data") > 0;
    std::string in_ext = extension_of(options->input);
    std::string out_ext = extension_of(options->output);
    auto in_weights = onnx_io::weights_format_of(options->input);
    auto out_weights = onnx_io::weights_format_of(options->output);
    bool onnx_only = options->opset > 0 || options->external_given || !options->weights.empty() || !options->dtype.empty();
    nlohmann::json result = {{"input", options->input}, {"output", options->output}};
    bool checkpoint = options->input.rfind("hf:", 0) == 0 || onnx_io::gguf::is_hf_checkpoint_folder(options->input);
    if (!options->outtype.empty() && !(checkpoint && out_weights == onnx_io::WeightsFormat::gguf))
      throw Error(ErrorCategory::usage, "--outtype applies to a Hugging Face checkpoint converted to .gguf only");
    if (checkpoint) {
      if (out_weights != onnx_io::WeightsFormat::gguf)
        throw Error(ErrorCategory::usage, "a Hugging Face checkpoint converts to .gguf (its weights alone: name a "
                                          ".safetensors or .bin file inside it as IN)");
      if (onnx_only) throw Error(ErrorCategory::usage, "--opset, --external-data, --weights and --dtype apply to .onnx outputs only");
      convert_checkpoint_to_gguf(*options, result);
    } else if (in_ext == ".onnx" && out_ext == ".onnx") {
      convert_onnx(*options, result);
    } else if (in_ext == ".onnx" && (out_weights == onnx_io::WeightsFormat::safetensors ||
                                     out_weights == onnx_io::WeightsFormat::gguf)) {
      if (onnx_only) throw Error(ErrorCategory::usage, "--opset, --external-data, --weights and --dtype apply to .onnx outputs only");
      convert_onnx_to_weights(*options, result);
    } else if (in_weights != onnx_io::WeightsFormat::none && (out_weights == onnx_io::WeightsFormat::safetensors ||
                                                              out_weights == onnx_io::WeightsFormat::gguf)) {
      if (onnx_only) throw Error(ErrorCategory::usage, "--opset, --external-data, --weights and --dtype apply to .onnx outputs only");
      convert_weights_only(*options, result);
    } else if (in_weights != onnx_io::WeightsFormat::none && out_ext == ".onnx") {
      throw Error(ErrorCategory::usage, options->input + " holds weights only, no graph; put them into an "
                                        "architecture with: mhub convert ARCH.onnx " + options->output +
                                        " --weights " + options->input);
    } else {
      throw Error(ErrorCategory::unsupported, "cannot convert '" + in_ext + "' to '" + out_ext +
                                                  "'; see 'mhub convert --help' for the supported pairs");
    }
    if (options->json)
      std::cout << result.dump(2) << "\n";
    else
      std::cout << options->output << "\n";
  });
}

}  // namespace mhub::cli
