#include "onnx_io/model_io.h"

#include <climits>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/ir/storage.h"
#include "onnx_io/external_data.h"
#include "onnx_io/proto_convert.h"
#include "onnx_io/tensor_proto.h"

namespace mhub::onnx_io {

namespace {

void write_inline(const ir::Tensor& tensor, onnxpb::TensorProto& proto) {
  if (tensor.encoding != ir::TensorEncoding::external) {
    tensor_to_proto(tensor, proto);
    return;
  }
  tensor_header_to_proto(tensor, proto);
  proto.set_raw_data(tensor.bytes(), tensor.byte_size());
}

std::string serialize_checked(const onnxpb::ModelProto& proto, const std::string& target) {
  size_t size = proto.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX))
    throw_error(ErrorCategory::unsupported,
                target + ": the model would be " + std::to_string(size) +
                    " bytes, over protobuf's 2 GiB limit; save its weights as external data "
                    "(mhub convert IN OUT --external-data)");
  return proto.SerializeAsString();
}

}  // namespace

ir::Model parse_model(const void* data, size_t size, const std::string& source,
                      const std::filesystem::path& base_dir) {
  if (size > static_cast<size_t>(INT_MAX))
    throw_error(ErrorCategory::format,
                source + ": " + std::to_string(size) +
                    " bytes, more than an ONNX protobuf file can hold (2 GiB); large weights "
                    "belong in external data files");
  onnxpb::ModelProto proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size)))
    throw_error(ErrorCategory::format,
                source + ": not a valid ONNX model (the protobuf bytes do not parse; the file may "
                         "be truncated or not a model at all)");
  if (!proto.has_graph() || proto.ir_version() <= 0)
    throw_error(ErrorCategory::format,
                source + ": parses as protobuf but is not an ONNX model (" +
                    (proto.has_graph() ? "ir_version is missing" : "it has no graph") + ")");
  ExternalDataReader external(source, base_dir);
  auto attach = [&](ir::Tensor& tensor) {
    if (tensor.encoding == ir::TensorEncoding::external) external.attach(tensor);
  };
  return model_from_proto(proto, source, attach);
}

ir::Model load_model(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw_error(ErrorCategory::io, path.string() + ": no such file");
  if (std::filesystem::is_directory(path))
    throw_error(ErrorCategory::usage, path.string() + ": is a folder, not a model file");
  auto file = ir::MappedFile::open(path, /*read_all=*/true);
  std::filesystem::path base_dir = path.parent_path();
  if (base_dir.empty()) base_dir = ".";
  return parse_model(file->data(), file->size(), path.string(), base_dir);
}

std::string serialize_model(const ir::Model& model) {
  onnxpb::ModelProto proto;
  model_to_proto(model, proto,
                 [](const ir::Tensor& tensor, onnxpb::TensorProto& out, bool) {
                   tensor_to_proto(tensor, out);
                 });
  return serialize_checked(proto, "model");
}

void save_model(const ir::Model& model, const std::filesystem::path& path,
                const SaveOptions& options) {
  onnxpb::ModelProto proto;
  std::unique_ptr<ExternalDataWriter> external;
  if (options.external_threshold) {
    std::string location = options.external_file.empty() ? path.filename().string() + ".data"
                                                          : options.external_file;
    external = std::make_unique<ExternalDataWriter>(path.parent_path(), location, options.external_alignment);
  }
  uint64_t external_count = 0;
  model_to_proto(model, proto,
                 [&](const ir::Tensor& tensor, onnxpb::TensorProto& out, bool is_initializer) {
                   bool goes_out = external && is_initializer &&
                                   tensor.dtype != ir::DataType::string &&
                                   tensor.byte_size() >= *options.external_threshold;
                   if (!goes_out) {
                     write_inline(tensor, out);
                     return;
                   }
                   tensor_header_to_proto(tensor, out);
                   for (const auto& [key, value] : external->append(tensor)) {
                     auto* entry = out.add_external_data();
                     entry->set_key(key);
                     entry->set_value(value);
                   }
                   out.set_data_location(onnxpb::TensorProto::EXTERNAL);
                   ++external_count;
                 });
  std::string bytes = serialize_checked(proto, path.string());
  // Data file first: a model must never point at data that is not there yet.
  if (external && external_count > 0) external->commit();
  write_file_atomically(path, bytes);
}

}  // namespace mhub::onnx_io
