// A tensor value as the IR holds it: element type, concrete dims, and contiguous row-major bytes.
//
// Data lives in a shared Storage (owned, or a view of a mapped external-data file) at `offset`;
// string tensors keep their elements in `strings` instead. The remaining fields record where
// the tensor came from so that an exported ONNX file says the same thing the imported one did
// (which TensorProto field held the data, its external-data reference, doc, metadata).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/ir/dtype.h"
#include "engine/ir/storage.h"

namespace mhub::ir {

// Ordered key/value pairs (ONNX StringStringEntryProto lists keep their order).
using StringPairs = std::vector<std::pair<std::string, std::string>>;

// Product of dims; throws mhub::Error (format) on negative dims or overflow past 2^62 elements.
uint64_t element_count(const std::vector<int64_t>& dims);

// Where the data of an imported tensor was stored in the ONNX file.
enum class TensorEncoding : uint8_t {
  raw,       // TensorProto.raw_data
  typed,     // float_data / int32_data / int64_t_data / double_data / uint64_data / string_data
  external,  // data_location = EXTERNAL
};

struct Tensor {
  std::string name;
  DataType dtype = DataType::undefined;
  std::vector<int64_t> dims;

  std::shared_ptr<Storage> storage;  // null for string tensors and tensors without data
  size_t offset = 0;                 // byte offset of element 0 inside storage
  std::vector<std::string> strings;  // elements of a string tensor

  TensorEncoding encoding = TensorEncoding::raw;
  StringPairs external_data;          // the original external_data entries, in order
  std::optional<std::pair<int64_t, int64_t>> segment;
  std::string doc_string;
  StringPairs metadata_props;
  std::string extra_fields;  // serialized fields this IR does not model (kept for export)
  uint64_t explicit_defaults = 0;  // scalar fields written with their default value

  uint64_t numel() const { return element_count(dims); }
  uint64_t byte_size() const { return storage_bytes(dtype, numel()); }
  const uint8_t* bytes() const { return storage ? storage->data() + offset : nullptr; }

  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(bytes()); }

  // A new float/int/... tensor with `dims` and zeroed owned storage.
  static Tensor zeros(DataType dtype, std::vector<int64_t> dims, std::string name = {});
  // Owned storage holding a copy of `data` (for small constants built in code and tests).
  static Tensor from_bytes(DataType dtype, std::vector<int64_t> dims, const void* data,
                           size_t size, std::string name = {});
};

}  // namespace mhub::ir
