// The internal attributes by which the load-time passes fuse an activation into a Conv / Gemm /
// MatMul node (engine/core/passes: nn_fusion, matmul_fusion): mhub_activation = "Relu" | "Clip" |
// "Gelu" | "GeluTanh" | "LeakyRelu" | "Sigmoid" | "Silu" | "HardSigmoid" | "HardSwish" | "Tanh";
// for Clip its bounds mhub_clip_min / mhub_clip_max, for LeakyRelu mhub_activation_alpha, for
// HardSigmoid mhub_activation_alpha / mhub_activation_beta. Read here once (every
// kernel that honours them asks fused_activation_of), written here once (the passes call
// set_fused_activation). Host code.
#pragma once

#include <string_view>

#include "engine/ir/graph.h"
#include "engine/ops/activation.h"

namespace mhub::engine::ops {

struct FusedActivation {
  Activation act = Activation::none;
  float alpha = 0, beta = 0;  // Clip: min, max; LeakyRelu: alpha; HardSigmoid: alpha, beta
};

// The node's fused activation (none when it has no mhub_activation). An unknown name throws
// mhub::Error (internal): only the passes write the attribute.
FusedActivation fused_activation_of(const ir::Node& node);

// Records `fused` on `node` (replacing any fused activation it had; none removes it).
void set_fused_activation(ir::Node& node, const FusedActivation& fused);

// The same under another attribute prefix: kFusedPrefix gives the names above; a node carrying two
// activations (the internal SqueezeExcitation) names its second one under "mhub_hidden_"
// (mhub_hidden_activation, mhub_hidden_clip_min, mhub_hidden_activation_alpha, ...).
inline constexpr std::string_view kFusedPrefix = "mhub_";
inline constexpr std::string_view kHiddenPrefix = "mhub_hidden_";
FusedActivation fused_activation_of(const ir::Node& node, std::string_view prefix);
void set_fused_activation(ir::Node& node, const FusedActivation& fused, std::string_view prefix);

// The attribute value naming `act` ("" for none).
std::string_view activation_name(Activation act);

}  // namespace mhub::engine::ops
