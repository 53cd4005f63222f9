// The input dims a plan can be specialised to (engine/core/session.h, "Shape specialisation"):
// which graph inputs declare dims a feed fills (symbolic, unknown, or no shape at all), the
// signature of one run's feeds over those inputs, and the graph with those inputs made concrete.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "engine/core/value.h"
#include "engine/ir/graph.h"

namespace mhub::engine {

// What one run fed to one specialisable input.
struct FedDims {
  bool fed = false;  // false: not fed (an input with an initializer default keeps its declaration)
  ir::DataType dtype = ir::DataType::undefined;
  std::vector<int64_t> dims;
  bool operator==(const FedDims&) const = default;
};
// One entry per specialisable input, in the order specializable_inputs lists them.
using InputSignature = std::vector<FedDims>;

// Positions in graph.inputs of the tensor inputs whose declared type leaves a dim open (a
// symbolic or unknown dim, no shape, no type). Sequence / map / optional inputs are not listed.
std::vector<size_t> specializable_inputs(const ir::Graph& graph);

// The signature of a run's feeds; `fed(name)` is the value fed for an input, or nullptr.
// Non-tensor values count as not fed.
template <class Lookup>
InputSignature input_signature(const ir::Graph& graph, std::span<const size_t> specializable, Lookup fed) {
  InputSignature signature(specializable.size());
  for (size_t i = 0; i < specializable.size(); ++i) {
    const Value* value = fed(graph.inputs[specializable[i]].name);
    if (!value || !value->is_tensor()) continue;
    signature[i] = {true, value->tensor.dtype, value->tensor.dims};
  }
  return signature;
}

// Whether the signature makes any declared dim concrete (else the generic plan is as good).
bool fills_open_dims(const InputSignature& signature);

// Gives the fed inputs of `graph` (positions `specializable`) the fed element type and dims.
void make_inputs_concrete(ir::Graph& graph, std::span<const size_t> specializable,
                          const InputSignature& signature);

// "x[1,3,224,224] mask[1,128]", for logs.
std::string signature_text(const ir::Graph& graph, std::span<const size_t> specializable,
                           const InputSignature& signature);

}  // namespace mhub::engine
