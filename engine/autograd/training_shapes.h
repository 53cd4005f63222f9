// Training-graph step 1, preparation: the static dims of every value of a forward model, which
// the backward rules need (they emit Reshape / ReduceSum / Expand with literal shapes).
//
// Contract: the model has a default-domain opset >= 13 (else mhub::Error unsupported, naming
// `mhub convert`), and its non-initializer inputs have fixed dims (else mhub::Error unsupported).
// Dims come from ONNX shape inference and, for values it leaves open (Reshape targets computed
// at run time from Shape/Concat chains), from running the model once on zeros in a single-thread
// CPU session. Initializers keep their own dims. Values the probe cannot see (sequences,
// optional-none) have no entry.
//
// The same probe gives the values that static dims fix: computed from Shape / Size outputs,
// Constant nodes and integer / bool initializers only, by deterministic ops (not the random
// family, no subgraphs), e.g. Swin's window padding (Shape -> Gather -> Sub -> Mod -> Concat ->
// Pad's pads) or torchvision ViT's Slice bounds. With static shapes they are constants of the
// training graph, so folding them (fold_shape_constants) gives the backward rules the constant
// pads / bounds / axes they read at build time. Float initializers never count: training changes
// parameters and running statistics.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::autograd {

using ShapeMap = std::map<std::string, std::vector<int64_t>>;
using ConstantMap = std::map<std::string, ir::Tensor>;  // value name -> its value (owned, named)

// `base_dir`: where the model's external data lives (for shape inference). With
// `shape_constants`, also the values of shape_constant_frontier() the probe saw, each up to
// 16 MiB (larger ones and strings stay computed).
ShapeMap training_value_shapes(const ir::Model& forward, const std::filesystem::path& base_dir,
                               ConstantMap* shape_constants = nullptr);

// The values fixed by static dims (above) that a node outside that computation reads, in node
// order; Constant node outputs and graph outputs excluded.
std::vector<std::string> shape_constant_frontier(const ir::Graph& g);

// `forward` with every value of `constants` (from training_value_shapes) an initializer and the
// nodes that computed only such values removed. The result computes what `forward` computes for
// inputs of the probed dims.
ir::Model fold_shape_constants(const ir::Model& forward, const ConstantMap& constants);

}  // namespace mhub::autograd
