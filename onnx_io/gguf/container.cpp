#include "onnx_io/gguf/container.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"

namespace mhub::onnx_io::gguf {

namespace {

constexpr uint64_t kMaxStringLength = uint64_t{1} << 30;
constexpr uint32_t kMaxDims = 8;  // llama.cpp reads at most 4 (GGML_MAX_DIMS); mhub keeps 8 for ONNX weights
constexpr int kMaxArrayDepth = 1;  // arrays of arrays are legal GGUF, but nothing we read uses them

uint64_t scalar_size(ValueType type) {
  switch (type) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
    default: return 0;
  }
}

const char* type_name(ValueType type) {
  switch (type) {
    case ValueType::u8: return "u8"; case ValueType::i8: return "i8"; case ValueType::u16: return "u16";
    case ValueType::i16: return "i16"; case ValueType::u32: return "u32"; case ValueType::i32: return "i32";
    case ValueType::f32: return "f32"; case ValueType::boolean: return "bool"; case ValueType::string: return "strings";
    case ValueType::u64: return "u64"; case ValueType::i64: return "i64"; case ValueType::f64: return "f64";
    default: return "values";
  }
}

template <typename T>
Value scalar(ValueType type, T value) {
  Value out;
  out.type = type;
  out.bytes.resize(sizeof(T));
  std::memcpy(out.bytes.data(), &value, sizeof(T));
  return out;
}

template <typename T>
Value numeric_array(ValueType element, const std::vector<T>& items) {
  Value out;
  out.type = ValueType::array;
  out.element = element;
  out.count = items.size();
  out.bytes.resize(items.size() * sizeof(T));
  if (!items.empty()) std::memcpy(out.bytes.data(), items.data(), out.bytes.size());
  return out;
}

double number_at(ValueType type, const uint8_t* at) {
  auto get = [at](auto value) {
    std::memcpy(&value, at, sizeof(value));
    return static_cast<double>(value);
  };
  switch (type) {
    case ValueType::u8: return get(uint8_t{});
    case ValueType::i8: return get(int8_t{});
    case ValueType::u16: return get(uint16_t{});
    case ValueType::i16: return get(int16_t{});
    case ValueType::u32: return get(uint32_t{});
    case ValueType::i32: return get(int32_t{});
    case ValueType::f32: return get(float{});
    case ValueType::boolean: return get(uint8_t{}) ? 1 : 0;
    case ValueType::u64: return get(uint64_t{});
    case ValueType::i64: return get(int64_t{});
    case ValueType::f64: return get(double{});
    default: return 0;
  }
}

std::string number_text(double value) {
  // Range first: converting NaN or a value beyond int64 to an integer is undefined.
  if (value < 9.2e18 && value > -9.2e18 && value == std::trunc(value))
    return std::to_string(static_cast<int64_t>(value));
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  return buffer;
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& source) : data_(data), size_(size), source_(source) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCategory::format, source_ + ": not a valid GGUF file: " + what + " (at byte " + std::to_string(pos_) + ")");
  }
  const uint8_t* take(uint64_t count) {
    if (count > size_ - pos_) fail("a field of " + std::to_string(count) + " bytes runs past the end of the file");
    const uint8_t* at = data_ + pos_;
    pos_ += count;
    return at;
  }
  template <typename T>
  T number() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string string() {
    uint64_t length = number<uint64_t>();
    if (length > kMaxStringLength) fail("string length " + std::to_string(length) + " is absurd");
    const uint8_t* at = take(length);
    return std::string(reinterpret_cast<const char*>(at), length);
  }
  ValueType value_type() {
    uint32_t code = number<uint32_t>();
    if (code > static_cast<uint32_t>(ValueType::f64)) fail("unknown metadata value type " + std::to_string(code));
    return static_cast<ValueType>(code);
  }
  size_t position() const { return pos_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string source_;
};

Value read_value(Reader& reader, ValueType type, int depth) {
  Value value;
  value.type = type;
  if (type == ValueType::string) {
    value.strings.push_back(reader.string());
    return value;
  }
  if (type != ValueType::array) {
    const uint8_t* at = reader.take(scalar_size(type));
    value.bytes.assign(at, at + scalar_size(type));
    return value;
  }
  if (depth >= kMaxArrayDepth) reader.fail("nested metadata arrays are not supported");
  value.element = reader.value_type();
  value.count = reader.number<uint64_t>();
  if (value.element == ValueType::array) reader.fail("nested metadata arrays are not supported");
  if (value.element == ValueType::string) {
    // Each string needs at least its 8-byte length: bounds the reservation.
    if (value.count > (reader.size() - reader.position()) / 8)
      reader.fail("array of " + std::to_string(value.count) + " strings is larger than the file");
    value.strings.reserve(value.count);
    for (uint64_t i = 0; i < value.count; ++i) value.strings.push_back(reader.string());
  } else {
    uint64_t element = scalar_size(value.element);
    if (value.count > (reader.size() - reader.position()) / element)
      reader.fail("array of " + std::to_string(value.count) + " elements is larger than the file");
    const uint8_t* at = reader.take(value.count * element);
    value.bytes.assign(at, at + value.count * element);
  }
  return value;
}

class Writer {
 public:
  void u32(uint32_t value) { raw(&value, 4); }
  void u64(uint64_t value) { raw(&value, 8); }
  void string(const std::string& text) {
    u64(text.size());
    out.append(text);
  }
  void raw(const void* data, size_t size) { out.append(static_cast<const char*>(data), size); }
  void value(const Value& value) {
    u32(static_cast<uint32_t>(value.type));
    if (value.type == ValueType::array) {
      u32(static_cast<uint32_t>(value.element));
      u64(value.count);
    }
    if (value.type == ValueType::string || (value.type == ValueType::array && value.element == ValueType::string)) {
      for (const auto& text : value.strings) string(text);
    } else {
      raw(value.bytes.data(), value.bytes.size());
    }
  }
  std::string out;
};

uint64_t padded(uint64_t offset, uint64_t alignment) { return offset + (alignment - offset % alignment) % alignment; }

}  // namespace

Value Value::string(std::string text) {
  Value out;
  out.strings.push_back(std::move(text));
  return out;
}
Value Value::u32(uint32_t value) { return scalar(ValueType::u32, value); }
Value Value::i32(int32_t value) { return scalar(ValueType::i32, value); }
Value Value::f32(float value) { return scalar(ValueType::f32, value); }
Value Value::boolean(bool value) { return scalar(ValueType::boolean, static_cast<uint8_t>(value)); }
Value Value::string_array(std::vector<std::string> items) {
  Value out;
  out.type = ValueType::array;
  out.element = ValueType::string;
  out.count = items.size();
  out.strings = std::move(items);
  return out;
}
Value Value::i32_array(const std::vector<int32_t>& items) { return numeric_array(ValueType::i32, items); }
Value Value::f32_array(const std::vector<float>& items) { return numeric_array(ValueType::f32, items); }

std::optional<double> Value::number() const {
  if (type == ValueType::string || type == ValueType::array) return std::nullopt;
  return number_at(type, bytes.data());
}

double Value::element_number(uint64_t i) const { return number_at(element, bytes.data() + i * scalar_size(element)); }

std::string Value::text() const {
  if (type == ValueType::string) return strings.empty() ? "" : strings.front();
  if (type == ValueType::array) return "[" + std::to_string(count) + " " + type_name(element) + "]";
  if (type == ValueType::boolean) return bytes[0] ? "true" : "false";
  return number_text(*number());
}

const Value* File::find(const std::string& key) const {
  for (const auto& [name, value] : metadata)
    if (name == key) return &value;
  return nullptr;
}

File parse(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, const std::string& source) {
  Reader reader(data, size, source);
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) reader.fail("no GGUF magic");
  reader.take(4);
  uint32_t version = reader.number<uint32_t>();
  if (version != 2 && version != 3)
    throw Error(ErrorCategory::unsupported, source + ": GGUF version " + std::to_string(version) + " is not supported (2 and 3 are)");
  uint64_t tensor_count = reader.number<uint64_t>();
  uint64_t kv_count = reader.number<uint64_t>();
  // Every entry needs at least 8+4 bytes (key length + type): bounds the loops below.
  if (tensor_count > size / 8 || kv_count > size / 12) reader.fail("tensor or metadata count larger than the file");
  File file;
  file.owner = owner;
  for (uint64_t k = 0; k < kv_count; ++k) {
    std::string key = reader.string();
    ValueType type = reader.value_type();
    Value value = read_value(reader, type, 0);
    if (key == "general.alignment") {
      if (type != ValueType::u32) reader.fail("general.alignment is not a uint32");
      uint32_t alignment = static_cast<uint32_t>(*value.number());
      if (alignment == 0 || (alignment & (alignment - 1)) != 0) reader.fail("general.alignment is not a power of two");
      file.alignment = alignment;
    }
    file.metadata.emplace_back(std::move(key), std::move(value));
  }
  std::vector<uint64_t> offsets;
  for (uint64_t t = 0; t < tensor_count; ++t) {
    TensorInfo info;
    info.name = reader.string();
    uint32_t rank = reader.number<uint32_t>();
    if (rank > kMaxDims) reader.fail("tensor '" + info.name + "' has " + std::to_string(rank) + " dimensions (at most 8)");
    info.dims.resize(rank);
    for (uint32_t d = 0; d < rank; ++d) {
      uint64_t dim = reader.number<uint64_t>();
      if (dim > (uint64_t{1} << 40)) reader.fail("tensor '" + info.name + "' has a dimension too large");
      info.dims[rank - 1 - d] = static_cast<int64_t>(dim);  // GGUF: innermost first
    }
    uint32_t code = reader.number<uint32_t>();
    const GgmlTypeInfo* type = ggml_type_info(code);
    if (!type)
      throw Error(ErrorCategory::unsupported, source + ": tensor '" + info.name + "' has ggml type " +
                                                  std::to_string(code) + ", which mhub does not read (it reads f32, f16, "
                                                  "bf16, f64, i8-i64, q8_0, q4_0, q4_K, q6_K)");
    info.type = type->type;
    uint64_t offset = reader.number<uint64_t>();
    if (offset % file.alignment != 0) reader.fail("tensor '" + info.name + "' offset is not aligned");
    offsets.push_back(offset);
    file.tensors.push_back(std::move(info));
  }
  uint64_t data_start = padded(reader.position(), file.alignment);
  if (data_start > size) reader.fail("the data section starts past the end of the file");
  uint64_t data_size = size - data_start;
  for (size_t t = 0; t < file.tensors.size(); ++t) {
    TensorInfo& info = file.tensors[t];
    uint64_t count = 1;
    for (int64_t dim : info.dims) {
      if (dim != 0 && count > (uint64_t{1} << 50) / static_cast<uint64_t>(dim))
        reader.fail("tensor '" + info.name + "' is too large");
      count *= static_cast<uint64_t>(dim);
    }
    uint64_t row = info.dims.empty() ? 1 : static_cast<uint64_t>(info.dims.back());
    const GgmlTypeInfo* type = ggml_type_info(static_cast<uint32_t>(info.type));
    if (row % type->block_elements != 0)
      reader.fail("tensor '" + info.name + "' has rows of " + std::to_string(row) + " elements, not a multiple of " +
                  type->name + "'s block of " + std::to_string(type->block_elements));
    info.bytes = ggml_bytes(info.type, count);
    if (offsets[t] > data_size || info.bytes > data_size - offsets[t])
      reader.fail("tensor '" + info.name + "' lies past the end of the file (truncated?)");
    info.data = data + data_start + offsets[t];
  }
  return file;
}

void emit(const File& file, const std::function<void(const void*, size_t)>& sink) {
  const uint64_t alignment = file.alignment;
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw Error(ErrorCategory::usage, "GGUF alignment must be a power of two, not " + std::to_string(alignment));
  bool add_alignment = alignment != 32 && !file.find("general.alignment");
  Writer writer;
  writer.raw("GGUF", 4);
  writer.u32(3);
  writer.u64(file.tensors.size());
  writer.u64(file.metadata.size() + (add_alignment ? 1 : 0));
  for (const auto& [key, value] : file.metadata) {
    writer.string(key);
    writer.value(value);
  }
  if (add_alignment) {
    writer.string("general.alignment");
    writer.value(Value::u32(static_cast<uint32_t>(alignment)));
  }
  uint64_t offset = 0;
  for (const auto& tensor : file.tensors) {
    if (tensor.dims.size() > kMaxDims)
      throw Error(ErrorCategory::unsupported, "tensor '" + tensor.name + "' has more than 8 dimensions");
    writer.string(tensor.name);
    writer.u32(static_cast<uint32_t>(tensor.dims.size()));
    for (size_t d = tensor.dims.size(); d-- > 0;) writer.u64(static_cast<uint64_t>(tensor.dims[d]));
    writer.u32(static_cast<uint32_t>(tensor.type));
    writer.u64(offset);
    offset = padded(offset + tensor.bytes, alignment);
  }
  writer.out.append(padded(writer.out.size(), alignment) - writer.out.size(), '\0');
  sink(writer.out.data(), writer.out.size());
  std::string chunk;
  for (const auto& tensor : file.tensors) {
    chunk.clear();
    if (tensor.produce) tensor.produce(chunk);
    else if (tensor.bytes) chunk.assign(reinterpret_cast<const char*>(tensor.data), tensor.bytes);
    if (chunk.size() != tensor.bytes)
      throw Error(ErrorCategory::internal, "tensor '" + tensor.name + "' produced " + std::to_string(chunk.size()) +
                                               " bytes, not " + std::to_string(tensor.bytes));
    chunk.append(padded(tensor.bytes, alignment) - tensor.bytes, '\0');
    sink(chunk.data(), chunk.size());
  }
}

}  // namespace mhub::onnx_io::gguf
