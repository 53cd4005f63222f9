// Which element types an operator's schema allows, from libonnx's schema registry (opsets up
// to 17; newer opsets are looked up at 17).
#pragma once

#include <cstdint>
#include <string>

#include "engine/ir/dtype.h"

namespace mhub::onnx_io {

// False when some input of the op accepts float32 but not `type` (e.g. Conv and bfloat16 at
// opset 17). Ops libonnx does not know (custom domains) give true: mhub cannot tell.
bool op_accepts_float_type(const std::string& op_type, const std::string& domain, int64_t opset, ir::DataType type);

}  // namespace mhub::onnx_io
