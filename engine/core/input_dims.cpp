#include "engine/core/input_dims.h"

namespace mhub::engine {

std::vector<size_t> specializable_inputs(const ir::Graph& graph) {
  std::vector<size_t> positions;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const std::optional<ir::Type>& type = graph.inputs[i].type;
    bool open = !type;
    if (type && type->kind == ir::Type::Kind::tensor) {
      open = !type->shape;
      if (type->shape)
        for (const ir::Dim& dim : type->shape->dims)
          if (dim.kind != ir::Dim::Kind::value) open = true;
    }
    if (open) positions.push_back(i);
  }
  return positions;
}

bool fills_open_dims(const InputSignature& signature) {
  for (const FedDims& fed : signature)
    if (fed.fed) return true;
  return false;
}

void make_inputs_concrete(ir::Graph& graph, std::span<const size_t> specializable,
                          const InputSignature& signature) {
  for (size_t i = 0; i < specializable.size() && i < signature.size(); ++i) {
    const FedDims& fed = signature[i];
    if (!fed.fed) continue;
    ir::Shape shape;
    for (int64_t dim : fed.dims) shape.dims.push_back(ir::Dim::of(dim));
    std::optional<ir::Type>& type = graph.inputs[specializable[i]].type;
    std::string denotation = type ? type->denotation : std::string();
    type = ir::Type::tensor(fed.dtype, std::move(shape));
    type->denotation = std::move(denotation);
  }
}

std::string signature_text(const ir::Graph& graph, std::span<const size_t> specializable,
                           const InputSignature& signature) {
  std::string text;
  for (size_t i = 0; i < specializable.size() && i < signature.size(); ++i) {
    if (!signature[i].fed) continue;
    if (!text.empty()) text += ' ';
    text += graph.inputs[specializable[i]].name;
    text += '[';
    for (size_t d = 0; d < signature[i].dims.size(); ++d) {
      if (d) text += ',';
      text += std::to_string(signature[i].dims[d]);
    }
    text += ']';
  }
  return text;
}

}  // namespace mhub::engine
