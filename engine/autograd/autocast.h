// Mixed-precision training as torch.autocast does it: the matrix ops (Conv, ConvTranspose,
// Gemm, MatMul) compute in a 16-bit float type, everything else (normalisation, softmax, the
// loss, the optimizer's master weights) stays float32.
//
// autocast() rewrites a float32 forward model in place: each input of those ops goes through a
// Cast to `low` (one Cast per value, shared by every reader), and each of their outputs is
// computed as `<name>/autocast` in `low` and cast back to float32 under its old name. The
// parameters stay float32 initializers, so the backward pass (the Cast rule casts gradients
// back with CastLike) delivers float32 gradients for float32 master weights.
#pragma once

#include <cstddef>

#include "engine/ir/graph.h"

namespace mhub::autograd {

// `low`: bfloat16 or float16 (anything else throws mhub::Error, usage). Returns how many nodes
// now compute in `low`. Only the main graph's nodes in the default domain are rewritten.
size_t autocast(ir::Model& model, ir::DataType low);

}  // namespace mhub::autograd
