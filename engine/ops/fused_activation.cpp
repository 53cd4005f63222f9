#include "engine/ops/fused_activation.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "common/error.h"

namespace mhub::engine::ops {

namespace {

// The attribute names under one prefix ("mhub_": mhub_activation, mhub_clip_min, ...).
struct Names {
  std::string activation, clip_min, clip_max, alpha, beta;
  explicit Names(std::string_view prefix)
      : activation(std::string(prefix) + "activation"), clip_min(std::string(prefix) + "clip_min"),
        clip_max(std::string(prefix) + "clip_max"), alpha(std::string(prefix) + "activation_alpha"),
        beta(std::string(prefix) + "activation_beta") {}
};

// The names under `prefix`: the two prefixes in use are built once, since fused_activation_of
// runs in kernels on every run (epilogue_of) and building five strings there allocated; any other
// prefix is built into `other`.
const Names& names_of(std::string_view prefix, std::optional<Names>& other) {
  static const Names fused(kFusedPrefix), hidden(kHiddenPrefix);
  if (prefix == kFusedPrefix) return fused;
  if (prefix == kHiddenPrefix) return hidden;
  return other.emplace(prefix);
}

constexpr std::array<std::pair<Activation, std::string_view>, 10> kNames = {{
    {Activation::relu, "Relu"},
    {Activation::clip, "Clip"},
    {Activation::gelu, "Gelu"},
    {Activation::gelu_tanh, "GeluTanh"},
    {Activation::leaky_relu, "LeakyRelu"},
    {Activation::sigmoid, "Sigmoid"},
    {Activation::silu, "Silu"},
    {Activation::hard_sigmoid, "HardSigmoid"},
    {Activation::hard_swish, "HardSwish"},
    {Activation::tanh, "Tanh"},
}};

// The attribute names holding (alpha, beta) of `act`; nullptr where it has none.
std::pair<const std::string*, const std::string*> parameter_names(Activation act, const Names& n) {
  switch (act) {
    case Activation::clip: return {&n.clip_min, &n.clip_max};
    case Activation::leaky_relu: return {&n.alpha, nullptr};
    case Activation::hard_sigmoid: return {&n.alpha, &n.beta};
    default: return {nullptr, nullptr};
  }
}

}  // namespace

std::string_view activation_name(Activation act) {
  for (const auto& [a, name] : kNames)
    if (a == act) return name;
  return "";
}

FusedActivation fused_activation_of(const ir::Node& node) { return fused_activation_of(node, kFusedPrefix); }

void set_fused_activation(ir::Node& node, const FusedActivation& fused) { set_fused_activation(node, fused, kFusedPrefix); }

FusedActivation fused_activation_of(const ir::Node& node, std::string_view prefix) {
  std::optional<Names> other;
  const Names& names = names_of(prefix, other);
  FusedActivation fused;
  const ir::Attribute* act = node.attribute(names.activation);
  if (!act) return fused;
  for (const auto& [a, name] : kNames)
    if (act->s == name) fused.act = a;
  if (fused.act == Activation::none)
    throw_error(ErrorCategory::internal, "node '" + node.name + "': unknown fused activation '" + act->s + "'");
  auto [alpha, beta] = parameter_names(fused.act, names);
  if (alpha) fused.alpha = node.attr_float(*alpha, 0.0f);
  if (beta) fused.beta = node.attr_float(*beta, 0.0f);
  return fused;
}

void set_fused_activation(ir::Node& node, const FusedActivation& fused, std::string_view prefix) {
  std::optional<Names> other;
  const Names& names = names_of(prefix, other);
  std::erase_if(node.attributes, [&](const ir::Attribute& a) {
    return a.name == names.activation || a.name == names.clip_min || a.name == names.clip_max || a.name == names.alpha ||
           a.name == names.beta;
  });
  if (fused.act == Activation::none) return;
  ir::Attribute act;
  act.name = names.activation;
  act.type = ir::AttributeType::string;
  act.s = std::string(activation_name(fused.act));
  node.attributes.push_back(act);
  auto [alpha, beta] = parameter_names(fused.act, names);
  for (auto [name, value] : {std::pair<const std::string*, float>{alpha, fused.alpha}, {beta, fused.beta}}) {
    if (!name) continue;
    ir::Attribute bound;
    bound.name = *name;
    bound.type = ir::AttributeType::float_;
    bound.f = value;
    node.attributes.push_back(bound);
  }
}

}  // namespace mhub::engine::ops
