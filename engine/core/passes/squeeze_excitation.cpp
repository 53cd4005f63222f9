#include "engine/core/passes/squeeze_excitation.h"

#include "engine/core/passes/graph_match.h"
#include "engine/ir/ops.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::passes {

namespace {

bool all_equal(const std::vector<int64_t>& values, int64_t expected) {
  for (int64_t v : values)
    if (v != expected) return false;
  return true;
}

// A default-domain Conv reading `input` as X, computing a 1x1 product: the weight a float32
// constant [out, in, 1, 1], the bias absent or a float32 constant of `out` values, group 1,
// strides 1, pads 0, no fused residual. Its weight dims or nothing.
const ir::Tensor* pointwise_conv_weight(const GraphIndex& index, const ir::Node& conv, const std::string& input) {
  if (!is_op(conv, ir::OpKind::Conv, 2) || conv.inputs.size() > 3 || conv.inputs[0] != input) return nullptr;
  const ir::Tensor* w = index.float_constant(conv.inputs[1]);
  if (!w || w->dims.size() != 4 || w->dims[2] != 1 || w->dims[3] != 1 || w->dims[0] < 1 || w->dims[1] < 1) return nullptr;
  if (conv.attr_int("group", 1) != 1 || !all_equal(conv.attr_ints("strides"), 1) || !all_equal(conv.attr_ints("pads"), 0))
    return nullptr;
  const std::vector<int64_t> kernel = conv.attr_ints("kernel_shape");
  if (!kernel.empty() && !all_equal(kernel, 1)) return nullptr;
  const std::string auto_pad = conv.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return nullptr;
  if (conv.inputs.size() == 3 && !conv.inputs[2].empty()) {
    const ir::Tensor* b = index.float_constant(conv.inputs[2]);
    if (!b || b->dims.size() != 1 || b->dims[0] != w->dims[0]) return nullptr;
  }
  return w;
}

std::string bias_of(const ir::Node& conv) { return conv.inputs.size() == 3 ? conv.inputs[2] : std::string(); }

}  // namespace

size_t fuse_squeeze_excitations(ir::Graph& graph) {
  const GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  std::vector<std::pair<size_t, ir::Node>> fused;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& pool = graph.nodes[i];
    if (!is_op(pool, ir::OpKind::GlobalAveragePool) || pool.inputs.size() != 1 || pool.outputs.size() != 1 || dead[i]) continue;
    const std::string& x = pool.inputs[0];
    const size_t a = index.sole_reader(pool.outputs[0]);
    if (a == kNoNode || dead[a]) continue;
    const ir::Node& squeeze = graph.nodes[a];
    const ir::Tensor* w1 = pointwise_conv_weight(index, squeeze, pool.outputs[0]);
    if (!w1 || squeeze.outputs.size() != 1) continue;
    const size_t b = index.sole_reader(squeeze.outputs[0]);
    if (b == kNoNode || dead[b]) continue;
    const ir::Node& excite = graph.nodes[b];
    const ir::Tensor* w2 = pointwise_conv_weight(index, excite, squeeze.outputs[0]);
    if (!w2 || excite.outputs.size() != 1 || w2->dims[0] != w1->dims[1] || w2->dims[1] != w1->dims[0]) continue;
    const size_t m = index.sole_reader(excite.outputs[0]);
    if (m == kNoNode || dead[m]) continue;
    const ir::Node& mul = graph.nodes[m];
    if (!is_op(mul, ir::OpKind::Mul, 2) || mul.inputs.size() != 2 || other_input(mul, excite.outputs[0]) != x) continue;
    ir::Node se = internal_node(ir::OpKind::SqueezeExcitation, mul.name);
    se.inputs = {x, squeeze.inputs[1], bias_of(squeeze), excite.inputs[1], bias_of(excite)};
    se.outputs = mul.outputs;
    ops::set_fused_activation(se, ops::fused_activation_of(excite));
    ops::set_fused_activation(se, ops::fused_activation_of(squeeze), ops::kHiddenPrefix);
    dead[i] = dead[a] = dead[b] = true;
    fused.emplace_back(m, std::move(se));
  }
  for (auto& [at, node] : fused) graph.nodes[at] = std::move(node);
  return apply_rewrites(graph, dead);
}

}  // namespace mhub::engine::passes
