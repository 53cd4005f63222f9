#include "engine/core/kernel.h"

namespace mhub::engine {

const KernelDef* find_kernel(std::span<const KernelDef> table, const ir::Node& node,
                             std::span<const ir::DataType> input_types, bool allow_fast) {
  const KernelDef* reference = nullptr;
  for (const KernelDef& def : table) {
    if (def.op != node.op) continue;
    if (def.supports && !def.supports(node, input_types)) continue;
    if (def.kind == KernelKind::fast && allow_fast) return &def;
    if (def.kind == KernelKind::reference && !reference) reference = &def;
  }
  return reference;
}

}  // namespace mhub::engine
