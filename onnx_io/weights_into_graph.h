// Putting pretrained weights (a WeightsMap from .safetensors or .pth) into an ONNX architecture.
//
// Matching, for each weight after the rename rules: (1) an initializer with exactly its name;
// (2) otherwise the one initializer whose name ends with "." + name, or whose name the weight
// ends with after a "." (a wrapper module added or dropped a prefix). Initializers that
// torch.onnx.export generated ("onnx::Conv_123" from Conv+BatchNorm folding, deduplicated
// constants) carry no parameter name and cannot be matched: they are reported as generated.
// Every match is checked for dtype and shape; the weight's bytes replace the initializer's
// (the tensor shares the weight's storage: no copy).
#pragma once

#include <string>
#include <vector>

#include "onnx_io/weights_map.h"

namespace mhub::onnx_io {

// One --map rule "FROM=TO" (split at the last '='). FROM starting with '^' is an ECMAScript
// regex replaced by TO ($1 etc. allowed); otherwise FROM is a literal prefix replaced by TO.
// Rules apply in order, each to the result of the one before.
struct RenameRule {
  std::string from;
  std::string to;
  bool is_regex = false;
};

// Throws mhub::Error (usage) for a rule without '=' or with an invalid regex.
RenameRule parse_rename_rule(const std::string& text);
std::string apply_rename_rules(const std::vector<RenameRule>& rules, const std::string& name);

struct WeightsIntoGraphOptions {
  std::vector<RenameRule> rules;
  bool allow_partial = false;  // without it, unmatched initializers or mismatches are an error
};

struct WeightMatch {
  std::string initializer;
  std::string weight;  // the name in the weights file (before renaming)
  bool exact = true;   // false: matched by suffix
};

struct WeightMismatch {
  std::string initializer;
  std::string weight;
  std::string expected;  // "float32[4,1,3,3]"
  std::string found;
};

struct WeightsReport {
  std::vector<WeightMatch> matched;
  std::vector<WeightMismatch> mismatched;
  std::vector<std::string> unmatched_initializers;  // kept their architecture values
  std::vector<std::string> generated_initializers;  // subset of the above named by the exporter
  std::vector<std::string> unused_weights;          // weights no initializer took
  bool complete() const { return mismatched.empty() && unmatched_initializers.empty(); }
};

// Fills `model`'s initializers from `weights` and returns what happened. Throws mhub::Error
// (format) with the report's summary when !allow_partial and the report is not complete; the
// model is then left unchanged.
WeightsReport load_weights_into_graph(ir::Model& model, const WeightsMap& weights,
                                      const WeightsIntoGraphOptions& options);

// "float32[4,1,3,3]"
std::string describe_tensor_type(const ir::Tensor& tensor);

}  // namespace mhub::onnx_io
