// NumPy .npy files (format versions 1, 2 and 3): C-order arrays of bool, (u)int8..64,
// float16/32/64 and complex64/128, little-endian.
#pragma once

#include <string>
#include <string_view>

#include "engine/ir/tensor.h"

namespace mhub::onnx_io {

// The array as a tensor; its bytes are the file's bytes (no second copy). Throws mhub::Error:
// io (unreadable), format (bad magic, malformed header, data size not matching the shape),
// unsupported (Fortran order, big-endian, object/string/structured dtypes).
ir::Tensor read_npy(const std::string& path);
ir::Tensor parse_npy(std::string bytes, const std::string& source);

// Writes a version 1.0 file atomically. Throws mhub::Error (unsupported) for dtypes NumPy has
// no type for (string, bfloat16, float8, 4-bit and 2-bit types).
void write_npy(const ir::Tensor& tensor, const std::string& path);
std::string serialize_npy(const ir::Tensor& tensor);

}  // namespace mhub::onnx_io
