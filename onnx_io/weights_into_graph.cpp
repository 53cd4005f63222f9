#include "onnx_io/weights_into_graph.h"

#include <regex>
#include <unordered_map>

#include "common/error.h"

namespace mhub::onnx_io {

namespace {

bool ends_with_component(const std::string& text, const std::string& tail) {
  return text.size() > tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0 &&
         text[text.size() - tail.size() - 1] == '.';
}

// Names torch.onnx.export invents for tensors that are not module parameters.
bool is_generated_name(const std::string& name) {
  return name.rfind("onnx::", 0) == 0 || name.rfind("_Constant", 0) == 0 || name.rfind("/", 0) == 0;
}

}  // namespace

RenameRule parse_rename_rule(const std::string& text) {
  size_t equals = text.rfind('=');
  if (equals == std::string::npos || equals == 0)
    throw Error(ErrorCategory::usage, "--map rule '" + text + "' must look like FROM=TO (e.g. 'module.=' or '^backbone\\.=')");
  RenameRule rule{text.substr(0, equals), text.substr(equals + 1), text[0] == '^'};
  if (rule.is_regex) {
    try {
      std::regex check(rule.from);
    } catch (const std::regex_error& error) {
      throw Error(ErrorCategory::usage, "--map rule '" + text + "': invalid regex: " + error.what());
    }
  }
  return rule;
}

std::string apply_rename_rules(const std::vector<RenameRule>& rules, const std::string& name) {
  std::string result = name;
  for (const auto& rule : rules) {
    if (rule.is_regex)
      result = std::regex_replace(result, std::regex(rule.from), rule.to, std::regex_constants::format_first_only);
    else if (result.rfind(rule.from, 0) == 0)
      result = rule.to + result.substr(rule.from.size());
  }
  return result;
}

std::string describe_tensor_type(const ir::Tensor& tensor) {
  std::string text = std::string(ir::name_of(tensor.dtype)) + "[";
  for (size_t i = 0; i < tensor.dims.size(); ++i) text += (i ? "," : "") + std::to_string(tensor.dims[i]);
  return text + "]";
}

WeightsReport load_weights_into_graph(ir::Model& model, const WeightsMap& weights,
                                      const WeightsIntoGraphOptions& options) {
  auto& initializers = model.graph.initializers;
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < initializers.size(); ++i) by_name.emplace(initializers[i].name, i);

  WeightsReport report;
  std::vector<int> source_of(initializers.size(), -1);  // weight index chosen for each initializer
  std::vector<std::string> renamed;
  for (const auto& weight : weights.tensors()) renamed.push_back(apply_rename_rules(options.rules, weight.name));

  // Pass 1: exact names. Pass 2: suffix matches, only when exactly one initializer fits, so a
  // shared suffix ("weight") never picks an arbitrary tensor.
  std::vector<bool> used(weights.size(), false);
  for (size_t w = 0; w < weights.size(); ++w) {
    auto found = by_name.find(renamed[w]);
    if (found != by_name.end() && source_of[found->second] < 0) {
      source_of[found->second] = static_cast<int>(w);
      used[w] = true;
    }
  }
  std::vector<bool> by_suffix(initializers.size(), false);
  for (size_t w = 0; w < weights.size(); ++w) {
    if (used[w]) continue;
    int candidate = -1;
    int candidates = 0;
    for (size_t i = 0; i < initializers.size(); ++i) {
      if (source_of[i] >= 0) continue;
      const std::string& name = initializers[i].name;
      if (ends_with_component(name, renamed[w]) || ends_with_component(renamed[w], name)) {
        candidate = static_cast<int>(i);
        ++candidates;
      }
    }
    if (candidates == 1) {
      source_of[candidate] = static_cast<int>(w);
      by_suffix[candidate] = true;
      used[w] = true;
    }
  }

  std::vector<ir::Tensor> updated = initializers;
  for (size_t i = 0; i < initializers.size(); ++i) {
    const ir::Tensor& target = initializers[i];
    if (source_of[i] < 0) {
      report.unmatched_initializers.push_back(target.name);
      if (is_generated_name(target.name)) report.generated_initializers.push_back(target.name);
      continue;
    }
    const ir::Tensor& weight = weights.tensors()[source_of[i]];
    if (weight.dtype != target.dtype || weight.dims != target.dims) {
      report.mismatched.push_back({target.name, weight.name, describe_tensor_type(target), describe_tensor_type(weight)});
      continue;
    }
    ir::Tensor& out = updated[i];
    out.storage = weight.storage;
    out.offset = weight.offset;
    out.strings = weight.strings;
    out.encoding = ir::TensorEncoding::raw;
    out.external_data.clear();
    out.segment.reset();
    report.matched.push_back({target.name, weight.name, !by_suffix[i]});
  }
  for (size_t w = 0; w < weights.size(); ++w)
    if (!used[w]) report.unused_weights.push_back(weights.tensors()[w].name);

  if (!options.allow_partial && !report.complete()) {
    std::string message = "the weights do not fill the architecture: " + std::to_string(report.matched.size()) +
                          " of " + std::to_string(initializers.size()) + " initializers matched";
    if (!report.mismatched.empty()) {
      const auto& first = report.mismatched.front();
      message += "; " + std::to_string(report.mismatched.size()) + " mismatched (first: '" + first.initializer +
                 "' is " + first.expected + " but '" + first.weight + "' is " + first.found + ")";
    }
    if (!report.unmatched_initializers.empty()) {
      message += "; " + std::to_string(report.unmatched_initializers.size()) + " unmatched (first: '" +
                 report.unmatched_initializers.front() + "')";
      if (!report.generated_initializers.empty())
        message += ", " + std::to_string(report.generated_initializers.size()) +
                   " of them named by the exporter (e.g. Conv+BatchNorm folding); to keep BatchNorm "
                   "parameters by name, export with training=torch.onnx.TrainingMode.PRESERVE";
    }
    message += ". Add --map rules to rename weights, or --allow-partial to keep the architecture's values for the rest";
    throw Error(ErrorCategory::format, message);
  }
  initializers = std::move(updated);
  return report;
}

}  // namespace mhub::onnx_io
