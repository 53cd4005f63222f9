// Backward rules of the matmul family: Gemm, MatMul (batched, broadcasting).
#include <numeric>

#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

std::vector<int64_t> swap_last_two(size_t rank) {
  std::vector<int64_t> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[rank - 1], perm[rank - 2]);
  return perm;
}

// The input X of the node that made `value` when that node is Transpose(X) swapping only the last
// two of `rank` axes (attention's k.transpose(-2, -1)): then value^T is X itself, no copy.
// "" otherwise.
std::string transpose_source(Builder& b, const std::string& value, size_t rank) {
  for (const auto& node : b.graph().nodes) {
    if (node.outputs.empty() || node.outputs[0] != value) continue;
    if (node.op_type != "Transpose" || !(node.domain.empty() || node.domain == "ai.onnx") || node.inputs.empty()) return "";
    std::vector<int64_t> perm = node.attr_ints("perm");
    if (perm.empty() && rank == 2) perm = {1, 0};  // the default reverses the axes
    return perm == swap_last_two(rank) ? node.inputs[0] : "";
  }
  return "";
}

// `value` with its last two axes swapped: the Transpose's input when `value` came from such a
// Transpose, else a new Transpose.
std::string swapped_last_two(Builder& b, const std::string& value, size_t rank) {
  std::string source = transpose_source(b, value, rank);
  return !source.empty() ? source : b.op("Transpose", {value}, {ints_attr("perm", swap_last_two(rank))});
}

// Y = alpha * A' B' + beta * C with A' = transA ? A^T : A, B' likewise.
void gemm_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const std::string& dy = c.output_grads[0];
  const float alpha = n.attr_float("alpha", 1), beta = n.attr_float("beta", 1);
  const int64_t ta = n.attr_int("transA", 0), tb = n.attr_int("transB", 0);
  const std::string &a = n.inputs[0], &bm = n.inputs[1];
  auto gemm = [&](const std::string& x, int64_t tx, const std::string& y, int64_t ty) {
    return b.op("Gemm", {x, y}, {int_attr("transA", tx), int_attr("transB", ty), float_attr("alpha", alpha)});
  };
  c.input_grads.assign(n.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = ta ? gemm(bm, tb, dy, 1) : gemm(dy, 0, bm, !tb);
  if (c.wants[1]) c.input_grads[1] = tb ? gemm(dy, 1, a, ta) : gemm(a, !ta, dy, 0);
  if (n.inputs.size() > 2 && !n.inputs[2].empty() && c.wants[2]) {
    const auto& cshape = b.shape(n.inputs[2]);
    const auto& yshape = b.shape(n.outputs[0]);
    std::string g = dy;
    if (cshape.size() == 1) g = b.reduce_sum(dy, {0}, false);
    else if (cshape.size() == 2 && cshape[0] == 1 && yshape[0] != 1) g = b.reduce_sum(dy, {0}, true);
    if (cshape.size() == 2 && cshape[1] == 1 && yshape[1] != 1) g = b.reduce_sum(g, {1}, true);
    if (cshape.empty()) g = b.reduce_sum(dy, {0, 1}, false);
    c.input_grads[2] = beta == 1 ? g : b.op("Mul", {g, b.const_f32(beta)});
  }
}

// Y = A B with a 2-D B [K, N] (a Linear layer's weight) and A [..., K]: Y is [..., N] with A's
// leading dims, so both gradients are single 2-D products over the flattened rows M of A and dY,
// the transposes left to sgemm's flags (Gemm transA / transB), no Transpose copy:
// dA = dY B^T ([M, N] x [K, N]^T) and dB = A^T dY ([M, K]^T x [M, N]), one GEMM with M rows
// instead of one per batch entry followed by a ReduceSum over the batch.
void matmul_weight_rule(Builder& b, RuleCall& c, const std::vector<int64_t>& as, const std::vector<int64_t>& bs) {
  const auto& n = c.node;
  const int64_t k = as.back(), cols = bs.back();
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < as.size(); ++i) rows *= as[i];
  const bool flat = as.size() == 2;
  const std::string dy = flat ? c.output_grads[0] : b.reshape(c.output_grads[0], {rows, cols});
  c.input_grads.assign(2, "");
  if (c.wants[0]) {
    const std::string da = b.op("Gemm", {dy, n.inputs[1]}, {int_attr("transB", 1)});
    c.input_grads[0] = flat ? da : b.reshape(da, as);
  }
  if (c.wants[1]) {
    const std::string a = flat ? n.inputs[0] : b.reshape(n.inputs[0], {rows, k});
    c.input_grads[1] = b.op("Gemm", {a, dy}, {int_attr("transA", 1)});
  }
}

void matmul_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& as = b.shape(n.inputs[0]);
  const auto& bs = b.shape(n.inputs[1]);
  if (as.size() < 2 || bs.size() < 2)
    throw Error(ErrorCategory::unsupported, "training: MatMul '" + n.name + "' with a 1-D operand has no backward rule yet");
  if (bs.size() == 2) return matmul_weight_rule(b, c, as, bs);
  const std::string& dy = c.output_grads[0];
  const auto& ys = b.shape(n.outputs[0]);
  c.input_grads.assign(2, "");
  if (c.wants[0]) {
    const std::string bt = swapped_last_two(b, n.inputs[1], bs.size());
    const std::string full = b.op("MatMul", {dy, bt});
    std::vector<int64_t> full_shape(ys.begin(), ys.end() - 1);
    full_shape.push_back(as.back());
    c.input_grads[0] = sum_to(b, full, full_shape, as);
  }
  if (c.wants[1]) {
    const std::string at = swapped_last_two(b, n.inputs[0], as.size());
    const std::string full = b.op("MatMul", {at, dy});
    std::vector<int64_t> full_shape(ys.begin(), ys.end() - 2);
    full_shape.push_back(bs[bs.size() - 2]);
    full_shape.push_back(ys.back());
    c.input_grads[1] = sum_to(b, full, full_shape, bs);
  }
}

}  // namespace

void add_matmul_rules(std::map<std::string, Rule>& rules) {
  rules["Gemm"] = gemm_rule;
  rules["MatMul"] = matmul_rule;
}

}  // namespace mhub::autograd
