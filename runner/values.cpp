#include "runner/values.h"

#include "engine/ir/npy.h"

namespace mhub::runner {

engine::Value to_value(onnx_io::DataValue data) {
  switch (data.kind) {
    case onnx_io::DataValue::Kind::sequence:
      return engine::Value::of_sequence(std::move(data.sequence), data.sequence_elem);
    case onnx_io::DataValue::Kind::optional_none:
      return engine::Value::none();
    default:
      return engine::Value::of(std::move(data.tensor));
  }
}

engine::Value read_value_file(const std::string& path, const ir::Type& type) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0)
    return engine::Value::of(ir::read_npy(path));
  return to_value(onnx_io::read_data_file(path, type));
}

namespace {

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

}  // namespace

std::string describe_value(const engine::Value& value) {
  switch (value.kind) {
    case engine::Value::Kind::tensor:
      return std::string(ir::name_of(value.tensor.dtype)) + " " + shape_text(value.tensor.dims);
    case engine::Value::Kind::sequence:
      return "sequence of " + std::to_string(value.sequence.size()) + " " +
             std::string(ir::name_of(value.sequence_elem)) + " tensors";
    case engine::Value::Kind::optional_none:
      return "empty optional";
    default:
      return "absent";
  }
}

}  // namespace mhub::runner
