// Element access by index for any numeric dtype, through double. Used by reference kernels that
// must cover many dtypes with one loop (reductions, quantization, comparisons in tests); not for
// hot paths. float16/bfloat16 convert exactly to double; stores round to nearest even.
// int64/uint64 values beyond 2^53 lose precision through double: kernels that must be exact on
// 64-bit integers use load_int64/store_int64 instead.
#pragma once

#include <cstdint>

#include "engine/core/float_types.h"
#include "engine/cpu/tensor_util.h"  // mutable_bytes / mutable_data for the stores
#include "engine/ir/tensor.h"

namespace mhub::engine::cpu {

// The narrow-float conversions are engine-core's (engine/core/float_types.h).
using engine::bfloat16_to_float;
using engine::float_to_bfloat16;
using engine::float_to_half;
using engine::half_to_float;

// Throws mhub::Error (unsupported) for string/complex/sub-byte dtypes.
double load_as_double(const ir::Tensor& t, uint64_t index);
void store_from_double(ir::Tensor& t, uint64_t index, double value);
int64_t load_int64(const ir::Tensor& t, uint64_t index);
void store_int64(ir::Tensor& t, uint64_t index, int64_t value);

// String tensors keep elements in `strings`: makes sure a freshly allocated one has numel()
// entries whatever the allocator did (cheap no-op otherwise).
inline ir::Tensor& size_strings(ir::Tensor& t) {
  if (t.dtype == ir::DataType::string) t.strings.resize(t.numel());
  return t;
}

}  // namespace mhub::engine::cpu
