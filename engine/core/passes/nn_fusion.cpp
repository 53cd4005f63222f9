#include "engine/core/passes/nn_fusion.h"

#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "engine/core/passes/channel_shuffle.h"
#include "engine/core/passes/concat_batch_norm.h"
#include "engine/core/passes/graph_match.h"
#include "engine/core/passes/squeeze_excitation.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine {

namespace {

// How many times each value is read: by nodes, as a graph output, or from inside a subgraph.
std::unordered_map<std::string, int> reader_counts(const ir::Graph& graph) {
  std::unordered_map<std::string, int> readers;
  for (const ir::Node& node : graph.nodes) {
    for (const std::string& input : node.inputs)
      if (!input.empty()) ++readers[input];
    for (const ir::Attribute& attr : node.attributes) {
      if (attr.g)
        for (const std::string& name : attr.g->outer_scope_names()) readers[name] += 2;
      for (const auto& g : attr.graphs)
        for (const std::string& name : g->outer_scope_names()) readers[name] += 2;
    }
  }
  for (const ir::ValueInfo& output : graph.outputs) readers[output.name] += 2;
  return readers;
}

const ir::Tensor* float_initializer(const ir::Graph& graph, const std::string& name) {
  const ir::Tensor* t = graph.initializer(name);
  return t && t->dtype == ir::DataType::float32 && t->storage ? t : nullptr;
}

std::string unique_name(const ir::Graph& graph, const std::string& base) {
  std::string name = base;
  for (int k = 1; graph.initializer(name); ++k) name = base + "_" + std::to_string(k);
  return name;
}

// Folds BatchNormalization `bn` into Conv `conv` (both in graph.nodes). False when the
// parameters are not all float32 initializers of matching sizes.
bool fold_batch_norm(ir::Graph& graph, ir::Node& conv, const ir::Node& bn) {
  if (bn.inputs.size() < 5 || bn.outputs.size() != 1 || bn.attr_int("training_mode", 0) != 0) return false;
  const ir::Tensor* w = float_initializer(graph, conv.inputs[1]);
  if (!w || w->dims.empty()) return false;
  int64_t m = w->dims[0];
  const ir::Tensor* params[4];
  for (int i = 0; i < 4; ++i) {
    params[i] = float_initializer(graph, bn.inputs[i + 1]);
    if (!params[i] || static_cast<int64_t>(params[i]->numel()) != m) return false;
  }
  const ir::Tensor* b = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? float_initializer(graph, conv.inputs[2]) : nullptr;
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && (!b || static_cast<int64_t>(b->numel()) != m)) return false;
  float eps = bn.attr_float("epsilon", 1e-5f);
  const float* scale = params[0]->data<float>();
  const float* beta = params[1]->data<float>();
  const float* mean = params[2]->data<float>();
  const float* var = params[3]->data<float>();
  int64_t per = static_cast<int64_t>(w->numel()) / m;
  ir::Tensor new_w = ir::Tensor::zeros(ir::DataType::float32, w->dims, unique_name(graph, conv.inputs[1] + "_bnfold"));
  ir::Tensor new_b = ir::Tensor::zeros(ir::DataType::float32, {m}, unique_name(graph, conv.outputs[0] + "_bnfold_bias"));
  float* nw = reinterpret_cast<float*>(new_w.storage->mutable_data());
  float* nb = reinterpret_cast<float*>(new_b.storage->mutable_data());
  const float* ow = w->data<float>();
  for (int64_t oc = 0; oc < m; ++oc) {
    float s = scale[oc] / std::sqrt(var[oc] + eps);
    for (int64_t i = 0; i < per; ++i) nw[oc * per + i] = ow[oc * per + i] * s;
    nb[oc] = ((b ? b->data<float>()[oc] : 0.0f) - mean[oc]) * s + beta[oc];
  }
  conv.inputs.resize(3);
  conv.inputs[1] = new_w.name;
  conv.inputs[2] = new_b.name;
  graph.initializers.push_back(std::move(new_w));
  graph.initializers.push_back(std::move(new_b));
  return true;
}

bool has_fused_activation(const ir::Node& node) {
  return ops::fused_activation_of(node).act != ops::Activation::none;
}

// A Pad that adds nothing is a copy: its readers read its input instead. Kept when a graph output
// or a subgraph reads it.
size_t drop_empty_pads(ir::Graph& graph) {
  const passes::GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  size_t removed = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& pad = graph.nodes[i];
    if (!pad.domain.empty() || !passes::pad_adds_nothing(index, pad) || pad.inputs[0].empty()) continue;
    const std::string& out = pad.outputs[0];
    const std::vector<size_t>& readers = index.readers(out);
    if (readers.empty() || index.reads(out) != static_cast<int>(readers.size())) continue;
    for (size_t r : readers)
      for (std::string& input : graph.nodes[r].inputs)
        if (input == out) input = pad.inputs[0];
    dead[i] = true;
    ++removed;
  }
  if (removed) passes::apply_rewrites(graph, dead);
  return removed;
}

// An inference BatchNormalization the CPU kernels may fuse an activation into.
bool inference_batch_norm(const ir::Node& node) {
  return passes::is_op(node, ir::OpKind::BatchNormalization, 5) && node.attr_int("training_mode", 0) == 0;
}

// Ops whose CPU kernels always write a fresh buffer from the session's pool (never an
// initializer's or a caller's bytes; Concat copies even a single input), or, for
// BatchNormalization, the pool buffer of a value it was allowed to overwrite: a value they
// produce may be overwritten in place.
bool writes_pool_buffer(const ir::Node& node) {
  if (!node.domain.empty()) return false;
  switch (node.op) {
    case ir::OpKind::Conv: case ir::OpKind::MaxPool: case ir::OpKind::Relu: case ir::OpKind::Add:
    case ir::OpKind::BatchNormalization: case ir::OpKind::Concat:
      return true;
    default:
      return false;
  }
}

// Whether node `target` depends on every node in `others` (each runs before it in any order).
bool all_ancestors(const ir::Graph& graph, const std::unordered_map<std::string, size_t>& producer, size_t target,
                   const std::vector<size_t>& others) {
  std::vector<bool> seen(graph.nodes.size(), false);
  std::vector<size_t> stack{target};
  while (!stack.empty()) {  // explicit stack: no recursion depth tied to the graph's
    size_t n = stack.back();
    stack.pop_back();
    for (const std::string& input : graph.nodes[n].inputs) {
      auto p = producer.find(input);
      if (p == producer.end() || seen[p->second]) continue;
      seen[p->second] = true;
      stack.push_back(p->second);
    }
  }
  for (size_t o : others)
    if (!seen[o]) return false;
  return true;
}

// Marks mhub_residual_in_place on fused-residual Convs that read their residual last in every
// topological order, and mhub_input_in_place on inference BatchNormalizations that read X so
// (see the header); returns how many.
size_t mark_in_place_writes(ir::Graph& graph) {
  std::unordered_set<std::string> pinned;  // bytes someone else owns or reads later
  for (const ir::ValueInfo& input : graph.inputs) pinned.insert(input.name);
  for (const ir::Tensor& init : graph.initializers) pinned.insert(init.name);
  for (const ir::ValueInfo& output : graph.outputs) pinned.insert(output.name);
  std::unordered_map<std::string, size_t> producer;
  std::unordered_map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& node = graph.nodes[i];
    for (const ir::Attribute& attr : node.attributes) {
      if (attr.g)
        for (const std::string& name : attr.g->outer_scope_names()) pinned.insert(name);
      for (const auto& g : attr.graphs)
        for (const std::string& name : g->outer_scope_names()) pinned.insert(name);
    }
    for (const std::string& output : node.outputs) producer[output] = i;
    for (const std::string& input : node.inputs)
      if (!input.empty()) readers[input].push_back(i);
  }
  // Whether node i reads `value` once and last in every order, and a pool-writing node made it.
  auto read_last = [&](size_t i, const std::string& value) {
    auto p = producer.find(value);
    if (pinned.count(value) || p == producer.end() || !writes_pool_buffer(graph.nodes[p->second])) return false;
    std::vector<size_t> others;
    int own_reads = 0;
    for (size_t r : readers[value]) {
      if (r == i) ++own_reads;
      else others.push_back(r);
    }
    return own_reads == 1 && all_ancestors(graph, producer, i, others);
  };
  size_t marked = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    ir::Node& node = graph.nodes[i];
    const bool conv = node.op == ir::OpKind::Conv && node.domain.empty() && node.inputs.size() == 4 && !node.inputs[3].empty();
    const bool batch_norm = inference_batch_norm(node) && node.outputs.size() == 1;
    const char* mark = conv ? kResidualInPlace : batch_norm ? kInputInPlace : nullptr;
    if (!mark || node.attr_int(mark, 0) != 0 || !read_last(i, node.inputs[conv ? 3 : 0])) continue;
    node.attributes.push_back(ir::int_attr(mark, 1));
    ++marked;
  }
  return marked;
}

}  // namespace

size_t fuse_nn_patterns(ir::Graph& graph, bool cpu_only) {
  size_t removed = drop_empty_pads(graph);
  if (cpu_only) removed += passes::fuse_channel_shuffles(graph);
  const size_t pads_removed = removed;
  std::unordered_map<std::string, int> readers = reader_counts(graph);
  std::unordered_map<std::string, size_t> reader_node;  // value -> index of its (single) reader
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const std::string& input : graph.nodes[i].inputs) reader_node[input] = i;
  std::vector<bool> dead(graph.nodes.size(), false);
  // A snapshot: fusing renames a producer's output to its absorbed reader's output, whose own
  // readers the index already knows.
  const passes::GraphIndex index(graph);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    ir::Node& producer = graph.nodes[i];
    bool is_conv = producer.op == ir::OpKind::Conv && producer.domain.empty();
    bool is_gemm = producer.op == ir::OpKind::Gemm && producer.domain.empty();
    bool is_bn = cpu_only && inference_batch_norm(producer);
    if ((!is_conv && !is_gemm && !is_bn) || dead[i] || producer.outputs.size() != 1 || producer.inputs.size() < 2) continue;
    // Follow the chain Conv -> [BatchNormalization] -> [Add(residual)] -> [activation or x * Sigmoid(x)].
    for (int round = 0; round < 3; ++round) {
      const std::string& out = producer.outputs[0];
      if (auto silu = passes::match_silu(index, out); silu && !has_fused_activation(producer) &&
                                                       !dead[silu->sigmoid] && !dead[silu->mul]) {
        ops::set_fused_activation(producer, {ops::Activation::silu});
        producer.outputs[0] = graph.nodes[silu->mul].outputs[0];
        dead[silu->sigmoid] = dead[silu->mul] = true;
        removed += 2;
        break;
      }
      if (readers[out] != 1 || !reader_node.count(out)) break;
      size_t j = reader_node[out];
      ir::Node& next = graph.nodes[j];
      if (dead[j] || !next.domain.empty() || next.inputs.empty()) break;
      const bool has_residual = producer.inputs.size() > 3;
      bool fused = false;
      if (cpu_only && is_conv && !has_residual && !has_fused_activation(producer) && next.op == ir::OpKind::Add &&
          next.inputs.size() == 2 && next.outputs.size() == 1) {
        const std::string residual = passes::other_input(next, out);
        if (residual.empty() || residual == out) break;
        producer.inputs.resize(3);  // "" where the Conv has no bias
        producer.inputs.push_back(residual);
        fused = true;
      } else if (next.inputs[0] != out) {
        break;
      } else if (is_conv && !has_residual && next.op == ir::OpKind::BatchNormalization && !has_fused_activation(producer))
        fused = fold_batch_norm(graph, producer, next);
      else if (ops::FusedActivation act; !has_fused_activation(producer) && passes::fusable_activation(index, next, act)) {
        ops::set_fused_activation(producer, act);
        fused = true;
      }
      if (!fused) break;
      producer.outputs[0] = next.outputs[0];
      for (const std::string& input : producer.inputs) reader_node[input] = i;
      dead[j] = true;
      ++removed;
    }
  }
  if (removed != pads_removed) {
    std::vector<ir::Node> kept;
    for (size_t i = 0; i < graph.nodes.size(); ++i)
      if (!dead[i]) kept.push_back(std::move(graph.nodes[i]));
    graph.nodes = std::move(kept);
    graph.sort_topologically();
    graph.remove_unused();
  }
  // Squeeze-excitation blocks are matched with their activations already fused into the Convs.
  if (cpu_only) removed += passes::fuse_squeeze_excitations(graph);
  // So are DenseNet's Concat -> BatchNormalization (-> Relu, fused into the BN above).
  if (cpu_only) removed += passes::fuse_concat_batch_norms(graph);
  // After every rewrite: which nodes read a residual is final.
  if (cpu_only && removed != pads_removed) mark_in_place_writes(graph);
  return removed;
}

}  // namespace mhub::engine
