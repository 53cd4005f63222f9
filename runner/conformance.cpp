#include "runner/conformance.h"

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "common/error.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "onnx_io/data_value.h"
#include "onnx_io/model_io.h"
#include "runner/compare.h"
#include "runner/values.h"

namespace fs = std::filesystem;

namespace mhub::runner {

namespace {

constexpr const char* kTrainingDomain = "ai.onnx.preview.training";

struct CaseSpec {
  std::string name;
  fs::path model;
  fs::path light_output;  // set for the light layout
};

std::vector<std::string> ops_of(const ir::Model& model) {
  std::set<std::string> ops;
  for (const ir::Node& node : model.graph.nodes) ops.insert(node.op_type);
  return {ops.begin(), ops.end()};
}

bool uses_training_ops(const ir::Model& model) {
  bool found = false;
  ir::for_each_graph(model.graph, [&](const ir::Graph& graph) {
    for (const ir::Node& node : graph.nodes)
      if (node.domain == kTrainingDomain) found = true;
  });
  return found;
}

// Graph inputs the test data feeds: those without an initializer, in order.
std::vector<const ir::ValueInfo*> fed_inputs(const ir::Model& model) {
  std::vector<const ir::ValueInfo*> fed;
  for (const ir::ValueInfo& input : model.graph.inputs)
    if (!model.graph.initializer(input.name)) fed.push_back(&input);
  return fed;
}

ir::Type type_or_none(const std::optional<ir::Type>& type) { return type.value_or(ir::Type{}); }

engine::Value zeros_for(const ir::ValueInfo& input) {
  ir::Type type = type_or_none(input.type);
  if (type.kind != ir::Type::Kind::tensor)
    throw_error(ErrorCategory::unsupported, "light model input '" + input.name + "' is not a tensor");
  std::vector<int64_t> dims;
  if (type.shape)
    for (const ir::Dim& dim : type.shape->dims)
      dims.push_back(dim.kind == ir::Dim::Kind::value ? dim.value : 1);
  return engine::Value::of(ir::Tensor::zeros(type.dtype(), dims));
}

// Runs the session on one data set; returns "" when every output matches.
std::string check_data_set(engine::Session& session, const ir::Model& model,
                           const std::vector<engine::Value>& inputs,
                           const std::vector<engine::Value>& expected) {
  auto fed = fed_inputs(model);
  std::vector<std::pair<std::string, engine::Value>> named;
  for (size_t i = 0; i < inputs.size() && i < fed.size(); ++i) named.emplace_back(fed[i]->name, inputs[i]);
  std::vector<engine::Value> outputs = session.run(named);
  if (outputs.size() != expected.size())
    return "model has " + std::to_string(outputs.size()) + " outputs, test data " +
           std::to_string(expected.size());
  for (size_t i = 0; i < outputs.size(); ++i)
    if (auto why = compare_values(outputs[i], expected[i]))
      return "output " + std::to_string(i) + " '" + model.graph.outputs[i].name + "': " + *why;
  return "";
}

std::vector<fs::path> sorted_matching(const fs::path& dir, const std::string& prefix, const std::string& suffix) {
  std::vector<std::pair<int, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string number = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::stoi(number), entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> paths;
  for (auto& [n, p] : found) paths.push_back(p);
  return paths;
}

CaseResult run_spec(const CaseSpec& spec, const ConformanceOptions& options) {
  CaseResult result;
  result.name = spec.name;
  auto start = std::chrono::steady_clock::now();
  ir::Model model;
  try {
    model = onnx_io::load_model(spec.model);
    if (uses_training_ops(model)) {
      result.status = CaseResult::Status::skipped;
      result.reason = "training op (ai.onnx.preview.training)";
      return result;
    }
    std::vector<std::string> missing = engine::unsupported_ops(model, engine::host_backend());
    if (!missing.empty()) {
      result.reason = "unsupported op";
      for (const std::string& op : missing) result.reason += " " + op;
      result.ops = missing;
      return result;
    }
    engine::SessionOptions session_options;
    session_options.threads = options.threads;
    session_options.allow_fast = options.allow_fast;
    session_options.preferred_backend = options.backend;
    engine::Session session(model, engine::host_backend(), session_options);
    auto fed = fed_inputs(model);
    const auto& outputs = model.graph.outputs;
    std::string failure;
    if (!spec.light_output.empty()) {
      std::vector<engine::Value> inputs;
      for (const ir::ValueInfo* input : fed) inputs.push_back(zeros_for(*input));
      std::vector<engine::Value> expected;
      for (size_t k = 0; k < outputs.size(); ++k) {
        std::string file = spec.light_output.string();
        file.replace(file.size() - 4, 1, std::to_string(k));  // ..._output_K.pb
        expected.push_back(read_value_file(file, type_or_none(outputs[k].type)));
      }
      failure = check_data_set(session, model, inputs, expected);
    } else {
      fs::path dir = spec.model.parent_path();
      auto sets = sorted_matching(dir, "test_data_set_", "");
      if (sets.empty()) throw_error(ErrorCategory::io, dir.string() + ": no test_data_set_N folder");
      for (const fs::path& set : sets) {
        std::vector<engine::Value> inputs, expected;
        auto input_files = sorted_matching(set, "input_", ".pb");
        for (size_t k = 0; k < input_files.size(); ++k)
          inputs.push_back(read_value_file(input_files[k].string(),
                                           k < fed.size() ? type_or_none(fed[k]->type) : ir::Type{}));
        auto output_files = sorted_matching(set, "output_", ".pb");
        for (size_t k = 0; k < output_files.size(); ++k)
          expected.push_back(read_value_file(output_files[k].string(),
                                             k < outputs.size() ? type_or_none(outputs[k].type) : ir::Type{}));
        failure = check_data_set(session, model, inputs, expected);
        if (!failure.empty()) {
          failure = set.filename().string() + ": " + failure;
          break;
        }
      }
    }
    if (failure.empty()) {
      result.status = CaseResult::Status::passed;
    } else {
      result.reason = failure;
      result.ops = ops_of(model);
    }
  } catch (const std::exception& error) {
    result.status = CaseResult::Status::failed;
    result.reason = error.what();
    result.ops = ops_of(model);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<CaseSpec> discover(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw_error(ErrorCategory::io, dir.string() + ": not a folder; give a backend-test case folder "
                                                  "or a folder of them (e.g. onnx-backend-tests/node)");
  std::vector<CaseSpec> specs;
  if (fs::exists(dir / "model.onnx")) {
    specs.push_back({dir.filename().string(), dir / "model.onnx", {}});
    return specs;
  }
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& path : entries) {
    if (fs::is_directory(path) && fs::exists(path / "model.onnx")) {
      specs.push_back({path.filename().string(), path / "model.onnx", {}});
    } else if (path.extension() == ".onnx") {
      fs::path output = path.parent_path() / (path.stem().string() + "_output_0.pb");
      if (fs::exists(output)) specs.push_back({path.stem().string(), path, output});
    }
  }
  if (specs.empty())
    throw_error(ErrorCategory::io, dir.string() + ": holds no test cases (no model.onnx, no "
                                                  "X.onnx with X_output_0.pb)");
  return specs;
}

}  // namespace

CaseResult run_case_folder(const std::string& case_dir, const ConformanceOptions& options) {
  fs::path dir(case_dir);
  return run_spec({dir.filename().string(), dir / "model.onnx", {}}, options);
}

DirResult run_conformance_dir(const std::string& dir, const ConformanceOptions& options) {
  std::vector<CaseSpec> specs = discover(dir);
  if (!options.filter.empty())
    std::erase_if(specs, [&](const CaseSpec& spec) {
      return fnmatch(options.filter.c_str(), spec.name.c_str(), 0) != 0;
    });
  DirResult result;
  result.path = dir;
  result.cases.resize(specs.size());
  int jobs = options.jobs > 0 ? options.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(specs.size())));
  if (options.backend) jobs = 1;  // a device backend runs one session at a time
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < specs.size();) result.cases[i] = run_spec(specs[i], options);
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(worker);
  worker();
  for (auto& thread : threads) thread.join();
  for (const CaseResult& c : result.cases) {
    if (c.status == CaseResult::Status::passed) ++result.passed;
    else if (c.status == CaseResult::Status::skipped) ++result.skipped;
    else ++result.failed;
  }
  return result;
}

}  // namespace mhub::runner
