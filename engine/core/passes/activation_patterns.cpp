#include "engine/core/passes/activation_patterns.h"

#include <cmath>
#include <limits>
#include <optional>

namespace mhub::engine::passes {

namespace {

constexpr double kExact = 1e-6;  // a printed decimal of 1/6 rounds to within this of it
constexpr float kInf = std::numeric_limits<float>::infinity();

// Ops whose output has rank >= 1 whatever their inputs: a [1] constant broadcast against such a
// value keeps its shape.
bool has_rank_at_least_1(const ir::Node& node) {
  switch (node.op) {
    case ir::OpKind::Conv: case ir::OpKind::ConvTranspose: case ir::OpKind::BatchNormalization:
    case ir::OpKind::Gemm: case ir::OpKind::GlobalAveragePool: case ir::OpKind::GlobalMaxPool:
    case ir::OpKind::MaxPool: case ir::OpKind::AveragePool: case ir::OpKind::Concat:
    case ir::OpKind::Flatten:
      return true;
    default:
      return false;
  }
}

// A pattern found: its nodes (the last one produces the value that stays) and its input x.
struct Found {
  std::vector<size_t> nodes;
  std::string x;
  float alpha = 0, beta = 0;  // HardSigmoid's parameters; Clip's bounds
};

class Matcher {
 public:
  explicit Matcher(const GraphIndex& index) : index_(index), g_(index.graph()) {}

  const ir::Node& node(size_t i) const { return g_.nodes[i]; }

  // The node producing `value` when `reader` is its only reader, else kNoNode.
  size_t feeding(const std::string& value, size_t reader) const {
    size_t p = index_.producer(value);
    return p != kNoNode && index_.sole_reader(value) == reader ? p : kNoNode;
  }

  // A float32 scalar constant that broadcasting against `x` cannot reshape.
  std::optional<float> scalar(const std::string& name, const std::string& x) const {
    const ir::Tensor* t = index_.float_constant(name);
    if (!t || t->numel() != 1 || t->dims.size() > 1) return std::nullopt;
    if (t->dims.size() == 1 && !rank_at_least_1(x)) return std::nullopt;
    return t->data<float>()[0];
  }

  // Binary node `n` (op `op`) = f(x, c) with c a scalar constant, in either order when
  // `commutes`: x and c.
  std::optional<std::pair<std::string, float>> with_constant(size_t n, ir::OpKind op, bool commutes) const {
    const ir::Node& b = node(n);
    if (!is_op(b, op, 2) || b.inputs.size() != 2) return std::nullopt;
    for (int k = 1; k >= (commutes ? 0 : 1); --k)
      if (auto c = scalar(b.inputs[k], b.inputs[1 - k])) return std::make_pair(b.inputs[1 - k], *c);
    return std::nullopt;
  }

  // Node `n` clips its input x to [lo, hi] (alpha = lo, beta = hi): a Clip with load-time
  // bounds, Min(Max(x, lo), hi), Max(Min(x, hi), lo) or Min(Relu(x), hi).
  std::optional<Found> clip(size_t n) const {
    const ir::Node& c = node(n);
    if (is_op(c, ir::OpKind::Clip)) {
      ops::FusedActivation act;
      if (!fusable_activation(index_, c, act) || act.act != ops::Activation::clip) return std::nullopt;
      for (size_t i = 1; i < c.inputs.size(); ++i)  // bounds of rank 1 would not reshape, but be plain
        if (!c.inputs[i].empty() && !scalar(c.inputs[i], c.inputs[0])) return std::nullopt;
      return Found{{n}, c.inputs[0], act.alpha, act.beta};
    }
    bool is_min = is_op(c, ir::OpKind::Min, 2), is_max = is_op(c, ir::OpKind::Max, 2);
    if (!is_min && !is_max) return std::nullopt;
    auto outer = with_constant(n, c.op, true);
    if (!outer) return std::nullopt;
    size_t inner = feeding(outer->first, n);
    if (inner == kNoNode) return std::nullopt;
    if (is_min && is_op(node(inner), ir::OpKind::Relu) && node(inner).inputs.size() == 1)
      return Found{{inner, n}, node(inner).inputs[0], 0.0f, outer->second};
    auto in = with_constant(inner, is_min ? ir::OpKind::Max : ir::OpKind::Min, true);
    if (!in) return std::nullopt;
    float lo = is_min ? in->second : outer->second, hi = is_min ? outer->second : in->second;
    if (!(lo <= hi)) return std::nullopt;  // Min / Max in the other order differ from Clip when lo > hi
    return Found{{inner, n}, in->first, lo, hi};
  }

  // `value` = HardSigmoid(x; alpha, beta), written as a HardSigmoid node or one of the forms in
  // the header. The nodes that compute it; `value` itself may have any readers.
  std::optional<Found> hard_sigmoid(const std::string& value) const {
    size_t n = index_.producer(value);
    if (n == kNoNode) return std::nullopt;
    const ir::Node& last = node(n);
    if (is_op(last, ir::OpKind::HardSigmoid) && last.inputs.size() == 1)
      return Found{{n}, last.inputs[0], last.attr_float("alpha", 0.2f), last.attr_float("beta", 0.5f)};
    if (auto c = clip(n); c && c->alpha == 0.0f && c->beta == 1.0f) {
      // Clip(x * a + b, 0, 1) or Clip(x / d + b, 0, 1)
      size_t add = feeding(c->x, c->nodes.front());
      if (add == kNoNode) return std::nullopt;
      auto shifted = with_constant(add, ir::OpKind::Add, true);
      if (!shifted) return std::nullopt;
      size_t scale = feeding(shifted->first, add);
      if (scale == kNoNode) return std::nullopt;
      auto mul = with_constant(scale, ir::OpKind::Mul, true);
      auto div = mul ? std::nullopt : with_constant(scale, ir::OpKind::Div, false);
      if (!mul && !(div && div->second != 0.0f)) return std::nullopt;
      Found f{{scale, add}, mul ? mul->first : div->first, mul ? mul->second : 1.0f / div->second, shifted->second};
      f.nodes.insert(f.nodes.end(), c->nodes.begin(), c->nodes.end());
      return f;
    }
    // Clip(x + b, 0, c) / c, or * (1 / c)
    std::optional<std::pair<std::string, float>> scaled = with_constant(n, ir::OpKind::Div, false);
    float inverse = 0;
    if (scaled && scaled->second != 0.0f) {
      inverse = 1.0f / scaled->second;
    } else if ((scaled = with_constant(n, ir::OpKind::Mul, true))) {
      inverse = scaled->second;
    } else {
      return std::nullopt;
    }
    size_t clip_end = feeding(scaled->first, n);
    auto c = clip_end == kNoNode ? std::nullopt : clip(clip_end);
    if (!c || c->alpha != 0.0f || !(c->beta > 0.0f) || c->beta == kInf || !near(inverse, 1.0 / c->beta, kExact))
      return std::nullopt;
    size_t add = feeding(c->x, c->nodes.front());
    auto shifted = add == kNoNode ? std::nullopt : with_constant(add, ir::OpKind::Add, true);
    if (!shifted) return std::nullopt;
    Found f{{add}, shifted->first, 1.0f / c->beta, shifted->second / c->beta};
    f.nodes.insert(f.nodes.end(), c->nodes.begin(), c->nodes.end());
    f.nodes.push_back(n);
    return f;
  }

  // Node `n` is the last node of HardSwish(x) in one of the header's forms.
  std::optional<Found> hard_swish(size_t n) const {
    const ir::Node& last = node(n);
    if (!is_op(last, ir::OpKind::Mul, 2) && !is_op(last, ir::OpKind::Div, 2)) return std::nullopt;
    if (last.inputs.size() != 2) return std::nullopt;
    if (is_op(last, ir::OpKind::Mul, 2)) {
      // x * HardSigmoid(x; 1/6, 1/2)
      for (int k = 0; k < 2; ++k) {
        const std::string& gate = last.inputs[k];
        const std::string& x = last.inputs[1 - k];
        if (gate == x || index_.sole_reader(gate) != n) continue;
        auto hs = hard_sigmoid(gate);
        if (!hs || hs->x != x || !near(hs->alpha, 1.0 / 6.0, kExact) || !near(hs->beta, 0.5, kExact)) continue;
        hs->nodes.push_back(n);
        return hs;
      }
    }
    // (x * Clip(x + 3, 0, 6)) / 6, or * (1 / 6)
    auto div = with_constant(n, ir::OpKind::Div, false);
    auto mul = div ? std::nullopt : with_constant(n, ir::OpKind::Mul, true);
    if (!(div && near(div->second, 6.0, kExact)) && !(mul && near(mul->second, 1.0 / 6.0, kExact)))
      return std::nullopt;
    const std::string& product = div ? div->first : mul->first;
    size_t times = feeding(product, n);
    if (times == kNoNode || !is_op(node(times), ir::OpKind::Mul, 2) || node(times).inputs.size() != 2)
      return std::nullopt;
    for (int k = 0; k < 2; ++k) {
      const std::string& gate = node(times).inputs[k];
      const std::string& x = node(times).inputs[1 - k];
      size_t clip_end = gate == x ? kNoNode : feeding(gate, times);
      auto c = clip_end == kNoNode ? std::nullopt : clip(clip_end);
      if (!c || c->alpha != 0.0f || c->beta != 6.0f) continue;
      size_t add = feeding(c->x, c->nodes.front());
      auto shifted = add == kNoNode ? std::nullopt : with_constant(add, ir::OpKind::Add, true);
      if (!shifted || shifted->first != x || shifted->second != 3.0f) continue;
      Found f{{add}, x};
      f.nodes.insert(f.nodes.end(), c->nodes.begin(), c->nodes.end());
      f.nodes.insert(f.nodes.end(), {times, n});
      return f;
    }
    return std::nullopt;
  }

  // Node `n` is the Mul of x * Sigmoid(x).
  std::optional<Found> silu(size_t n) const {
    const ir::Node& mul = node(n);
    if (!is_op(mul, ir::OpKind::Mul, 2) || mul.inputs.size() != 2) return std::nullopt;
    for (int k = 0; k < 2; ++k) {
      size_t s = feeding(mul.inputs[k], n);
      if (s != kNoNode && is_op(node(s), ir::OpKind::Sigmoid) && node(s).inputs[0] == mul.inputs[1 - k] &&
          mul.inputs[0] != mul.inputs[1])
        return Found{{s, n}, mul.inputs[1 - k]};
    }
    return std::nullopt;
  }

 private:
  bool rank_at_least_1(const std::string& x) const {
    size_t p = index_.producer(x);
    if (p != kNoNode && has_rank_at_least_1(node(p))) return true;
    auto known = [&](const std::vector<ir::ValueInfo>& infos) {
      for (const ir::ValueInfo& info : infos)
        if (info.name == x && info.type && info.type->shape && !info.type->shape->dims.empty()) return true;
      return false;
    };
    return known(g_.inputs) || known(g_.value_info) || known(g_.outputs);
  }

  const GraphIndex& index_;
  const ir::Graph& g_;
};

ir::Node activation_node(ir::OpKind op, const char* type, const Found& f, const ir::Node& last) {
  ir::Node n;
  n.op = op;
  n.op_type = type;
  n.name = last.name.empty() ? f.x + "/" + type : last.name;
  n.inputs = {f.x};
  n.outputs = {last.outputs[0]};
  return n;
}

std::string fresh_initializer_name(const ir::Graph& graph, const std::string& base) {
  std::string name = base;
  for (int k = 1; graph.initializer(name); ++k) name = base + "_" + std::to_string(k);
  return name;
}

// What replaces a pattern: the new node and the constants it reads.
struct Rewrite {
  Found found;
  ir::Node node;
  std::vector<ir::Tensor> constants;
};

// One sweep over the graph with `match` deciding, per node, whether a pattern ends there and
// what replaces it. Patterns never share nodes. Returns the nodes removed.
template <typename Match>
size_t rewrite(ir::Graph& graph, const CanReplace& can_replace, Match match) {
  GraphIndex index(graph);
  Matcher m(index);
  std::vector<bool> dead(graph.nodes.size(), false), used(graph.nodes.size(), false);
  std::vector<Rewrite> accepted;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    std::optional<Rewrite> hit = match(m, i);
    if (!hit) continue;
    const std::vector<size_t>& nodes = hit->found.nodes;
    bool taken = false;
    for (size_t k : nodes) taken = taken || used[k];
    if (taken || !allowed(can_replace, graph.nodes[nodes.front()], hit->node)) continue;
    for (size_t k : nodes) dead[k] = used[k] = true;
    dead[nodes.back()] = false;
    accepted.push_back(std::move(*hit));
  }
  for (Rewrite& r : accepted) {
    graph.nodes[r.found.nodes.back()] = std::move(r.node);
    for (ir::Tensor& t : r.constants) graph.initializers.push_back(std::move(t));
  }
  return apply_rewrites(graph, dead);
}

}  // namespace

size_t canonicalize_activations(ir::Graph& graph, int64_t opset, const CanReplace& can_replace) {
  using Hit = std::optional<Rewrite>;
  // 1. Min / Max pairs -> Clip, so the later patterns see one form of Clip.
  size_t removed = rewrite(graph, can_replace, [&](const Matcher& m, size_t i) -> Hit {
    if (m.node(i).op != ir::OpKind::Min && m.node(i).op != ir::OpKind::Max) return std::nullopt;
    auto c = m.clip(i);
    if (!c) return std::nullopt;
    Rewrite r{*c, activation_node(ir::OpKind::Clip, "Clip", *c, m.node(i)), {}};
    if (opset < 11) {
      r.node.attributes = {float_attribute("min", c->alpha), float_attribute("max", c->beta)};
      return r;
    }
    // Names from the output's, which is unique, so two rewrites never pick the same one.
    for (const char* bound : {"min", "max"}) {
      float value = bound[1] == 'i' ? c->alpha : c->beta;
      std::string name = fresh_initializer_name(graph, r.node.outputs[0] + "/clip_" + bound);
      r.constants.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {}, &value, sizeof value, name));
      r.node.inputs.push_back(name);
    }
    return r;
  });
  // 2. HardSwish before HardSigmoid: the HardSwish forms contain a HardSigmoid.
  removed += rewrite(graph, can_replace, [&](const Matcher& m, size_t i) -> Hit {
    auto f = m.hard_swish(i);
    if (!f) return std::nullopt;
    return Rewrite{*f, activation_node(ir::OpKind::HardSwish, "HardSwish", *f, m.node(i)), {}};
  });
  removed += rewrite(graph, can_replace, [&](const Matcher& m, size_t i) -> Hit {
    if (m.node(i).outputs.size() != 1 || m.node(i).op == ir::OpKind::HardSigmoid) return std::nullopt;
    auto f = m.hard_sigmoid(m.node(i).outputs[0]);
    if (!f || f->nodes.back() != i) return std::nullopt;
    ir::Node hs = activation_node(ir::OpKind::HardSigmoid, "HardSigmoid", *f, m.node(i));
    hs.attributes = {float_attribute("alpha", f->alpha), float_attribute("beta", f->beta)};
    return Rewrite{*f, std::move(hs), {}};
  });
  removed += rewrite(graph, can_replace, [&](const Matcher& m, size_t i) -> Hit {
    auto f = m.silu(i);
    if (!f) return std::nullopt;
    return Rewrite{*f, activation_node(ir::OpKind::Swish, "Swish", *f, m.node(i)), {}};
  });
  return removed;
}

}  // namespace mhub::engine::passes
