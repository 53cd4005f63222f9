#include "onnx_io/weights_map.h"

#include "common/error.h"

namespace mhub::onnx_io {

void WeightsMap::add(ir::Tensor tensor, const std::string& source) {
  if (index_.count(tensor.name))
    throw Error(ErrorCategory::format, source + ": tensor '" + tensor.name + "' appears twice");
  index_.emplace(tensor.name, tensors_.size());
  tensors_.push_back(std::move(tensor));
}

const ir::Tensor* WeightsMap::find(std::string_view name) const {
  auto found = index_.find(std::string(name));
  return found == index_.end() ? nullptr : &tensors_[found->second];
}

uint64_t WeightsMap::total_bytes() const {
  uint64_t total = 0;
  for (const auto& tensor : tensors_) total += tensor.byte_size();
  return total;
}

WeightsMap weights_from_model(const ir::Model& model) {
  WeightsMap map;
  for (const auto& initializer : model.graph.initializers) map.add(initializer, "model");
  return map;
}

}  // namespace mhub::onnx_io
