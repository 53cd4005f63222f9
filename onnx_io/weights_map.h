// A weights map: the common form of weight-only files (safetensors, PyTorch .pth, GGUF).
//
// Contract: tensors keep the order they were read or added in (file order), names are unique,
// and every tensor is contiguous row-major (ir::Tensor's rule). Tensors usually view the mapped
// file they came from (Storage::view keeps the mapping alive), so a map is cheap to copy.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::onnx_io {

class WeightsMap {
 public:
  // Appends; throws mhub::Error (format) naming `source` when the name is already present.
  void add(ir::Tensor tensor, const std::string& source);
  const ir::Tensor* find(std::string_view name) const;
  const std::vector<ir::Tensor>& tensors() const { return tensors_; }
  size_t size() const { return tensors_.size(); }
  bool empty() const { return tensors_.empty(); }
  uint64_t total_bytes() const;

  // Free-form file metadata (safetensors __metadata__, GGUF string keys), in order.
  ir::StringPairs metadata;

 private:
  std::vector<ir::Tensor> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

// The initializers of a model's main graph, in graph order (tensors share the model's storage).
WeightsMap weights_from_model(const ir::Model& model);

}  // namespace mhub::onnx_io
