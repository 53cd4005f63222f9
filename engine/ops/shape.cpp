#include "engine/ops/shape.h"

#include <cstring>

#include "common/error.h"

namespace mhub::engine::ops {

std::string describe(const ir::Node& node) {
  return node.op_type + (node.name.empty() ? "" : " '" + node.name + "'");
}

void fail(const ir::Node& node, const std::string& what) {
  throw Error(ErrorCategory::format, describe(node) + ": " + what + "; check the model with `mhub check`");
}

int64_t normalize_axis(const ir::Node& node, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    throw_error(ErrorCategory::format,
                describe(node) + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return wrap_axis(axis, rank);
}

int64_t dims_product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < dims.size(); ++i) p *= dims[i];
  return p;
}

std::vector<int64_t> int_values(const ir::Node& node, const ir::Tensor& tensor) {
  size_t count = tensor.numel();
  std::vector<int64_t> values(count);
  switch (tensor.dtype) {
    case ir::DataType::int64: if (count > 0) std::memcpy(values.data(), tensor.bytes(), count * 8); break;
    case ir::DataType::int32: for (size_t i = 0; i < count; ++i) values[i] = tensor.data<int32_t>()[i]; break;
    case ir::DataType::int16: for (size_t i = 0; i < count; ++i) values[i] = tensor.data<int16_t>()[i]; break;
    case ir::DataType::int8: for (size_t i = 0; i < count; ++i) values[i] = tensor.data<int8_t>()[i]; break;
    case ir::DataType::uint8: for (size_t i = 0; i < count; ++i) values[i] = tensor.data<uint8_t>()[i]; break;
    case ir::DataType::uint16: for (size_t i = 0; i < count; ++i) values[i] = tensor.data<uint16_t>()[i]; break;
    case ir::DataType::uint32: for (size_t i = 0; i < count; ++i) values[i] = tensor.data<uint32_t>()[i]; break;
    case ir::DataType::uint64: for (size_t i = 0; i < count; ++i) values[i] = static_cast<int64_t>(tensor.data<uint64_t>()[i]); break;
    default:
      throw_error(ErrorCategory::format, describe(node) + ": expected an integer tensor, got " +
                                             std::string(ir::name_of(tensor.dtype)));
  }
  return values;
}

std::vector<int64_t> broadcast_shapes(const ir::Node& node, const std::vector<std::vector<int64_t>>& shapes) {
  std::vector<int64_t> out;
  if (broadcast_shapes(shapes, out)) return out;
  std::string text;
  for (const auto& shape : shapes) {
    text += " [";
    for (size_t k = 0; k < shape.size(); ++k) {
      if (k) text += ",";
      text += std::to_string(shape[k]);
    }
    text += "]";
  }
  throw_error(ErrorCategory::format, describe(node) + ": input shapes cannot be broadcast:" + text);
}

}  // namespace mhub::engine::ops
