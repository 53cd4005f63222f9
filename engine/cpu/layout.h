// What the layout family's files share: the reference Transpose (layout.cpp), which the oneDNN
// Transpose (layout_dnnl.cpp) runs for what it does not handle.
#pragma once

#include "engine/core/op_context.h"

namespace mhub::engine::cpu {

void transpose_reference(OpContext& ctx);

}  // namespace mhub::engine::cpu
