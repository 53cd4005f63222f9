// NumPy .npy files (format versions 1-3), the exchange format of mhub's training data and
// fixtures. Supported element types: float32/64, int8/16/32/64, uint8/16/32/64, bool, little
// endian or single-byte, C order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mhub::train {

struct NpyArray {
  std::string descr;           // numpy dtype string, e.g. "<f4", "|u1"
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;  // element data, row-major

  uint64_t numel() const;
  bool is_float() const { return descr[1] == 'f'; }
  // Element values converted to float / int64 (any supported dtype).
  std::vector<float> to_floats() const;
  std::vector<int64_t> to_int64s() const;
};

// Throws mhub::Error (io for unreadable files, format for malformed ones, naming the file).
NpyArray read_npy(const std::filesystem::path& path);
NpyArray parse_npy(const std::string& bytes, const std::string& what);
// float32 array, written atomically.
void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& dims,
               const std::vector<float>& values);

}  // namespace mhub::train
