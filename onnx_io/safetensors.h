// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}),
// then one data buffer that the offsets index (relative to its start).
//
// Reading maps the file: tensors view the mapping (no copies). The reader accepts only files
// where the tensors tile the buffer exactly: no overlap, no gap, no trailing bytes, each range
// exactly dtype size × element count. Every violation throws mhub::Error (format) naming the file.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "onnx_io/weights_map.h"

namespace mhub::onnx_io {

// Header lengths above this are refused (the reference implementation uses 100 MB too).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

WeightsMap read_safetensors(const std::filesystem::path& path);

// Parses bytes kept alive by `owner`; tensors view [data, data+size). `source` names the bytes
// in messages.
WeightsMap parse_safetensors(std::shared_ptr<const void> owner, const uint8_t* data, size_t size,
                             const std::string& source);

// The file's bytes: tensors in safetensors_write_order, header padded with spaces so the buffer starts
// 8-byte aligned, metadata (if any) as "__metadata__". Throws mhub::Error (unsupported) for
// dtypes safetensors cannot hold (string, complex, sub-byte).
std::string serialize_safetensors(const WeightsMap& weights);
void write_safetensors(const WeightsMap& weights, const std::filesystem::path& path);

// The order tensors are stored in, as the reference writer (Python/Rust safetensors) stores them:
// element size descending, then name ascending. Each tensor then starts at a multiple of its
// element size, so readers can view it in place (zero-copy, aligned); the same names and dtypes
// always give the same layout. The header lists tensors in this order too.
std::vector<const ir::Tensor*> safetensors_write_order(const WeightsMap& weights);

// safetensors dtype name of an IR type ("F32", "BF16", ...); empty when it has none.
std::string safetensors_dtype_name(ir::DataType dtype);

}  // namespace mhub::onnx_io
