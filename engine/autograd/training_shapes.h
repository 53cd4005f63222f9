// Training-graph step 1, preparation: the static dims of every value of a forward model, which
// the backward rules need (they emit Reshape / ReduceSum / Expand with literal shapes).
//
// Contract: the model has a default-domain opset >= 13 (else mhub::Error unsupported, naming
// `mhub convert`), and its non-initializer inputs have fixed dims (else mhub::Error unsupported).
// Dims come from ONNX shape inference and, for values it leaves open (Reshape targets computed
// at run time from Shape/Concat chains), from running the model once on zeros in a single-thread
// CPU session. Initializers keep their own dims. Values the probe cannot see (sequences,
// optional-none) have no entry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::autograd {

using ShapeMap = std::map<std::string, std::vector<int64_t>>;

// `base_dir`: where the model's external data lives (for shape inference).
ShapeMap training_value_shapes(const ir::Model& forward, const std::filesystem::path& base_dir);

}  // namespace mhub::autograd
