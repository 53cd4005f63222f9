// float16 and bfloat16 <-> float32, once for the whole program (kernels, Cast, the fp16 model
// conversion of onnx_io). IEEE behaviour: round to nearest even; NaN stays NaN (quiet, its
// payload kept as far as it fits); +-inf stays +-inf; float16 overflow gives inf.
#pragma once

#include <cstdint>

namespace mhub::ir {

float half_to_float(uint16_t bits);
uint16_t float_to_half(float value);
float bfloat16_to_float(uint16_t bits);
uint16_t float_to_bfloat16(float value);

}  // namespace mhub::ir
