#include "engine/core/passes/layer_norm_fusion.h"

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

namespace {

// ReduceMean over exactly the last axis, keeping it.
bool mean_over_last_axis(const GraphIndex& index, const ir::Node& n) {
  if (!is_op(n, ir::OpKind::ReduceMean) || n.attr_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes = n.attr_ints("axes");
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    auto given = index.int_constant(n.inputs[1]);
    if (!given) return false;
    axes = *given;
  }
  return axes == std::vector<int64_t>{-1};
}

}  // namespace

size_t fuse_layer_norm(ir::Graph& graph, const CanReplace& can_replace) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false), used(graph.nodes.size(), false);
  std::vector<std::pair<size_t, ir::Node>> fused;
  const auto& nodes = graph.nodes;
  auto next = [&](const std::string& value, ir::OpKind op) {
    size_t r = index.sole_reader(value);
    return r != kNoNode && is_op(nodes[r], op, 2) ? r : kNoNode;
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!mean_over_last_axis(index, nodes[i])) continue;
    const std::string& x = nodes[i].inputs[0];
    const std::string& mean = nodes[i].outputs[0];
    size_t sub = next(mean, ir::OpKind::Sub);
    if (sub == kNoNode || nodes[sub].inputs[0] != x || nodes[sub].inputs[1] != mean) continue;
    const std::string& d = nodes[sub].outputs[0];
    // d is read by the square (once or twice) and by the Div, nothing else.
    size_t square = kNoNode, div = kNoNode;
    int d_reads = 0;
    for (size_t k = 0; k < nodes.size(); ++k)
      for (const std::string& in : nodes[k].inputs) {
        if (in != d) continue;
        ++d_reads;
        if (is_op(nodes[k], ir::OpKind::Div, 2) && nodes[k].inputs[0] == d) div = k;
        else if (is_op(nodes[k], ir::OpKind::Pow, 2) || is_op(nodes[k], ir::OpKind::Mul, 2)) square = k;
      }
    if (square == kNoNode || div == kNoNode || index.reads(d) != d_reads) continue;
    const ir::Node& sq = nodes[square];
    if (sq.op == ir::OpKind::Pow) {
      auto e = index.float_scalar(sq.inputs[1]);
      if (sq.inputs[0] != d || !e || *e != 2.0f || d_reads != 2) continue;
    } else if (sq.inputs[0] != d || sq.inputs[1] != d || d_reads != 3) {
      continue;
    }
    size_t var = index.sole_reader(sq.outputs[0]);
    if (var == kNoNode || !mean_over_last_axis(index, nodes[var]) || nodes[var].inputs[0] != sq.outputs[0]) continue;
    size_t add_eps = next(nodes[var].outputs[0], ir::OpKind::Add);
    if (add_eps == kNoNode) continue;
    auto eps = index.float_scalar(other_input(nodes[add_eps], nodes[var].outputs[0]));
    size_t sqrt = index.sole_reader(nodes[add_eps].outputs[0]);
    if (!eps || sqrt == kNoNode || !is_op(nodes[sqrt], ir::OpKind::Sqrt)) continue;
    if (index.sole_reader(nodes[sqrt].outputs[0]) != div || nodes[div].inputs[1] != nodes[sqrt].outputs[0]) continue;
    size_t mul = next(nodes[div].outputs[0], ir::OpKind::Mul);
    if (mul == kNoNode) continue;
    std::string gamma = other_input(nodes[mul], nodes[div].outputs[0]);
    const ir::Tensor* g = index.float_constant(gamma);
    if (!g || g->dims.size() != 1) continue;
    std::vector<size_t> pattern = {i, sub, square, var, add_eps, sqrt, div, mul};
    std::string beta;
    size_t add_beta = next(nodes[mul].outputs[0], ir::OpKind::Add);
    if (add_beta != kNoNode) {
      std::string b = other_input(nodes[add_beta], nodes[mul].outputs[0]);
      const ir::Tensor* bt = index.float_constant(b);
      if (bt && bt->dims == g->dims) {
        beta = b;
        pattern.push_back(add_beta);
      }
    }
    bool taken = false;
    for (size_t k : pattern) taken = taken || used[k];
    if (taken) continue;
    const ir::Node& last = nodes[pattern.back()];
    ir::Node ln;
    ln.op = ir::OpKind::LayerNormalization;
    ln.op_type = "LayerNormalization";
    ln.name = last.name;
    ln.inputs = {x, gamma};
    if (!beta.empty()) ln.inputs.push_back(beta);
    ln.outputs = {last.outputs[0]};
    ln.attributes = {int_attribute("axis", -1), float_attribute("epsilon", *eps)};
    if (!allowed(can_replace, nodes[pattern.front()], ln)) continue;
    for (size_t k : pattern) dead[k] = used[k] = true;
    dead[pattern.back()] = false;
    fused.emplace_back(pattern.back(), std::move(ln));
  }
  for (auto& [at, node] : fused) graph.nodes[at] = std::move(node);
  return apply_rewrites(graph, dead);
}

}  // namespace mhub::engine::passes
