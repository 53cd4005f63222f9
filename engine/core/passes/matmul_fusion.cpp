#include "engine/core/passes/matmul_fusion.h"

#include "engine/core/passes/graph_match.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::passes {

namespace {

// A float32 initializer, overridable or not (the kernels read it at run time).
const ir::Tensor* float_initializer(const ir::Graph& graph, const std::string& name) {
  const ir::Tensor* t = name.empty() ? nullptr : graph.initializer(name);
  return t && t->dtype == ir::DataType::float32 ? t : nullptr;
}

}  // namespace

size_t fuse_matmul_epilogues(ir::Graph& graph, const CanReplace& can_replace) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  auto& nodes = graph.nodes;
  std::vector<std::pair<size_t, ir::Node>> fused;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& mm = nodes[i];
    bool is_gemm = is_op(mm, ir::OpKind::Gemm, 2);
    if (dead[i] || (!is_op(mm, ir::OpKind::MatMul, 2) && !is_gemm) ||
        ops::fused_activation_of(mm).act != ops::Activation::none)
      continue;
    if (is_gemm && mm.inputs.size() != 2 && mm.inputs.size() != 3) continue;
    if (!is_gemm && mm.inputs.size() != 2) continue;
    const ir::Tensor* w = float_initializer(graph, mm.inputs[1]);
    if (!is_gemm && (!w || w->dims.size() != 2)) continue;
    ir::Node out = mm;
    size_t last = i;
    std::vector<size_t> gone;
    // MatMul -> Add(bias)
    size_t r = index.sole_reader(mm.outputs[0]);
    if (!is_gemm && r != kNoNode && !dead[r] && is_op(nodes[r], ir::OpKind::Add, 2)) {
      std::string b = other_input(nodes[r], mm.outputs[0]);
      const ir::Tensor* bt = float_initializer(graph, b);
      if (bt && bt->dims.size() == 1 && bt->dims[0] == w->dims[1]) {
        out.inputs.push_back(b);
        gone.push_back(last);
        last = r;
        r = index.sole_reader(nodes[r].outputs[0]);
      }
    }
    // -> activation
    ops::FusedActivation act;
    if (r != kNoNode && !dead[r] && nodes[r].inputs[0] == nodes[last].outputs[0] &&
        fusable_activation(index, nodes[r], act)) {
      if (!is_gemm || act.act == ops::Activation::gelu || act.act == ops::Activation::gelu_tanh) {
        ops::set_fused_activation(out, act);
        gone.push_back(last);
        last = r;
      }
    }
    if (last == i) continue;
    if (!is_gemm && out.inputs.size() == 2) out.inputs.push_back("");  // no bias
    out.outputs = nodes[last].outputs;
    if (!allowed(can_replace, mm, out)) continue;
    for (size_t k : gone) dead[k] = true;
    dead[last] = false;
    fused.emplace_back(last, std::move(out));
  }
  for (auto& [at, node] : fused) nodes[at] = std::move(node);
  return apply_rewrites(graph, dead);
}

}  // namespace mhub::engine::passes
