#include "onnx_io/tensor_proto.h"

#include <cstring>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/ir/storage.h"
#include "onnx_io/leftover_fields.h"

namespace mhub::onnx_io {

using ir::DataType;

namespace {

enum class TypedField { float_data, double_data, int32_data, int64_data, uint64_data, string_data };

TypedField typed_field_for(DataType dtype) {
  switch (dtype) {
    case DataType::float32: case DataType::complex64: return TypedField::float_data;
    case DataType::float64: case DataType::complex128: return TypedField::double_data;
    case DataType::int64: return TypedField::int64_data;
    case DataType::uint32: case DataType::uint64: return TypedField::uint64_data;
    case DataType::string: return TypedField::string_data;
    default: return TypedField::int32_data;
  }
}

// Bytes of one int32_data / uint64_data entry in packed storage: one element, or one byte of
// several packed sub-byte elements.
size_t unit_bytes(DataType dtype) {
  int bits = ir::bits_of(dtype);
  return bits < 8 ? 1 : static_cast<size_t>(bits / 8);
}

[[noreturn]] void bad(const std::string& context, const std::string& what) {
  throw_error(ErrorCategory::format, context + ": " + what);
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

// Decodes entries of a typed field into packed little-endian storage of `unit` bytes each.
template <typename Repeated>
std::string pack_units(const Repeated& values, size_t unit) {
  std::string bytes(values.size() * unit, '\0');
  for (int index = 0; index < values.size(); ++index) {
    auto value = values.Get(index);
    std::memcpy(bytes.data() + index * unit, &value, unit);  // little-endian: low bytes first
  }
  return bytes;
}

}  // namespace

ir::Tensor tensor_from_proto(onnxpb::TensorProto& proto, const std::string& context_in) {
  ir::Tensor tensor;
  tensor.explicit_defaults = explicit_default_fields(proto);
  tensor.name = proto.name();
  std::string context = context_in + (tensor.name.empty() ? "" : " tensor '" + tensor.name + "'");
  int32_t code = proto.data_type();
  if (!ir::is_known(code))
    bad(context, "unknown data_type " + std::to_string(code) +
                     " (this build knows ONNX element types 1 to " +
                     std::to_string(ir::kMaxDataType) + ")");
  tensor.dtype = static_cast<DataType>(code);
  tensor.dims.assign(proto.dims().begin(), proto.dims().end());
  uint64_t count = 0, expected = 0;
  try {
    count = ir::element_count(tensor.dims);
    expected = ir::storage_bytes(tensor.dtype, count);  // count x bits checked: it must not wrap
  } catch (const Error& error) {
    bad(context, std::string(error.what()) + " in dims " + shape_text(tensor.dims));
  }
  tensor.doc_string = proto.doc_string();
  for (const auto& entry : proto.metadata_props())
    tensor.metadata_props.emplace_back(entry.key(), entry.value());
  if (proto.has_segment())
    tensor.segment = std::make_pair(proto.segment().begin(), proto.segment().end());

  if (proto.data_location() == onnxpb::TensorProto::EXTERNAL) {
    tensor.encoding = ir::TensorEncoding::external;
    for (const auto& entry : proto.external_data())
      tensor.external_data.emplace_back(entry.key(), entry.value());
    tensor.extra_fields = take_leftover_fields(proto, {});
    return tensor;  // data attached by external_data.cpp
  }

  TypedField field = typed_field_for(tensor.dtype);
  if (tensor.dtype == DataType::string) {
    tensor.encoding = ir::TensorEncoding::typed;
    if (static_cast<uint64_t>(proto.string_data_size()) != count)
      bad(context, "string_data holds " + std::to_string(proto.string_data_size()) +
                       " strings, shape " + shape_text(tensor.dims) + " needs " +
                       std::to_string(count));
    tensor.strings.reserve(count);
    for (std::string& text : *proto.mutable_string_data()) tensor.strings.push_back(std::move(text));
    proto.clear_string_data();
  } else if (proto.has_raw_data()) {
    tensor.encoding = ir::TensorEncoding::raw;
    if (proto.raw_data().size() != expected)
      bad(context, "raw_data has " + std::to_string(proto.raw_data().size()) + " bytes, " +
                       std::string(ir::name_of(tensor.dtype)) + " " + shape_text(tensor.dims) +
                       " needs " + std::to_string(expected));
    tensor.storage = ir::Storage::take(std::move(*proto.mutable_raw_data()));
    proto.clear_raw_data();
  } else {
    tensor.encoding = ir::TensorEncoding::typed;
    std::string bytes;
    size_t unit = unit_bytes(tensor.dtype);
    int entries = 0;
    switch (field) {
      case TypedField::float_data: entries = proto.float_data_size(); bytes = pack_units(proto.float_data(), 4); break;
      case TypedField::double_data: entries = proto.double_data_size(); bytes = pack_units(proto.double_data(), 8); break;
      case TypedField::int64_data: entries = proto.int64_data_size(); bytes = pack_units(proto.int64_data(), 8); break;
      case TypedField::uint64_data: entries = proto.uint64_data_size(); bytes = pack_units(proto.uint64_data(), unit); break;
      case TypedField::int32_data: entries = proto.int32_data_size(); bytes = pack_units(proto.int32_data(), unit); break;
      case TypedField::string_data: break;
    }
    if (bytes.size() != expected)
      bad(context, "holds " + std::to_string(entries) + " typed values (" +
                       std::to_string(bytes.size()) + " bytes), " +
                       std::string(ir::name_of(tensor.dtype)) + " " + shape_text(tensor.dims) +
                       " needs " + std::to_string(expected) + " bytes");
    proto.clear_float_data();
    proto.clear_double_data();
    proto.clear_int64_data();
    proto.clear_uint64_data();
    proto.clear_int32_data();
    tensor.storage = ir::Storage::take(std::move(bytes));
  }
  tensor.extra_fields = take_leftover_fields(proto, {});
  return tensor;
}

void tensor_header_to_proto(const ir::Tensor& tensor, onnxpb::TensorProto& proto) {
  for (int64_t dim : tensor.dims) proto.add_dims(dim);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype));
  if (tensor.segment) {
    proto.mutable_segment()->set_begin(tensor.segment->first);
    proto.mutable_segment()->set_end(tensor.segment->second);
  }
  if (!tensor.name.empty()) proto.set_name(tensor.name);
  if (!tensor.doc_string.empty()) proto.set_doc_string(tensor.doc_string);
  for (const auto& [key, value] : tensor.metadata_props) {
    auto* entry = proto.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  restore_leftover_fields(proto, tensor.extra_fields);
  // Safe before the data goes in: only absent fields are set, and data writes overwrite them.
  restore_explicit_defaults(proto, tensor.explicit_defaults);
}

void tensor_to_proto(const ir::Tensor& tensor, onnxpb::TensorProto& proto) {
  tensor_header_to_proto(tensor, proto);
  if (tensor.encoding == ir::TensorEncoding::external) {
    for (const auto& [key, value] : tensor.external_data) {
      auto* entry = proto.add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    }
    proto.set_data_location(onnxpb::TensorProto::EXTERNAL);
    return;
  }
  if (tensor.dtype == DataType::string) {
    for (const std::string& text : tensor.strings) proto.add_string_data(text);
    return;
  }
  const uint8_t* bytes = tensor.bytes();
  size_t size = tensor.byte_size();
  if (tensor.encoding == ir::TensorEncoding::raw) {
    proto.set_raw_data(bytes, size);
    return;
  }
  size_t unit = unit_bytes(tensor.dtype);
  switch (typed_field_for(tensor.dtype)) {
    case TypedField::float_data: {
      auto* out = proto.mutable_float_data();
      out->Resize(static_cast<int>(size / 4), 0.0f);
      if (size) std::memcpy(out->mutable_data(), bytes, size);
      break;
    }
    case TypedField::double_data: {
      auto* out = proto.mutable_double_data();
      out->Resize(static_cast<int>(size / 8), 0.0);
      if (size) std::memcpy(out->mutable_data(), bytes, size);
      break;
    }
    case TypedField::int64_data: {
      auto* out = proto.mutable_int64_data();
      out->Resize(static_cast<int>(size / 8), 0);
      if (size) std::memcpy(out->mutable_data(), bytes, size);
      break;
    }
    case TypedField::uint64_data:
      for (size_t at = 0; at < size; at += unit) {
        uint64_t value = 0;
        std::memcpy(&value, bytes + at, unit);
        proto.add_uint64_data(value);
      }
      break;
    case TypedField::int32_data: {
      // Signed 8/16-bit elements are stored sign-extended, everything else zero-extended.
      bool sign_extend = ir::is_signed_integer(tensor.dtype) && ir::bits_of(tensor.dtype) >= 8;
      for (size_t at = 0; at < size; at += unit) {
        uint32_t value = 0;
        std::memcpy(&value, bytes + at, unit);
        if (sign_extend && unit < 4) {
          uint32_t sign = uint32_t{1} << (unit * 8 - 1);
          value = (value ^ sign) - sign;
        }
        proto.add_int32_data(static_cast<int32_t>(value));
      }
      break;
    }
    case TypedField::string_data:
      break;
  }
}

ir::Tensor read_tensor_file(const std::string& path) {
  onnxpb::TensorProto proto;
  if (!proto.ParseFromString(read_whole_file(path)))
    throw_error(ErrorCategory::format, path + ": not a TensorProto (protobuf parse failed)");
  if (proto.data_location() == onnxpb::TensorProto::EXTERNAL)
    throw_error(ErrorCategory::unsupported, path + ": a standalone tensor file with external data");
  return tensor_from_proto(proto, path);
}

void write_tensor_file(const ir::Tensor& tensor, const std::string& path) {
  onnxpb::TensorProto proto;
  tensor_to_proto(tensor, proto);
  write_file_atomically(path, proto.SerializeAsString());
}

}  // namespace mhub::onnx_io
