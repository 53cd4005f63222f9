// Ops that only change a tensor's dims and share its storage (Identity, Reshape, Flatten,
// Squeeze, Unsqueeze: the shape family's reinterpreting ops). Their kernels never touch the data
// bytes, so they run on every backend: the CPU registers them as its reference kernels
// (cpu/shape.cpp), a device backend registers add_view_kernels and its tensors stay on the
// device. The shape / axes operand (input 1) is read on the host (KernelDef::host_inputs).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/kernel.h"

namespace mhub::engine {

// Reshape's target dims for an input of `in_dims`: 0 copies the input's dim (unless allow_zero),
// one -1 is inferred. Throws mhub::Error (format) naming the node for a shape that does not fit.
std::vector<int64_t> reshaped_dims(const OpContext& ctx, const std::vector<int64_t>& in_dims, std::vector<int64_t> shape,
                                   bool allow_zero);

void view_identity(OpContext& ctx);
void view_reshape(OpContext& ctx);
void view_flatten(OpContext& ctx);
void view_squeeze(OpContext& ctx);
void view_unsqueeze(OpContext& ctx);

// The rows above as fast kernels (Reshape, Squeeze, Unsqueeze read input 1 on the host).
void add_view_kernels(std::vector<KernelDef>& table);

}  // namespace mhub::engine
