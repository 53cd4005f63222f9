// What load-time constant folding knows about a value before any run: its rank and those dims
// that are the same in every run, and, for small integer tensors (the shape arithmetic exporters
// emit: Shape -> Gather -> Concat -> Reshape), those elements that are. A graph input's declared
// dims hold in every run (Session::run refuses feeds that differ), so dims derived from them by
// the rules below do too; a symbolic dim (a batch size) stays unknown and so does everything
// computed from it. The session folds a node once every element of its outputs is known, e.g.
// the shifted-window attention mask a Swin export builds from the feature map's H and W.
//
// The rules are conservative: an op without a rule, or any input the rule cannot read, gives
// outputs of unknown rank; a rule never claims a dim the kernel could compute differently.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/ir/dtype.h"
#include "engine/ir/graph.h"
#include "engine/ir/tensor.h"

namespace mhub::engine::passes {

using KnownInt = std::optional<int64_t>;

struct StaticFacts {
  bool rank_known = false;
  std::vector<KnownInt> dims;  // rank_known: one entry per axis
  // Integer tensors of at most kMaxTrackedElements elements with a known shape: one entry per
  // element (row-major), each known or not. Empty with has_elements false otherwise.
  bool has_elements = false;
  std::vector<KnownInt> elements;
  std::optional<ir::DataType> dtype;

  static constexpr size_t kMaxTrackedElements = 64;

  // Everything about a constant: its dims, and its elements when it is a small integer tensor.
  static StaticFacts of_tensor(const ir::Tensor& tensor);
  // A graph input's declared type (value dims known, symbolic and unknown ones not).
  static StaticFacts of_type(const ir::Type& type);
  // Every dim known.
  bool shape_known() const;
  // Every dim and element known: the value is a constant (to_tensor builds it).
  bool fully_known() const;
  // The constant of a fully_known() value (int32 / int64 / other integer types).
  ir::Tensor to_tensor() const;
};

// The facts of `node`'s outputs (one per output) from those of its inputs (one per input; an
// absent optional input has default facts). `opset`: the model's ai.onnx opset (Squeeze and
// Unsqueeze read axes from an attribute before 13).
std::vector<StaticFacts> infer_static_facts(const ir::Node& node, std::span<const StaticFacts> inputs,
                                            int64_t opset);

}  // namespace mhub::engine::passes
