#include "onnx_io/gguf.h"

#include <cstring>

#include "common/atomic_file.h"
#include "common/error.h"
#include "onnx_io/gguf/container.h"
#include "onnx_io/gguf/quants.h"

namespace mhub::onnx_io {

namespace {

using ir::DataType;

constexpr const char* kDtypeKeyPrefix = "mhub.dtype.";

// GGUF has no unsigned/bool tensor types: the value-preserving signed type that holds them.
struct Widening {
  DataType from, to;
};
constexpr Widening kWidenings[] = {{DataType::uint8, DataType::int16},
                                   {DataType::boolean, DataType::int8},
                                   {DataType::uint16, DataType::int32},
                                   {DataType::uint32, DataType::int64}};

template <typename From, typename To>
void convert_elements(const ir::Tensor& source, ir::Tensor& target) {
  const From* in = reinterpret_cast<const From*>(source.bytes());
  To* out = reinterpret_cast<To*>(target.storage->mutable_data());
  for (uint64_t i = 0; i < source.numel(); ++i) out[i] = static_cast<To>(in[i]);
}

// Element-wise copy of an integer tensor into another integer type (values in range by contract).
ir::Tensor recast(const ir::Tensor& tensor, DataType to) {
  ir::Tensor out = ir::Tensor::zeros(to, tensor.dims, tensor.name);
  auto dispatch_to = [&](auto from_tag) {
    using From = decltype(from_tag);
    switch (to) {
      case DataType::int8: convert_elements<From, int8_t>(tensor, out); break;
      case DataType::int16: convert_elements<From, int16_t>(tensor, out); break;
      case DataType::int32: convert_elements<From, int32_t>(tensor, out); break;
      case DataType::int64: convert_elements<From, int64_t>(tensor, out); break;
      case DataType::uint8: convert_elements<From, uint8_t>(tensor, out); break;
      case DataType::boolean: convert_elements<From, uint8_t>(tensor, out); break;
      case DataType::uint16: convert_elements<From, uint16_t>(tensor, out); break;
      case DataType::uint32: convert_elements<From, uint32_t>(tensor, out); break;
      default: throw Error(ErrorCategory::internal, "recast to an unexpected type");
    }
  };
  switch (tensor.dtype) {
    case DataType::uint8: case DataType::boolean: dispatch_to(uint8_t{}); break;
    case DataType::uint16: dispatch_to(uint16_t{}); break;
    case DataType::uint32: dispatch_to(uint32_t{}); break;
    case DataType::int8: dispatch_to(int8_t{}); break;
    case DataType::int16: dispatch_to(int16_t{}); break;
    case DataType::int32: dispatch_to(int32_t{}); break;
    case DataType::int64: dispatch_to(int64_t{}); break;
    default: throw Error(ErrorCategory::internal, "recast from an unexpected type");
  }
  return out;
}

gguf::File to_gguf(const WeightsMap& weights, const GgufOptions& options) {
  gguf::File file;
  file.alignment = options.alignment;
  file.metadata.emplace_back("general.architecture", gguf::Value::string(options.architecture));
  file.metadata.emplace_back("general.alignment", gguf::Value::u32(options.alignment));
  if (!options.name.empty()) file.metadata.emplace_back("general.name", gguf::Value::string(options.name));
  for (const auto& [key, value] : weights.metadata)
    file.metadata.emplace_back(key.find('.') == std::string::npos ? "mhub." + key : key, gguf::Value::string(value));
  for (const auto& tensor : weights.tensors()) {
    gguf::TensorInfo info;
    info.name = tensor.name;
    info.dims = tensor.dims;
    auto type = gguf::ggml_type_of(tensor.dtype);
    if (type) {
      info.type = *type;
      info.data = tensor.bytes();
      info.bytes = tensor.byte_size();
    } else {
      const Widening* widening = nullptr;
      for (const auto& candidate : kWidenings)
        if (candidate.from == tensor.dtype) widening = &candidate;
      if (!widening)
        throw Error(ErrorCategory::unsupported, "tensor '" + tensor.name + "' has dtype " +
                                                    std::string(ir::name_of(tensor.dtype)) +
                                                    ", which GGUF cannot hold (it has no unsigned 64-bit, complex or string tensors)");
      info.type = *gguf::ggml_type_of(widening->to);
      info.bytes = ir::storage_bytes(widening->to, tensor.numel());
      info.produce = [&tensor, to = widening->to](std::string& out) {
        ir::Tensor wide = recast(tensor, to);
        out.append(reinterpret_cast<const char*>(wide.bytes()), wide.byte_size());
      };
      file.metadata.emplace_back(kDtypeKeyPrefix + tensor.name, gguf::Value::string(std::string(ir::name_of(tensor.dtype))));
    }
    file.tensors.push_back(std::move(info));
  }
  return file;
}

}  // namespace

std::string serialize_gguf(const WeightsMap& weights, const GgufOptions& options) {
  std::string out;
  gguf::emit(to_gguf(weights, options), [&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); });
  return out;
}

void write_gguf(const WeightsMap& weights, const std::filesystem::path& path, const GgufOptions& options) {
  AtomicFile file(path);
  gguf::emit(to_gguf(weights, options), [&](const void* data, size_t size) { file.write(data, size); });
  file.commit();
}

WeightsMap parse_gguf(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, const std::string& source) {
  gguf::File file = gguf::parse(owner, data, size, source);
  WeightsMap weights;
  for (const auto& [key, value] : file.metadata)
    if (key.rfind(kDtypeKeyPrefix, 0) != 0) weights.metadata.emplace_back(key, value.text());
  for (const auto& info : file.tensors) {
    ir::Tensor tensor;
    tensor.name = info.name;
    tensor.dims = info.dims;
    const gguf::GgmlTypeInfo* type = gguf::ggml_type_info(static_cast<uint32_t>(info.type));
    if (type->plain != DataType::undefined) {
      tensor.dtype = type->plain;
      tensor.storage = ir::Storage::view(owner, info.data, info.bytes);
    } else {
      tensor = ir::Tensor::zeros(DataType::float32, info.dims, info.name);
      gguf::dequantize_row(info.type, info.data, tensor.numel(), reinterpret_cast<float*>(tensor.storage->mutable_data()));
    }
    if (const gguf::Value* original = file.find(kDtypeKeyPrefix + info.name)) {
      auto dtype = ir::parse_data_type(original->text());
      bool known = false;
      for (const auto& widening : kWidenings) known |= dtype && widening.from == *dtype && widening.to == tensor.dtype;
      if (!known) throw Error(ErrorCategory::format, source + ": " + kDtypeKeyPrefix + info.name + " names an unexpected type");
      tensor = recast(tensor, *dtype);
    }
    weights.add(std::move(tensor), source);
  }
  return weights;
}

WeightsMap read_gguf(const std::filesystem::path& path) {
  auto file = ir::MappedFile::open(path);
  return parse_gguf(file, file->data(), file->size(), path.string());
}

}  // namespace mhub::onnx_io
