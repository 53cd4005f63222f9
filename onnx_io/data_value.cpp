#include "onnx_io/data_value.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "onnx_io/tensor_proto.h"

namespace mhub::onnx_io {

namespace {

DataValue from_sequence(onnxpb::SequenceProto& proto, const std::string& path) {
  if (proto.sparse_tensor_values_size() || proto.sequence_values_size() || proto.map_values_size() ||
      proto.optional_values_size())
    throw_error(ErrorCategory::unsupported,
                path + ": only sequences of tensors are supported (this one holds maps, "
                       "sequences, optionals or sparse tensors)");
  DataValue value;
  value.kind = DataValue::Kind::sequence;
  for (int i = 0; i < proto.tensor_values_size(); ++i)
    value.sequence.push_back(
        tensor_from_proto(*proto.mutable_tensor_values(i), path + " element " + std::to_string(i)));
  if (!value.sequence.empty()) value.sequence_elem = value.sequence.front().dtype;
  return value;
}

DataValue from_optional(onnxpb::OptionalProto& proto, const std::string& path) {
  if (proto.has_tensor_value()) {
    DataValue value;
    value.tensor = tensor_from_proto(*proto.mutable_tensor_value(), path);
    return value;
  }
  if (proto.has_sequence_value()) return from_sequence(*proto.mutable_sequence_value(), path);
  if (proto.has_sparse_tensor_value() || proto.has_map_value() || proto.has_optional_value())
    throw_error(ErrorCategory::unsupported,
                path + ": optionals holding maps, sparse tensors or optionals are not supported");
  DataValue value;
  value.kind = DataValue::Kind::optional_none;
  return value;
}

}  // namespace

DataValue read_data_file(const std::string& path, const ir::Type& type) {
  std::string bytes = read_whole_file(path);
  switch (type.kind) {
    case ir::Type::Kind::sequence: {
      onnxpb::SequenceProto proto;
      if (!proto.ParseFromString(bytes))
        throw_error(ErrorCategory::format, path + ": not a SequenceProto (protobuf parse failed)");
      return from_sequence(proto, path);
    }
    case ir::Type::Kind::optional: {
      onnxpb::OptionalProto proto;
      if (!proto.ParseFromString(bytes))
        throw_error(ErrorCategory::format, path + ": not an OptionalProto (protobuf parse failed)");
      return from_optional(proto, path);
    }
    case ir::Type::Kind::map:
    case ir::Type::Kind::sparse_tensor:
    case ir::Type::Kind::opaque:
      throw_error(ErrorCategory::unsupported, path + ": map / sparse / opaque values are not supported");
    default: {
      onnxpb::TensorProto proto;
      if (!proto.ParseFromString(bytes))
        throw_error(ErrorCategory::format, path + ": not a TensorProto (protobuf parse failed)");
      if (proto.data_location() == onnxpb::TensorProto::EXTERNAL)
        throw_error(ErrorCategory::unsupported, path + ": a standalone tensor file with external data");
      DataValue value;
      value.tensor = tensor_from_proto(proto, path);
      return value;
    }
  }
}

}  // namespace mhub::onnx_io
