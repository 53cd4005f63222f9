// mhub convert IN OUT [--opset N] [--external-data[=BYTES]]
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "common/error.h"
#include "onnx_io/model_io.h"
#include "onnx_io/onnx_tools.h"

namespace mhub::cli {

namespace {

struct ConvertOptions {
  std::string input;
  std::string output;
  int opset = 0;
  std::string external;  // "" = not given; a number = threshold in bytes
  bool external_given = false;
  std::string external_file;
};

std::string extension_of(const std::string& path) {
  auto dot = path.find_last_of('.');
  auto slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return path.substr(dot);
}

uint64_t parse_threshold(const std::string& text) {
  if (text.empty()) return 1024;  // onnx's own default for convert_model_to_external_data
  size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string suffix = text.substr(used);
  uint64_t scale = suffix == "" ? 1 : suffix == "K" || suffix == "KiB" ? 1024
                 : suffix == "M" || suffix == "MiB" ? 1024 * 1024
                 : suffix == "G" || suffix == "GiB" ? uint64_t{1} << 30 : 0;
  if (used == 0 || scale == 0)
    throw Error(ErrorCategory::usage, "--external-data takes a size in bytes (e.g. 1024, 4K, 1M), not '" + text + "'");
  return value * scale;
}

}  // namespace

void add_convert(CLI::App& app) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* command = app.add_subcommand(
      "convert", "Convert a model; the output format follows OUT's extension (.onnx). "
                 "Optionally change the opset or move weights to an external data file.");
  command->add_option("IN", options->input, "The model to read (.onnx)")->required();
  command->add_option("OUT", options->output, "Where to write the result (.onnx)")->required();
  command->add_option("--opset", options->opset,
                      "Convert the default-domain opset to N with ONNX's version converter");
  command->add_option("--external-data", options->external,
                      "Store initializers of at least BYTES (default 1024; suffixes K, M, G) in "
                      "OUT.data beside OUT; needed for models over 2 GiB")
      ->expected(0, 1)
      ->default_str("")
      ->trigger_on_parse();
  command->add_option("--external-file", options->external_file,
                      "Name of the external data file, relative to OUT's folder (default OUT.data)");
  command->callback([options, command] {
    options->external_given = command->count("--external-data") > 0;
    std::string in_ext = extension_of(options->input);
    std::string out_ext = extension_of(options->output);
    if (in_ext != ".onnx")
      throw Error(ErrorCategory::unsupported, options->input + ": input format '" + in_ext +
                                                  "' is not supported; convert reads .onnx");
    if (out_ext != ".onnx")
      throw Error(ErrorCategory::unsupported, options->output + ": output format '" + out_ext +
                                                  "' is not supported; convert writes .onnx");
    ir::Model model = onnx_io::load_model(options->input);
    std::filesystem::path base_dir = std::filesystem::path(options->input).parent_path();
    if (base_dir.empty()) base_dir = ".";
    if (options->opset > 0) {
      int64_t from = model.default_opset();
      model = onnx_io::convert_opset(model, options->opset, base_dir);
      std::cerr << "opset " << from << " -> " << options->opset << "\n";
    }
    onnx_io::SaveOptions save;
    if (options->external_given) save.external_threshold = parse_threshold(options->external);
    save.external_file = options->external_file;
    onnx_io::save_model(model, options->output, save);
    std::cout << options->output << "\n";
  });
}

}  // namespace mhub::cli
