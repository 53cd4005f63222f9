#include "engine/core/passes/gelu_fusion.h"

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

namespace {

struct Match {
  std::vector<size_t> nodes;  // every node of the pattern; the last one is replaced
  std::string x;
};

// t = 1 + f(x) is known (node `add`); finds the products that turn t into x * 0.5 * t.
bool match_tail(const GraphIndex& index, size_t add, const std::string& x, Match& m) {
  const ir::Graph& g = index.graph();
  const std::string& t = g.nodes[add].outputs[0];
  size_t m1 = index.sole_reader(t);
  if (m1 == kNoNode || !is_op(g.nodes[m1], ir::OpKind::Mul, 2)) return false;
  std::string other = other_input(g.nodes[m1], t);
  auto is_half = [&](const std::string& v) {
    auto c = index.float_scalar(v);
    return c && *c == 0.5f;
  };
  if (other == x) {  // (x * t) * 0.5
    size_t m2 = index.sole_reader(g.nodes[m1].outputs[0]);
    if (m2 == kNoNode || !is_op(g.nodes[m2], ir::OpKind::Mul, 2) ||
        !is_half(other_input(g.nodes[m2], g.nodes[m1].outputs[0])))
      return false;
    m.nodes.insert(m.nodes.end(), {add, m1, m2});
    return true;
  }
  if (is_half(other)) {  // x * (t * 0.5)
    size_t m2 = index.sole_reader(g.nodes[m1].outputs[0]);
    if (m2 == kNoNode || !is_op(g.nodes[m2], ir::OpKind::Mul, 2) ||
        other_input(g.nodes[m2], g.nodes[m1].outputs[0]) != x)
      return false;
    m.nodes.insert(m.nodes.end(), {add, m1, m2});
    return true;
  }
  size_t h = index.producer(other);  // (x * 0.5) * t
  if (h == kNoNode || index.sole_reader(other) != m1 || !is_op(g.nodes[h], ir::OpKind::Mul, 2) ||
      other_input(g.nodes[h], x) == "" || !is_half(other_input(g.nodes[h], x)))
    return false;
  m.nodes.insert(m.nodes.end(), {h, add, m1});
  return true;
}

// `f` (Erf or Tanh) feeds Add(f, 1).
size_t plus_one(const GraphIndex& index, size_t f) {
  const ir::Graph& g = index.graph();
  const std::string& out = g.nodes[f].outputs[0];
  size_t add = index.sole_reader(out);
  if (add == kNoNode || !is_op(g.nodes[add], ir::OpKind::Add, 2)) return kNoNode;
  auto one = index.float_scalar(other_input(g.nodes[add], out));
  return one && *one == 1.0f ? add : kNoNode;
}

// Erf(x / sqrt 2) or Erf(x * (1 / sqrt 2)).
bool match_exact(const GraphIndex& index, size_t erf, Match& m) {
  const ir::Graph& g = index.graph();
  const std::string& u = g.nodes[erf].inputs[0];
  size_t scale = index.producer(u);
  if (scale == kNoNode || index.sole_reader(u) != erf) return false;
  const ir::Node& s = g.nodes[scale];
  std::string x;
  if (is_op(s, ir::OpKind::Div, 2)) {
    auto c = index.float_scalar(s.inputs[1]);
    if (!c || !near(*c, 1.4142135623730951)) return false;
    x = s.inputs[0];
  } else if (is_op(s, ir::OpKind::Mul, 2)) {
    for (int k = 0; k < 2 && x.empty(); ++k) {
      auto c = index.float_scalar(s.inputs[k]);
      if (c && near(*c, 0.7071067811865476)) x = s.inputs[1 - k];
    }
    if (x.empty()) return false;
  } else {
    return false;
  }
  size_t add = plus_one(index, erf);
  if (add == kNoNode) return false;
  m.nodes = {scale, erf};
  m.x = x;
  return match_tail(index, add, x, m);
}

// Mul(a, b) with one operand the constant `c`: the other operand, else "".
std::string times_constant(const GraphIndex& index, const ir::Node& n, double c) {
  if (!is_op(n, ir::OpKind::Mul, 2)) return "";
  for (int k = 0; k < 2; ++k) {
    auto v = index.float_scalar(n.inputs[k]);
    if (v && near(*v, c)) return n.inputs[1 - k];
  }
  return "";
}

// Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)).
bool match_tanh(const GraphIndex& index, size_t tanh, Match& m) {
  const ir::Graph& g = index.graph();
  std::vector<size_t> nodes;
  auto sole_producer = [&](const std::string& v, size_t reader) {
    size_t p = index.producer(v);
    return p != kNoNode && index.sole_reader(v) == reader ? p : kNoNode;
  };
  size_t k_mul = sole_producer(g.nodes[tanh].inputs[0], tanh);
  if (k_mul == kNoNode) return false;
  std::string inner = times_constant(index, g.nodes[k_mul], 0.7978845608028654);
  size_t add = inner.empty() ? kNoNode : sole_producer(inner, k_mul);
  if (add == kNoNode || !is_op(g.nodes[add], ir::OpKind::Add, 2)) return false;
  // x + c * x^3: try both operands as x.
  for (int k = 0; k < 2; ++k) {
    std::string x = g.nodes[add].inputs[k];
    std::string cubic = g.nodes[add].inputs[1 - k];
    size_t c_mul = sole_producer(cubic, add);
    if (c_mul == kNoNode) continue;
    std::string cube = times_constant(index, g.nodes[c_mul], 0.044715);
    size_t p = cube.empty() ? kNoNode : sole_producer(cube, c_mul);
    if (p == kNoNode) continue;
    const ir::Node& pn = g.nodes[p];
    std::vector<size_t> cube_nodes = {p};
    if (is_op(pn, ir::OpKind::Pow, 2)) {
      auto e = index.float_scalar(pn.inputs[1]);
      if (pn.inputs[0] != x || !e || *e != 3.0f) continue;
    } else if (is_op(pn, ir::OpKind::Mul, 2)) {
      // x * (x * x) or (x * x) * x
      std::string sq = other_input(pn, x);
      size_t s = sq.empty() ? kNoNode : sole_producer(sq, p);
      if (s == kNoNode || !is_op(g.nodes[s], ir::OpKind::Mul, 2) || g.nodes[s].inputs[0] != x ||
          g.nodes[s].inputs[1] != x)
        continue;
      cube_nodes.insert(cube_nodes.begin(), s);
    } else {
      continue;
    }
    size_t one = plus_one(index, tanh);
    if (one == kNoNode) return false;
    m.nodes = cube_nodes;
    m.nodes.insert(m.nodes.end(), {c_mul, add, k_mul, tanh});
    m.x = x;
    return match_tail(index, one, x, m);
  }
  return false;
}

}  // namespace

size_t fuse_gelu(ir::Graph& graph, const CanReplace& can_replace) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false), used(graph.nodes.size(), false);
  std::vector<std::pair<size_t, ir::Node>> fused;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& n = graph.nodes[i];
    bool exact = is_op(n, ir::OpKind::Erf);
    if (!exact && !is_op(n, ir::OpKind::Tanh)) continue;
    Match m;
    if (!(exact ? match_exact(index, i, m) : match_tanh(index, i, m))) continue;
    bool taken = false;
    for (size_t k : m.nodes) taken = taken || used[k];
    if (taken) continue;
    const ir::Node& last = graph.nodes[m.nodes.back()];
    ir::Node gelu;
    gelu.op = ir::OpKind::Gelu;
    gelu.op_type = "Gelu";
    gelu.name = last.name.empty() ? n.name + "/gelu" : last.name;
    gelu.inputs = {m.x};
    gelu.outputs = {last.outputs[0]};
    if (!exact) gelu.attributes.push_back(string_attribute("approximate", "tanh"));
    if (!allowed(can_replace, graph.nodes[m.nodes.front()], gelu)) continue;
    for (size_t k : m.nodes) dead[k] = used[k] = true;
    dead[m.nodes.back()] = false;
    fused.emplace_back(m.nodes.back(), std::move(gelu));
  }
  for (auto& [at, node] : fused) graph.nodes[at] = std::move(node);
  return apply_rewrites(graph, dead);
}

}  // namespace mhub::engine::passes
