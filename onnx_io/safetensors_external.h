// ONNX external data stored in a safetensors file: one weight file serves both ecosystems.
//
// The model's large initializers are written as a valid safetensors file (names kept); each
// initializer's external_data points at its bytes inside that file (offset = 8 + header length +
// the tensor's data_offsets begin). ONNX runtimes read the model as usual; safetensors readers
// read the data file as usual.
#pragma once

#include <filesystem>
#include <string>

#include "engine/ir/graph.h"

namespace mhub::onnx_io {

// Writes `path` and, beside it, `data_file` (relative to path's folder, ending in
// .safetensors). Initializers of at least `threshold` bytes whose dtype safetensors can hold go
// to the data file; the rest stay inline. Both files are written atomically, data file first.
// Returns how many tensors went to the data file.
size_t save_model_with_safetensors_data(const ir::Model& model, const std::filesystem::path& path,
                                        const std::string& data_file, uint64_t threshold);

}  // namespace mhub::onnx_io
