#include "engine/ops/fused_activation.h"

#include <algorithm>
#include <array>
#include <string>

#include "common/error.h"

namespace mhub::engine::ops {

namespace {

constexpr const char* kActivation = "mhub_activation";
constexpr const char* kClipMin = "mhub_clip_min";
constexpr const char* kClipMax = "mhub_clip_max";
constexpr const char* kAlpha = "mhub_activation_alpha";
constexpr const char* kBeta = "mhub_activation_beta";

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
std::pair<const char*, const char*> parameter_names(Activation act) {
  switch (act) {
    case Activation::clip: return {kClipMin, kClipMax};
    case Activation::leaky_relu: return {kAlpha, nullptr};
    case Activation::hard_sigmoid: return {kAlpha, kBeta};
    default: return {nullptr, nullptr};
  }
}

}  // namespace

std::string_view activation_name(Activation act) {
  for (const auto& [a, name] : kNames)
    if (a == act) return name;
  return "";
}

FusedActivation fused_activation_of(const ir::Node& node) {
  FusedActivation fused;
  const ir::Attribute* act = node.attribute(kActivation);
  if (!act) return fused;
  for (const auto& [a, name] : kNames)
    if (act->s == name) fused.act = a;
  if (fused.act == Activation::none)
    throw_error(ErrorCategory::internal, "node '" + node.name + "': unknown fused activation '" + act->s + "'");
  auto [alpha, beta] = parameter_names(fused.act);
  if (alpha) fused.alpha = node.attr_float(alpha, 0.0f);
  if (beta) fused.beta = node.attr_float(beta, 0.0f);
  return fused;
}

void set_fused_activation(ir::Node& node, const FusedActivation& fused) {
  std::erase_if(node.attributes, [](const ir::Attribute& a) {
    return a.name == kActivation || a.name == kClipMin || a.name == kClipMax || a.name == kAlpha || a.name == kBeta;
  });
  if (fused.act == Activation::none) return;
  ir::Attribute act;
  act.name = kActivation;
  act.type = ir::AttributeType::string;
  act.s = std::string(activation_name(fused.act));
  node.attributes.push_back(act);
  auto [alpha, beta] = parameter_names(fused.act);
  for (auto [name, value] : {std::pair<const char*, float>{alpha, fused.alpha}, {beta, fused.beta}}) {
    if (!name) continue;
    ir::Attribute bound;
    bound.name = name;
    bound.type = ir::AttributeType::float_;
    bound.f = value;
    node.attributes.push_back(bound);
  }
}

}  // namespace mhub::engine::ops
