#include "engine/core/passes/attention_fusion.h"

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

namespace {

// `name` is a boolean initializer holding false that callers cannot override.
bool constant_false(const GraphIndex& index, const std::string& name) {
  for (const ir::ValueInfo& in : index.graph().inputs)
    if (in.name == name) return false;
  const ir::Tensor* t = index.graph().initializer(name);
  return t && t->dtype == ir::DataType::boolean && t->numel() == 1 && t->storage && t->bytes()[0] == 0;
}

// A Dropout that passes its input through, its mask output absent or read by nothing: training_mode
// absent (ONNX's default is inference) or a constant false, or a constant ratio of 0 (torchvision's
// Swin exports F.dropout(p=0.0, training=True)).
bool identity_dropout(const GraphIndex& index, const ir::Node& node) {
  if (node.op != ir::OpKind::Dropout || (!node.domain.empty() && node.domain != "ai.onnx") || node.inputs.empty() ||
      node.outputs.empty())
    return false;
  if (node.outputs.size() > 1 && !node.outputs[1].empty() && index.reads(node.outputs[1]) != 0) return false;
  const bool inference = node.inputs.size() < 3 || node.inputs[2].empty() || constant_false(index, node.inputs[2]);
  const bool keeps_all = node.inputs.size() > 1 && index.float_scalar(node.inputs[1]) == 0.0f;
  return inference || keeps_all;
}

// The perm of a Transpose whose result a GEMM can read as a strided matrix: rank >= 2 with the
// input's innermost axis one of the result's two innermost axes (`output`: the innermost one,
// as results are written row by row). Empty when the node is not such a Transpose.
std::vector<int64_t> foldable_perm(const ir::Node& node, bool output) {
  if (!is_op(node, ir::OpKind::Transpose)) return {};
  std::vector<int64_t> perm = node.attr_ints("perm");  // absent: reversed axes, rank unknown here
  const int64_t r = static_cast<int64_t>(perm.size());
  if (r < 2) return {};
  std::vector<bool> seen(perm.size(), false);
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= r || seen[axis]) return {};
    seen[axis] = true;
  }
  const bool keeps_inner = perm[r - 1] == r - 1 || (!output && perm[r - 2] == r - 1);
  return keeps_inner ? perm : std::vector<int64_t>{};
}

}  // namespace

size_t fuse_attention(ir::Graph& graph, int64_t opset, const CanReplace& can_replace) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  auto& nodes = graph.nodes;
  std::vector<std::pair<size_t, ir::Node>> fused;
  // The node producing `value` when `reader` is its only reader.
  auto feeding = [&](const std::string& value, size_t reader) {
    size_t p = index.producer(value);
    return p != kNoNode && index.sole_reader(value) == reader ? p : kNoNode;
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& sm = nodes[i];
    if (!is_op(sm, ir::OpKind::Softmax)) continue;
    const ir::Attribute* axis = sm.attribute("axis");
    if (axis ? axis->i != -1 : opset < 13) continue;
    std::vector<size_t> pattern = {i};
    std::string probabilities = sm.outputs[0];
    size_t out_mm = index.sole_reader(probabilities);
    if (out_mm != kNoNode && identity_dropout(index, nodes[out_mm])) {  // an identity at inference
      pattern.push_back(out_mm);
      probabilities = nodes[out_mm].outputs[0];
      out_mm = index.sole_reader(probabilities);
    }
    if (out_mm == kNoNode || !is_op(nodes[out_mm], ir::OpKind::MatMul, 2) ||
        nodes[out_mm].inputs.size() != 2 || nodes[out_mm].inputs[0] != probabilities)
      continue;
    pattern.push_back(out_mm);
    std::string mask;
    float scale = 1.0f;
    bool divide = false;
    size_t p = feeding(sm.inputs[0], i);
    if (p != kNoNode && is_op(nodes[p], ir::OpKind::Add, 2)) {
      // Either operand may be the mask: the scores are the one a MatMul (or a scale) produces.
      const ir::Node& add = nodes[p];
      int scores = -1;
      for (int k = 0; k < 2 && scores < 0; ++k) {
        size_t q = feeding(add.inputs[k], p);
        if (q != kNoNode && (is_op(nodes[q], ir::OpKind::MatMul, 2) || is_op(nodes[q], ir::OpKind::Mul, 2) ||
                             is_op(nodes[q], ir::OpKind::Div, 2)))
          scores = k;
      }
      if (scores < 0) continue;
      mask = add.inputs[1 - scores];
      pattern.insert(pattern.begin(), p);
      p = feeding(add.inputs[scores], p);
    }
    if (p != kNoNode && (is_op(nodes[p], ir::OpKind::Mul, 2) || is_op(nodes[p], ir::OpKind::Div, 2))) {
      const ir::Node& s = nodes[p];
      divide = s.op == ir::OpKind::Div;
      std::optional<float> c = index.float_scalar(s.inputs[1]);
      std::string scores = s.inputs[0];
      if (!c && !divide) {
        c = index.float_scalar(s.inputs[0]);
        scores = s.inputs[1];
      }
      if (!c) continue;
      scale = *c;
      pattern.insert(pattern.begin(), p);
      p = feeding(scores, p);
    }
    if (p == kNoNode || !is_op(nodes[p], ir::OpKind::MatMul, 2) || nodes[p].inputs.size() != 2) continue;
    pattern.insert(pattern.begin(), p);
    // Q scaled before the product (torch's MultiheadAttention divides q): the same scale on the
    // scores, when they have none of their own.
    std::string x = nodes[p].inputs[0];
    size_t x_reader = p;
    const bool scaled = scale != 1.0f || divide;
    if (size_t q = feeding(x, p); !scaled && q != kNoNode && (is_op(nodes[q], ir::OpKind::Mul, 2) || is_op(nodes[q], ir::OpKind::Div, 2))) {
      const ir::Node& qs = nodes[q];
      std::optional<float> c = index.float_scalar(qs.inputs[1]);
      std::string scaled_q = qs.inputs[0];
      if (!c && qs.op == ir::OpKind::Mul) {
        c = index.float_scalar(qs.inputs[0]);
        scaled_q = qs.inputs[1];
      }
      if (c) {
        scale = *c;
        divide = qs.op == ir::OpKind::Div;
        pattern.push_back(q);
        x = scaled_q;
        x_reader = q;
      }
    }
    // Transposes of the operands and of the result become strided reads and writes, and so does
    // a Gather of one constant index on axis 0 (timm's and Swin's qkv.permute(2, 0, 3, 1, 4)
    // then q, k, v = qkv[0], qkv[1], qkv[2]): the operand is then input permuted, entry `take`.
    std::vector<ir::Attribute> perms;
    auto fold_input = [&](std::string& value, size_t reader, const std::string& which) {
      std::vector<size_t> folded;
      std::vector<int64_t> perm;  // of the current source's axes; empty: none yet
      std::string source = value;
      size_t t = feeding(source, reader);
      if (t != kNoNode && is_op(nodes[t], ir::OpKind::Transpose)) {
        perm = nodes[t].attr_ints("perm");
        if (perm.size() < 2) return;
        folded.push_back(t);
        source = nodes[t].inputs[0];
        t = feeding(source, t);
      }
      int64_t take = -1;
      if (t != kNoNode && is_op(nodes[t], ir::OpKind::Gather, 2) && nodes[t].attr_int("axis", 0) == 0) {
        const ir::Tensor* idx = index.graph().initializer(nodes[t].inputs[1]);
        std::optional<std::vector<int64_t>> values = index.int_constant(nodes[t].inputs[1]);
        if (idx && idx->dims.empty() && values && values->size() == 1 && (*values)[0] >= 0) {
          take = (*values)[0];
          folded.push_back(t);
          source = nodes[t].inputs[0];
          // The Gather's data: a Transpose's result (other Gathers may read it too) or the input.
          size_t data = index.producer(source);
          std::vector<int64_t> outer;
          if (data != kNoNode && is_op(nodes[data], ir::OpKind::Transpose) && !nodes[data].attr_ints("perm").empty()) {
            outer = nodes[data].attr_ints("perm");
            source = nodes[data].inputs[0];
          }
          // view axes: outer[0] taken, then outer[1 + perm[i]] (identities where absent)
          const size_t r = perm.empty() ? (outer.empty() ? 0 : outer.size() - 1) : perm.size();
          if (outer.empty())
            for (size_t i = 0; i <= r; ++i) outer.push_back(static_cast<int64_t>(i));
          if (r == 0 || outer.size() != r + 1) return;
          std::vector<int64_t> composed = {outer[0]};
          for (size_t i = 0; i < r; ++i) {
            const int64_t axis = perm.empty() ? static_cast<int64_t>(i) : perm[i];
            if (axis < 0 || axis >= static_cast<int64_t>(r)) return;
            composed.push_back(outer[1 + axis]);
          }
          perm = std::move(composed);
        }
      }
      if (folded.empty()) return;
      // A valid permutation whose view keeps the input's innermost axis among its two last axes.
      ir::Node as_transpose;
      as_transpose.op = ir::OpKind::Transpose;
      as_transpose.inputs = {source};
      as_transpose.outputs = {"view"};
      as_transpose.attributes = {ir::ints_attr("perm", perm)};
      const bool matrix_ok = !foldable_perm(as_transpose, false).empty() && (take < 0 || perm[0] != static_cast<int64_t>(perm.size()) - 1);
      if (!matrix_ok || (take >= 0 && perm.size() < 3)) return;
      perms.push_back(ir::ints_attr("mhub_perm_" + which, std::move(perm)));
      if (take >= 0) perms.push_back(int_attribute("mhub_take_" + which, take));
      for (size_t k : folded) pattern.push_back(k);
      value = source;
    };
    std::string y = nodes[p].inputs[1], v = nodes[out_mm].inputs[1];
    fold_input(x, x_reader, "x");
    if (y != x) fold_input(y, p, "y");
    if (v != x && v != y) fold_input(v, out_mm, "v");
    std::vector<std::string> outputs = nodes[out_mm].outputs;
    if (size_t t = index.sole_reader(outputs[0]); outputs.size() == 1 && t != kNoNode) {
      std::vector<int64_t> perm = foldable_perm(nodes[t], true);
      if (!perm.empty()) {
        perms.push_back(ir::ints_attr("mhub_perm_out", std::move(perm)));
        pattern.push_back(t);
        outputs = nodes[t].outputs;
      }
    }
    bool taken = false;
    for (size_t k : pattern) taken = taken || dead[k];
    if (taken) continue;
    ir::Node attn = internal_node(ir::OpKind::FusedAttention, nodes[out_mm].name);
    attn.inputs = {x, y, v, mask};
    attn.outputs = outputs;
    attn.attributes = {float_attribute("mhub_scale", scale), int_attribute("mhub_scale_div", divide ? 1 : 0)};
    for (ir::Attribute& a : perms) attn.attributes.push_back(std::move(a));
    if (!allowed(can_replace, nodes[p], attn)) continue;
    for (size_t k : pattern) dead[k] = true;
    dead[out_mm] = false;
    fused.emplace_back(out_mm, std::move(attn));
  }
  for (auto& [at, node] : fused) nodes[at] = std::move(node);
  return apply_rewrites(graph, dead);
}

}  // namespace mhub::engine::passes
