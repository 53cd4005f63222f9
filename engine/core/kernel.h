// Kernels and the explicit tables that register them.
//
// A backend owns a list of KernelDef rows (built by one function per op family, called from one
// table function: no static initializers). Each op has a plain `reference` kernel; hot ops may
// add a `fast` one (oneDNN, cuBLAS...). The session takes the fast kernel when its supports()
// says yes, else the reference. Op specs (tests/ops) run both against each other.
#pragma once

#include <span>
#include <vector>

#include "engine/core/op_context.h"

namespace mhub::engine {

using KernelFn = void (*)(OpContext&);

// Can this kernel run this node with inputs of these element types (undefined for absent or
// non-tensor inputs)? nullptr means "always".
using SupportsFn = bool (*)(const ir::Node& node, std::span<const ir::DataType> input_types);

enum class KernelKind : uint8_t { reference, fast };

struct KernelDef {
  ir::OpKind op;
  KernelKind kind;
  KernelFn run;
  SupportsFn supports;
  // Bit i set: input i is read by the kernel's host code (a shape, axes, a scalar count), so a
  // device backend's kernel gets it in host memory. Meaningless for the CPU (everything is host).
  uint32_t host_inputs = 0;
  // The kernel honours the channels-last marks mhub_layout_in / mhub_layout_out
  // (passes/channels_last.h); the layout pass marks a node only when its kernel does.
  bool channels_last = false;
};

// One row of a backend's registration table: an op family (engine/ir/op_families.def) and a
// function of that family's files (engine/<backend>/<family>*.cpp) that appends its kernels.
struct FamilyKernels {
  ir::OpFamily family;
  void (*add)(std::vector<KernelDef>& table);
};

// Runs the registration functions in order (find_kernel takes the first supporting fast kernel,
// so the order matters between rows of one op). Throws an internal error naming the op when a
// function registers an op of another family: every kernel of an op lives in its family's files.
std::vector<KernelDef> build_kernel_table(std::span<const FamilyKernels> registrations);

// Picks the kernel for `node` from `table`: a supporting fast kernel first, then a supporting
// reference kernel. nullptr when none can run it.
const KernelDef* find_kernel(std::span<const KernelDef> table, const ir::Node& node,
                             std::span<const ir::DataType> input_types, bool allow_fast = true);

}  // namespace mhub::engine
