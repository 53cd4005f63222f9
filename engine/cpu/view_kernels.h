// Ops that only change a tensor's dims and share its storage (Identity, Reshape, Flatten,
// Squeeze, Unsqueeze): their kernels never touch the data bytes, so a device backend registers
// these same kernels and its tensors stay on the device. The shape / axes operand (input 1) is
// read on the host (KernelDef::host_inputs).
#pragma once

#include <vector>

#include "engine/core/kernel.h"

namespace mhub::engine::cpu {

void add_view_kernels(std::vector<KernelDef>& table);

}  // namespace mhub::engine::cpu
