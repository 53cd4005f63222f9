#include "onnx_io/gguf.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "common/atomic_file.h"
#include "common/error.h"

namespace mhub::onnx_io {

namespace {

using ir::DataType;

// gguf_metadata_value_type
enum GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8,
  kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

struct GgmlType {
  uint32_t code;
  DataType dtype;
};

// ggml_type numbers of the unquantized types.
constexpr GgmlType kGgmlTypes[] = {
    {0, DataType::float32}, {1, DataType::float16}, {24, DataType::int8},  {25, DataType::int16},
    {26, DataType::int32},  {27, DataType::int64},  {28, DataType::float64}, {30, DataType::bfloat16},
};

constexpr uint64_t kMaxStringLength = uint64_t{1} << 30;
constexpr uint32_t kMaxDims = 8;

class Writer {
 public:
  void u32(uint32_t value) { raw(&value, 4); }
  void u64(uint64_t value) { raw(&value, 8); }
  void string(const std::string& text) {
    u64(text.size());
    out.append(text);
  }
  void raw(const void* data, size_t size) { out.append(static_cast<const char*>(data), size); }
  void pad_to(uint64_t alignment) { out.append((alignment - out.size() % alignment) % alignment, '\0'); }
  std::string out;
};

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
  size_t position() const { return pos_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string source_;
};

uint64_t scalar_size(uint32_t type) {
  switch (type) {
    case kU8: case kI8: case kBool: return 1;
    case kU16: case kI16: return 2;
    case kU32: case kI32: case kF32: return 4;
    case kU64: case kI64: case kF64: return 8;
    default: return 0;
  }
}

std::string scalar_text(Reader& reader, uint32_t type) {
  switch (type) {
    case kU8: return std::to_string(reader.number<uint8_t>());
    case kI8: return std::to_string(reader.number<int8_t>());
    case kU16: return std::to_string(reader.number<uint16_t>());
    case kI16: return std::to_string(reader.number<int16_t>());
    case kU32: return std::to_string(reader.number<uint32_t>());
    case kI32: return std::to_string(reader.number<int32_t>());
    case kF32: return std::to_string(reader.number<float>());
    case kBool: return reader.number<uint8_t>() ? "true" : "false";
    case kU64: return std::to_string(reader.number<uint64_t>());
    case kI64: return std::to_string(reader.number<int64_t>());
    case kF64: return std::to_string(reader.number<double>());
    case kString: return reader.string();
    default: reader.fail("unknown metadata value type " + std::to_string(type));
  }
}

}  // namespace

namespace {

// Header and tensor infos are built in memory; tensor bytes go straight to `sink`, so writing a
// file never holds a second copy of the weights.
void emit_gguf(const WeightsMap& weights, const GgufOptions& options,
               const std::function<void(const void*, size_t)>& sink) {
  if (options.alignment == 0 || (options.alignment & (options.alignment - 1)) != 0)
    throw Error(ErrorCategory::usage, "GGUF alignment must be a power of two, not " + std::to_string(options.alignment));
  std::vector<uint32_t> codes;
  for (const auto& tensor : weights.tensors()) {
    uint32_t code = UINT32_MAX;
    for (const auto& type : kGgmlTypes)
      if (type.dtype == tensor.dtype) code = type.code;
    if (code == UINT32_MAX)
      throw Error(ErrorCategory::unsupported, "tensor '" + tensor.name + "' has dtype " +
                                                  std::string(ir::name_of(tensor.dtype)) + " which GGUF cannot hold");
    if (tensor.dims.size() > kMaxDims)
      throw Error(ErrorCategory::unsupported, "tensor '" + tensor.name + "' has more than 8 dimensions");
    codes.push_back(code);
  }
  Writer writer;
  writer.raw("GGUF", 4);
  writer.u32(3);
  writer.u64(weights.size());
  uint64_t kv_count = 2 + (options.name.empty() ? 0 : 1) + weights.metadata.size();
  writer.u64(kv_count);
  writer.string("general.architecture");
  writer.u32(kString);
  writer.string(options.architecture);
  writer.string("general.alignment");
  writer.u32(kU32);
  writer.u32(options.alignment);
  if (!options.name.empty()) {
    writer.string("general.name");
    writer.u32(kString);
    writer.string(options.name);
  }
  for (const auto& [key, value] : weights.metadata) {
    writer.string(key);
    writer.u32(kString);
    writer.string(value);
  }
  uint64_t offset = 0;
  for (size_t t = 0; t < weights.size(); ++t) {
    const ir::Tensor& tensor = weights.tensors()[t];
    writer.string(tensor.name);
    writer.u32(static_cast<uint32_t>(tensor.dims.size()));
    for (size_t d = tensor.dims.size(); d-- > 0;) writer.u64(static_cast<uint64_t>(tensor.dims[d]));  // ggml: innermost first
    writer.u32(codes[t]);
    writer.u64(offset);
    offset += tensor.byte_size();
    offset += (options.alignment - offset % options.alignment) % options.alignment;
  }
  writer.pad_to(options.alignment);
  sink(writer.out.data(), writer.out.size());
  static const char kZeros[256] = {};
  for (const auto& tensor : weights.tensors()) {
    if (tensor.byte_size()) sink(tensor.bytes(), tensor.byte_size());
    uint64_t padding = (options.alignment - tensor.byte_size() % options.alignment) % options.alignment;
    for (; padding > 0; padding -= std::min<uint64_t>(padding, sizeof(kZeros)))
      sink(kZeros, std::min<uint64_t>(padding, sizeof(kZeros)));
  }
}

}  // namespace

std::string serialize_gguf(const WeightsMap& weights, const GgufOptions& options) {
  std::string out;
  emit_gguf(weights, options, [&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); });
  return out;
}

void write_gguf(const WeightsMap& weights, const std::filesystem::path& path, const GgufOptions& options) {
  AtomicFile file(path);
  emit_gguf(weights, options, [&](const void* data, size_t size) { file.write(data, size); });
  file.commit();
}

WeightsMap parse_gguf(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, const std::string& source) {
  Reader reader(data, size, source);
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) reader.fail("no GGUF magic");
  reader.take(4);
  uint32_t version = reader.number<uint32_t>();
  if (version != 2 && version != 3)
    throw Error(ErrorCategory::unsupported, source + ": GGUF version " + std::to_string(version) + " is not supported (2 and 3 are)");
  uint64_t tensor_count = reader.number<uint64_t>();
  uint64_t kv_count = reader.number<uint64_t>();
  // Every entry needs at least 8+4 bytes (key length + type); bounds the loops below.
  if (tensor_count > size / 8 || kv_count > size / 12) reader.fail("tensor or metadata count larger than the file");
  WeightsMap weights;
  uint64_t alignment = 32;
  for (uint64_t k = 0; k < kv_count; ++k) {
    std::string key = reader.string();
    uint32_t type = reader.number<uint32_t>();
    std::string value;
    if (type == kArray) {
      uint32_t element_type = reader.number<uint32_t>();
      uint64_t count = reader.number<uint64_t>();
      if (element_type == kString) {
        if (count > size) reader.fail("array of " + std::to_string(count) + " strings is larger than the file");
        for (uint64_t i = 0; i < count; ++i) reader.string();
      } else {
        uint64_t element = scalar_size(element_type);
        if (element == 0) reader.fail("array of unsupported element type " + std::to_string(element_type));
        if (count > size / element) reader.fail("array of " + std::to_string(count) + " elements is larger than the file");
        reader.take(count * element);
      }
      value = "[array of " + std::to_string(count) + "]";
    } else {
      value = scalar_text(reader, type);
      if (key == "general.alignment") {
        if (type != kU32) reader.fail("general.alignment is not a uint32");
        alignment = std::stoull(value);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) reader.fail("general.alignment is not a power of two");
      }
    }
    weights.metadata.emplace_back(key, value);
  }
  struct Info {
    ir::Tensor tensor;
    uint64_t offset;
  };
  std::vector<Info> infos;
  for (uint64_t t = 0; t < tensor_count; ++t) {
    Info info;
    info.tensor.name = reader.string();
    uint32_t rank = reader.number<uint32_t>();
    if (rank > kMaxDims) reader.fail("tensor '" + info.tensor.name + "' has " + std::to_string(rank) + " dimensions");
    info.tensor.dims.resize(rank);
    for (uint32_t d = 0; d < rank; ++d) {
      uint64_t dim = reader.number<uint64_t>();
      if (dim > (uint64_t{1} << 62)) reader.fail("tensor '" + info.tensor.name + "' has a dimension too large");
      info.tensor.dims[rank - 1 - d] = static_cast<int64_t>(dim);
    }
    uint32_t code = reader.number<uint32_t>();
    for (const auto& type : kGgmlTypes)
      if (type.code == code) info.tensor.dtype = type.dtype;
    if (info.tensor.dtype == DataType::undefined)
      throw Error(ErrorCategory::unsupported, source + ": tensor '" + info.tensor.name + "' has ggml type " +
                                                  std::to_string(code) + " (quantized types are not read)");
    info.offset = reader.number<uint64_t>();
    if (info.offset % alignment != 0) reader.fail("tensor '" + info.tensor.name + "' offset is not aligned");
    infos.push_back(std::move(info));
  }
  uint64_t data_start = reader.position() + (alignment - reader.position() % alignment) % alignment;
  if (data_start > size) reader.fail("the data section starts past the end of the file");
  uint64_t data_size = size - data_start;
  for (auto& info : infos) {
    uint64_t count = 0;
    try {
      count = ir::element_count(info.tensor.dims);
    } catch (const Error&) {
      reader.fail("tensor '" + info.tensor.name + "' has an element count that overflows");
    }
    if (count > (uint64_t{1} << 60)) reader.fail("tensor '" + info.tensor.name + "' is too large");
    uint64_t bytes = ir::storage_bytes(info.tensor.dtype, count);
    if (info.offset > data_size || bytes > data_size - info.offset)
      reader.fail("tensor '" + info.tensor.name + "' lies past the end of the file (truncated?)");
    info.tensor.storage = ir::Storage::view(owner, data + data_start + info.offset, bytes);
    weights.add(std::move(info.tensor), source);
  }
  return weights;
}

WeightsMap read_gguf(const std::filesystem::path& path) {
  auto file = ir::MappedFile::open(path);
  return parse_gguf(file, file->data(), file->size(), path.string());
}

}  // namespace mhub::onnx_io
