#include "onnx_io/safetensors_external.h"

#include <unordered_map>

#include "common/atomic_file.h"
#include "common/error.h"
#include "onnx_io/external_data.h"
#include "onnx_io/model_io.h"
#include "onnx_io/safetensors.h"

namespace mhub::onnx_io {

size_t save_model_with_safetensors_data(const ir::Model& model, const std::filesystem::path& path,
                                        const std::string& data_file, uint64_t threshold) {
  std::filesystem::path data_path =
      external_data_file(path.parent_path(), data_file, "--external-file", ErrorCategory::usage);
  std::filesystem::path location(data_file);
  WeightsMap weights;
  weights.metadata = {{"format", "onnx-external-data"}, {"model", path.filename().string()}};
  for (const auto& tensor : model.graph.initializers)
    if (!safetensors_dtype_name(tensor.dtype).empty() && tensor.byte_size() >= threshold && tensor.name != "__metadata__")
      weights.add(tensor, path.string());
  auto bytes = std::make_shared<std::string>(serialize_safetensors(weights));
  // Read our own output back to learn where each tensor landed (and to check it).
  auto written = parse_safetensors(bytes, reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), data_file);
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& tensor : written.tensors())
    ranges[tensor.name] = {static_cast<uint64_t>(tensor.bytes() - reinterpret_cast<const uint8_t*>(bytes->data())),
                           tensor.byte_size()};

  ir::Model out = model;
  for (auto& tensor : out.graph.initializers) {
    auto found = ranges.find(tensor.name);
    if (found == ranges.end()) continue;
    tensor.encoding = ir::TensorEncoding::external;
    tensor.external_data = {{"location", location.generic_string()},
                            {"offset", std::to_string(found->second.first)},
                            {"length", std::to_string(found->second.second)}};
  }
  std::string model_bytes = serialize_model(out);
  write_file_atomically(data_path, *bytes);  // data first: the model must not point at nothing
  write_file_atomically(path, model_bytes);
  return ranges.size();
}

}  // namespace mhub::onnx_io
