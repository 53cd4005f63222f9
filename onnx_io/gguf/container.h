// The GGUF v3 container (github.com/ggml-org/ggml/blob/master/docs/gguf.md): typed metadata
// key/values and tensor infos, read and written without interpreting them. The WeightsMap
// adaptors (onnx_io/gguf.h) and the Hugging Face converter (hf_to_gguf.h) build on it.
//
// Reading maps nothing itself: `parse` takes bytes kept alive by `owner` and checks every
// length, count, offset and size against them (mhub::Error format, naming the source).
// Writing streams: tensor bytes are produced one tensor at a time into the sink, so a writer
// holds at most one tensor's bytes besides the header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "onnx_io/gguf/ggml_types.h"

namespace mhub::onnx_io::gguf {

// gguf_metadata_value_type
enum class ValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8,
  array = 9, u64 = 10, i64 = 11, f64 = 12,
};

// One metadata value: a scalar (count 1) or an array of scalars or strings.
struct Value {
  ValueType type = ValueType::string;
  ValueType element = ValueType::string;  // arrays: the element type
  std::vector<std::string> strings;       // string scalar (one entry) or string array
  std::vector<uint8_t> bytes;             // fixed-size scalars / array elements, little-endian
  uint64_t count = 1;                     // arrays: number of elements

  static Value string(std::string text);
  static Value u32(uint32_t value);
  static Value i32(int32_t value);
  static Value f32(float value);
  static Value boolean(bool value);
  static Value string_array(std::vector<std::string> items);
  static Value i32_array(const std::vector<int32_t>& items);
  static Value f32_array(const std::vector<float>& items);

  bool is_array() const { return type == ValueType::array; }
  // Scalars of numeric/bool type as a number; nullopt for strings and arrays.
  std::optional<double> number() const;
  // A short display form: the string, the number, or "[N strings]" / "[N i32]".
  std::string text() const;
  // Array element `i` as a number (numeric arrays only; the caller checks i < count).
  double element_number(uint64_t i) const;
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // outermost first (row-major, as ir::Tensor); GGUF stores them reversed
  GgmlType type = GgmlType::f32;
  const uint8_t* data = nullptr;  // reading: inside the parsed bytes
  uint64_t bytes = 0;
  // Writing: appends exactly `bytes` bytes of tensor data to the string it is given.
  std::function<void(std::string&)> produce;
};

struct File {
  std::vector<std::pair<std::string, Value>> metadata;  // in file order
  std::vector<TensorInfo> tensors;                       // in file order
  uint32_t alignment = 32;                               // general.alignment (read or to write)
  std::shared_ptr<const void> owner;                     // keeps the parsed bytes alive

  const Value* find(const std::string& key) const;
};

// Throws mhub::Error: format (anything malformed or out of bounds), unsupported (GGUF versions
// other than 2 and 3, ggml types not in ggml_types.h).
File parse(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, const std::string& source);

// Writes header, metadata (general.alignment added when `alignment` is not 32 and the key is
// absent), tensor infos and tensor data. Throws mhub::Error (internal) when a producer writes
// the wrong number of bytes, usage for an alignment that is not a power of two.
void emit(const File& file, const std::function<void(const void*, size_t)>& sink);

}  // namespace mhub::onnx_io::gguf
