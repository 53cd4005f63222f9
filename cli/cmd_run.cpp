// mhub run MODEL --input NAME=FILE ... [--output-dir DIR] [--threads N] [--device D] [--runs N]
//          [--precision fp32|bf16] [--verbose] [--json]
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/catalogue_option.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/model_source.h"
#include "common/error.h"
#include "common/printable.h"
#include "engine/core/float_types.h"
#include "engine/core/session.h"
#include "onnx_io/model_io.h"
#include "engine/ir/npy.h"
#include "engine/devices.h"
#include "onnx_io/tensor_proto.h"
#include "runner/values.h"

namespace mhub::cli {

namespace {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::string output_dir;
  int threads = 0;
  int runs = 1;
  std::string device;
  bool verbose = false;
  bool json = false;
  std::string precision = "fp32";
};

// Output names may hold '/', ':' and the like: keep letters, digits, '-', '_', '.'.
std::string sanitize(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (out.empty() || out[0] == '.') out = "output" + out;
  return out;
}

// One file name per output: sanitising can map two names to one ("a/b" and "a_b"), so a name
// already taken gets the output's index ("a_b.2"), and no output overwrites another.
std::vector<std::string> output_file_stems(const std::vector<engine::PortInfo>& outputs) {
  std::vector<std::string> stems;
  std::set<std::string> taken;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string stem = sanitize(outputs[i].name);
    if (taken.count(stem)) stem += "." + std::to_string(i);
    for (int extra = 2; taken.count(stem); ++extra) stem = sanitize(outputs[i].name) + "." + std::to_string(i) + "-" + std::to_string(extra);
    taken.insert(stem);
    stems.push_back(stem);
  }
  return stems;
}

nlohmann::json summarize(const std::string& name, const engine::Value& value) {
  nlohmann::json out{{"name", name}, {"value", runner::describe_value(value)}};
  if (!value.is_tensor()) return out;
  const ir::Tensor& t = value.tensor;
  out["dtype"] = std::string(ir::name_of(t.dtype));
  out["shape"] = t.dims;
  size_t n = t.numel();
  if (t.dtype == ir::DataType::string || n == 0 || ir::bits_of(t.dtype) == 0) return out;
  double low = INFINITY, high = -INFINITY, sum = 0;
  for (size_t i = 0; i < n; ++i) {
    double v = engine::element_as_double(t, i);
    low = std::min(low, v);
    high = std::max(high, v);
    sum += v;
  }
  out["min"] = low;
  out["max"] = high;
  out["mean"] = sum / static_cast<double>(n);
  if (t.dims.size() == 2 && ir::is_float(t.dtype) && t.dims[1] > 1) {
    std::vector<int64_t> top;
    for (int64_t r = 0; r < t.dims[0]; ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < t.dims[1]; ++c)
        if (engine::element_as_double(t, r * t.dims[1] + c) > engine::element_as_double(t, r * t.dims[1] + best)) best = c;
      top.push_back(best);
    }
    out["top1"] = top;
  }
  return out;
}

// The class names of a catalogue entry (preprocessing.label_names), for a MODEL given by catalogue
// name; empty for a path or an entry without them.
std::vector<std::string> catalogue_label_names(const std::string& name_or_path) {
  const std::filesystem::path path(name_or_path);
  if (std::filesystem::exists(path) || name_or_path.find('/') != std::string::npos || path.extension() == ".onnx") return {};
  return registry::resolve(effective_catalogue(), name_or_path).entry->preprocessing.label_names;
}

// Adds "top1_labels" beside "top1" when the class ids index `labels`.
void name_top1(nlohmann::json& entry, const std::vector<std::string>& labels) {
  if (labels.empty() || !entry.contains("top1")) return;
  nlohmann::json names = nlohmann::json::array();
  for (const auto& id : entry["top1"]) {
    const int64_t c = id.get<int64_t>();
    if (c < 0 || static_cast<size_t>(c) >= labels.size()) return;  // another head than the catalogue describes
    names.push_back(labels[static_cast<size_t>(c)]);
  }
  entry["top1_labels"] = names;
}

}  // namespace

void add_run(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* command = app.add_subcommand(
      "run", "Run a model once, or --runs N times (CPU, or a GPU with --device) with inputs from .npy or TensorProto "
             ".pb files; print a summary of each output of the last run and optionally save them as .npy.");
  command->add_option("MODEL", options->model, kModelHelp)->required();
  command->add_option("--input,-i", options->inputs,
                      "NAME=FILE for a named input, or FILE to feed inputs in order; FILE is .npy "
                      "or a TensorProto/SequenceProto .pb. Repeat for each input.");
  command->add_option("--output-dir,-o", options->output_dir,
                      "Write each output to DIR/<output name>.npy (names sanitised; string "
                      "outputs as .pb)");
  add_threads_option(command, "--threads", options->threads, "Engine threads (default: all cores)");
  add_device_option(command, options->device);
  command->add_option("--runs", options->runs,
                      "Run N times on the same inputs and report the last run (default 1). From the 2nd run on, "
                      "inputs with symbolic dims run a plan specialised to the fed dims, the one `mhub bench` times")
      ->check(CLI::PositiveNumber);
  command->add_option("--precision", options->precision,
                      "fp32 (default) or bf16: Conv, ConvTranspose, MatMul and Gemm compute in bfloat16 with float32 "
                      "accumulation where the CPU has AVX512_BF16 or AMX; inputs, outputs and every other op stay float32")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  command->add_flag("--verbose", options->verbose, "Print where each node runs and load-time passes");
  command->add_flag("--json", options->json,
                    "Print {\"outputs\":[{name,dtype,shape,min,max,mean,top1,top1_labels,file}],\"ms\",\"runs\"} (ms: the last run)");
  command->callback([options] {
    std::error_code ignored;
    if (!options->output_dir.empty() && std::filesystem::exists(options->output_dir, ignored) &&
        !std::filesystem::is_directory(options->output_dir, ignored))
      throw_error(ErrorCategory::usage, "--output-dir '" + printable(options->output_dir) +
                                            "' is a file; give a folder (it is created when missing)");
    std::filesystem::path path = resolve_model(options->model);
    ir::Model model = onnx_io::load_model(path);
    engine::SessionOptions session_options;
    session_options.threads = options->threads;
    session_options.verbose = options->verbose;
    session_options.preferred_backend = chosen_backend(options->device);
    session_options.compute_precision = options->precision;
    note_cpu_bf16_speed(options->precision, session_options.preferred_backend);
    engine::Session session(model, engine::host_backend(), session_options);
    if (options->verbose)
      for (const std::string& line : session.log()) std::cerr << line << "\n";

    std::vector<std::pair<std::string, engine::Value>> feeds;
    size_t positional = 0;
    for (const std::string& spec : options->inputs) {
      std::string name, file = spec;
      size_t eq = spec.find('=');
      if (eq != std::string::npos) {
        std::string candidate = spec.substr(0, eq);
        for (const engine::PortInfo& port : session.inputs())
          if (port.name == candidate) {
            name = candidate;
            file = spec.substr(eq + 1);
          }
      }
      if (name.empty()) {
        if (positional >= session.inputs().size())
          throw_error(ErrorCategory::usage, "more --input files than the model has inputs (" +
                                                std::to_string(session.inputs().size()) + ")");
        name = session.inputs()[positional++].name;
      }
      ir::Type type;
      for (const engine::PortInfo& port : session.inputs())
        if (port.name == name) type = port.type;
      feeds.emplace_back(name, runner::read_value_file(file, type));
    }
    const size_t logged = session.log().size();
    std::vector<engine::Value> outputs;
    double ms = 0;  // of the last run
    for (int run = 0; run < options->runs; ++run) {
      outputs.clear();  // the last run's buffers go back to the pool before this run
      auto start = std::chrono::steady_clock::now();
      outputs = session.run(feeds);
      ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    if (options->verbose)  // what the runs added: the plan built for these input dims
      for (size_t i = logged; i < session.log().size(); ++i) std::cerr << session.log()[i] << "\n";

    const std::vector<std::string> labels = catalogue_label_names(options->model);
    nlohmann::json report{{"model", path.string()}, {"ms", ms}, {"runs", options->runs}, {"outputs", nlohmann::json::array()}};
    if (!options->output_dir.empty()) std::filesystem::create_directories(options->output_dir);
    const std::vector<std::string> stems = output_file_stems(session.outputs());
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string& name = session.outputs()[i].name;
      nlohmann::json entry = summarize(name, outputs[i]);
      name_top1(entry, labels);
      if (!options->output_dir.empty() && outputs[i].is_tensor()) {
        const ir::Tensor& t = outputs[i].tensor;
        bool npy_ok = t.dtype != ir::DataType::string && t.dtype != ir::DataType::bfloat16 && ir::bits_of(t.dtype) >= 8 &&
                      !(ir::is_float(t.dtype) && ir::bits_of(t.dtype) == 8);
        std::filesystem::path file = std::filesystem::path(options->output_dir) / (stems[i] + (npy_ok ? ".npy" : ".pb"));
        if (npy_ok) ir::write_npy(t, file.string());
        else onnx_io::write_tensor_file(t, file.string());
        entry["file"] = file.string();
      }
      report["outputs"].push_back(entry);
    }
    if (options->json) {
      std::cout << report.dump(2) << "\n";
      return;
    }
    std::cout << path.string() << ": ran in " << ms << " ms" << (options->runs > 1 ? " (the last of " + std::to_string(options->runs) + " runs)" : "") << "\n";
    for (const auto& entry : report["outputs"]) {
      std::cout << "  " << printable(entry["name"].get<std::string>()) << "  " << printable(entry["value"].get<std::string>());
      if (entry.contains("min"))
        std::cout << "  min " << entry["min"].get<double>() << "  max " << entry["max"].get<double>() << "  mean "
                  << entry["mean"].get<double>();
      if (entry.contains("top1")) std::cout << "  top-1 " << entry["top1"].dump();
      if (entry.contains("top1_labels")) {
        std::cout << " (";
        for (size_t k = 0; k < entry["top1_labels"].size(); ++k)
          std::cout << (k ? ", " : "") << printable(entry["top1_labels"][k].get<std::string>());
        std::cout << ")";
      }
      if (entry.contains("file")) std::cout << "  -> " << printable(entry["file"].get<std::string>());
      std::cout << "\n";
    }
  });
}

}  // namespace mhub::cli
