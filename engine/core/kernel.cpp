#include "engine/core/kernel.h"

#include <string>

#include "common/error.h"

namespace mhub::engine {

std::vector<KernelDef> build_kernel_table(std::span<const FamilyKernels> registrations) {
  std::vector<KernelDef> table;
  for (const FamilyKernels& row : registrations) {
    const size_t first = table.size();
    row.add(table);
    for (size_t i = first; i < table.size(); ++i)
      if (ir::op_family(table[i].op) != row.family)
        throw Error(ErrorCategory::internal,
                    "kernel table: " + std::string(ir::op_name(table[i].op)) + " (family " +
                        std::string(ir::family_name(ir::op_family(table[i].op))) + ") registered by a function of family " +
                        std::string(ir::family_name(row.family)));
  }
  return table;
}

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
