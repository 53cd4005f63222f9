// Narrow floating types (float16, bfloat16, the float8 kinds, float4e2m1, float8e8m0) to and
// from float, and reading any numeric element as a double. Shared by Cast, the conformance
// comparison and every kernel that widens narrow floats to compute in float.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/ir/float16.h"
#include "engine/ir/tensor.h"

namespace mhub::engine {

// float16 / bfloat16 conversions live in the IR (engine/ir/float16.h), shared with onnx_io.
using ir::bfloat16_to_float;
using ir::float_to_bfloat16;
using ir::float_to_half;
using ir::half_to_float;

// `type` is one of the float8 kinds, float4e2m1 (low 4 bits used) or float8e8m0.
float small_float_to_float(ir::DataType type, uint8_t bits);
// Round to nearest even. saturate: out-of-range values clamp to the largest finite value
// (ONNX Cast's default); otherwise they become inf where the type has it, else NaN.
uint8_t float_to_small_float(ir::DataType type, float value, bool saturate);

// Element `index` of any numeric or bool tensor as a double (packed int4/uint4/int2/uint2
// unpacked, complex gives the real part). Strings are not numeric: throws mhub::Error (internal).
double element_as_double(const ir::Tensor& tensor, size_t index);

}  // namespace mhub::engine
