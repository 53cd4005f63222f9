// What the load-time fusion passes ask of a graph while they look for patterns: who produces a
// value, whether exactly one node reads it, and which values are constants known at load.
//
// A value is "constant" when it is an initializer that is not also a graph input (a caller can
// feed graph inputs, so their initializer is only a default). An index is a snapshot: a pass
// that rewrites nodes builds a new one before it matches again.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::passes {

constexpr size_t kNoNode = static_cast<size_t>(-1);

// Asked before a pass rewrites a pattern: may `fused` replace the pattern whose first node is
// `original`? The session answers whether the backend it would place `original` on runs
// `fused` too, so a rewrite never moves work to another device (e.g. FusedAttention, which only
// the CPU runs, under --device cuda). An empty function allows every rewrite.
using CanReplace = std::function<bool(const ir::Node& original, const ir::Node& fused)>;
inline bool allowed(const CanReplace& can_replace, const ir::Node& original, const ir::Node& fused) {
  return !can_replace || can_replace(original, fused);
}

class GraphIndex {
 public:
  explicit GraphIndex(const ir::Graph& graph);

  // Index of the node producing `value`, or kNoNode.
  size_t producer(const std::string& value) const;
  // Index of the one node that reads `value`, when nothing else reads it (no other node, no
  // second input slot of the same node, not a graph output, not a subgraph); else kNoNode.
  size_t sole_reader(const std::string& value) const;
  // How many input slots, graph outputs and subgraph uses read `value`.
  int reads(const std::string& value) const;
  // The nodes reading `value` in an input slot, once per slot, in graph order.
  const std::vector<size_t>& readers(const std::string& value) const;

  // A float32 initializer that callers cannot override, or nullptr.
  const ir::Tensor* float_constant(const std::string& name) const;
  // Its only element, when it has exactly one.
  std::optional<float> float_scalar(const std::string& name) const;
  // An int64 constant's values (e.g. ReduceMean axes given as an input).
  std::optional<std::vector<int64_t>> int_constant(const std::string& name) const;

  const ir::Graph& graph() const { return graph_; }

 private:
  const ir::Graph& graph_;
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_map<std::string, int> reads_;
  std::unordered_map<std::string, std::vector<size_t>> readers_;
  std::unordered_set<std::string> graph_inputs_;
};

// The node is the default-domain op `op` with at least `inputs` inputs and one output.
bool is_op(const ir::Node& node, ir::OpKind op, size_t inputs = 1);

// A Pad that adds nothing: constant mode with load-time pads all 0 (the opset < 11 attribute or a
// constant int64 input), no axes input. Its output equals its input (older exports put one before
// each AveragePool).
bool pad_adds_nothing(const GraphIndex& index, const ir::Node& node);

// The activation node `n` applies as a fused activation of the node before it (Relu, LeakyRelu,
// Clip with load-time bounds, Gelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Swish with alpha 1 as
// silu); false otherwise.
bool fusable_activation(const GraphIndex& index, const ir::Node& n, ops::FusedActivation& fused);

// SiLU written as x * Sigmoid(x): `value` is read by exactly a Sigmoid and a Mul of (value,
// Sigmoid's output) (either order), and the Sigmoid's output only by that Mul. The two nodes.
struct SiluMatch {
  size_t sigmoid = kNoNode, mul = kNoNode;
};
std::optional<SiluMatch> match_silu(const GraphIndex& index, const std::string& value);

// For a binary node (Add/Mul/...): the input that is not `value` (index 0 or 1), or "" when
// `value` is not one of its two inputs.
std::string other_input(const ir::Node& node, const std::string& value);

// |a - b| <= tol * |b|.
bool near(float a, double b, double tol = 1e-4);

ir::Attribute string_attribute(const std::string& name, const std::string& value);
ir::Attribute float_attribute(const std::string& name, float value);
ir::Attribute int_attribute(const std::string& name, int64_t value);

// A node of mhub's internal domain (op, op_type and domain set) named `name`, for a fusion's result.
ir::Node internal_node(ir::OpKind op, const std::string& name);

// Replaces nodes[at] by `fused` and drops the nodes marked dead. Returns how many went.
size_t apply_rewrites(ir::Graph& graph, std::vector<bool>& dead);

}  // namespace mhub::engine::passes
