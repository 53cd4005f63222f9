// NumPy .npy files (format versions 1, 2 and 3): C-order arrays of bool, (u)int8..64,
// float16/32/64 and complex64/128, little-endian. The one .npy reader and writer of mhub: the
// runner's test data, `mhub run` inputs and outputs, and the fine-tuning data and fixtures.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/ir/tensor.h"

namespace mhub::ir {

// The array as a tensor; its bytes are the file's bytes (no second copy). Throws mhub::Error
// naming the file: io (unreadable), format (bad magic, malformed header, a shape whose size
// overflows, data size not matching the shape), unsupported (Fortran order, big-endian,
// object/string/structured dtypes).
Tensor read_npy(const std::filesystem::path& path);
Tensor parse_npy(std::string bytes, const std::string& source);

// Writes a version 1.0 file atomically. Throws mhub::Error (unsupported) for dtypes NumPy has
// no type for (string, bfloat16, float8, 4-bit and 2-bit types).
void write_npy(const Tensor& tensor, const std::filesystem::path& path);
std::string serialize_npy(const Tensor& tensor);
// A float32 array of `dims` holding `values` (sizes must agree: else mhub::Error internal).
void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& dims, const std::vector<float>& values);

// The elements of a bool, integer, float32 or float64 tensor converted to float / int64 (for
// data and fixtures). Throws mhub::Error (unsupported) for other element types.
std::vector<float> npy_floats(const Tensor& tensor);
std::vector<int64_t> npy_int64s(const Tensor& tensor);

}  // namespace mhub::ir
