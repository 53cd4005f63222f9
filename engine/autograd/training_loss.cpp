#include "engine/autograd/training_loss.h"

#include <numeric>

#include "common/error.h"

namespace mhub::autograd {
LossValues emit_loss(Builder& b, LossKind kind, const std::string& logits, const std::string& target,
                     const std::vector<int64_t>& dims, const std::string& loss_name) {
  if (dims.empty()) throw Error(ErrorCategory::internal, "loss: the logits must have a batch dimension");
  std::vector<int64_t> all_axes(dims.size());
  std::iota(all_axes.begin(), all_axes.end(), int64_t{0});
  const double numel = std::accumulate(dims.begin(), dims.end(), 1.0, [](double a, int64_t d) { return a * static_cast<double>(d); });
  LossValues out;
  // mean of per-element terms: sum / numel (torch's reduction='mean').
  auto mean_of = [&](const std::string& terms) { return b.op("Div", {b.reduce_sum(terms, all_axes, false), b.const_f32(static_cast<float>(numel))}); };
  switch (kind) {
    case LossKind::cross_entropy: {
      if (dims.size() != 2) throw Error(ErrorCategory::unsupported, "cross-entropy: the logits must be [batch, classes]");
      const std::string rows = b.const_f32(static_cast<float>(dims[0]));
      const std::string log_p = b.op("LogSoftmax", {logits}, {int_attr("axis", 1)});
      const std::string p = b.op("Softmax", {logits}, {int_attr("axis", 1)});
      out.loss = b.op("Div", {b.op("Neg", {b.reduce_sum(b.op("Mul", {target, log_p}), all_axes, false)}), rows});
      b.graph().nodes.back().outputs[0] = loss_name;
      out.dlogits = b.op("Div", {b.op("Sub", {p, target}), rows});
      break;
    }
    case LossKind::mse: {
      const std::string diff = b.op("Sub", {logits, target});
      mean_of(b.op("Mul", {diff, diff}));
      b.graph().nodes.back().outputs[0] = loss_name;
      out.dlogits = b.op("Div", {b.op("Mul", {diff, b.const_f32(2)}), b.const_f32(static_cast<float>(numel))});
      break;
    }
    case LossKind::l1: {
      const std::string diff = b.op("Sub", {logits, target});
      mean_of(b.op("Abs", {diff}));
      b.graph().nodes.back().outputs[0] = loss_name;
      out.dlogits = b.op("Div", {b.op("Sign", {diff}), b.const_f32(static_cast<float>(numel))});
      break;
    }
    case LossKind::bce_with_logits: {
      // max(z, 0) - z t + log(1 + exp(-|z|)) never overflows.
      const std::string softplus_tail = b.op("Log", {b.op("Add", {b.op("Exp", {b.op("Neg", {b.op("Abs", {logits})})}), b.const_f32(1)})});
      mean_of(b.op("Add", {b.op("Sub", {b.op("Relu", {logits}), b.op("Mul", {logits, target})}), softplus_tail}));
      b.graph().nodes.back().outputs[0] = loss_name;
      out.dlogits = b.op("Div", {b.op("Sub", {b.op("Sigmoid", {logits}), target}), b.const_f32(static_cast<float>(numel))});
      break;
    }
  }
  out.loss = loss_name;
  return out;
}

ir::Model loss_model(LossKind kind, const std::vector<int64_t>& dims, int64_t opset) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports.push_back({"", opset, 0});
  ir::Graph& g = model.graph;
  g.name = "loss";
  g.inputs = {float_value_info("logits", dims), float_value_info("target", dims)};
  Builder b(g, {{"logits", dims}, {"target", dims}}, opset);
  const LossValues values = emit_loss(b, kind, "logits", "target", dims, "loss");
  b.op("Identity", {values.dlogits});
  g.nodes.back().outputs[0] = "dlogits";
  g.outputs = {float_value_info("loss", std::vector<int64_t>{}), float_value_info("dlogits", dims)};
  return model;
}

}  // namespace mhub::autograd
