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

constexpr std::array<std::pair<Activation, std::string_view>, 4> kNames = {{
    {Activation::relu, "Relu"},
    {Activation::clip, "Clip"},
    {Activation::gelu, "Gelu"},
    {Activation::gelu_tanh, "GeluTanh"},
}};

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
  if (fused.act == Activation::clip) {
    fused.lo = node.attr_float(kClipMin, 0.0f);
    fused.hi = node.attr_float(kClipMax, 0.0f);
  }
  return fused;
}

void set_fused_activation(ir::Node& node, const FusedActivation& fused) {
  std::erase_if(node.attributes, [](const ir::Attribute& a) {
    return a.name == kActivation || a.name == kClipMin || a.name == kClipMax;
  });
  if (fused.act == Activation::none) return;
  ir::Attribute act;
  act.name = kActivation;
  act.type = ir::AttributeType::string;
  act.s = std::string(activation_name(fused.act));
  node.attributes.push_back(act);
  if (fused.act != Activation::clip) return;
  for (auto [name, value] : {std::pair<const char*, float>{kClipMin, fused.lo}, {kClipMax, fused.hi}}) {
    ir::Attribute bound;
    bound.name = name;
    bound.type = ir::AttributeType::float_;
    bound.f = value;
    node.attributes.push_back(bound);
  }
}

}  // namespace mhub::engine::ops
