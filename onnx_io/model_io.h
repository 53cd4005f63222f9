// Reading and writing ONNX model files.
//
// Import: the file is mapped, parsed once, and every tensor's bytes are moved (not copied) from
// the parsed message into the IR; external data files are mapped and viewed in place. So weight
// bytes are copied at most once (by the protobuf parser, for inline data) and never for external
// data. Export writes what the IR holds; save_model() can move large tensors to an external
// data file. Every file is written atomically (common/atomic_file.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/ir/graph.h"

namespace mhub::onnx_io {

// Reads `path`; external data is looked up relative to the model's folder. Throws mhub::Error:
// io (missing/unreadable files), format (not an ONNX model, bad tensor data, an external
// location that leaves the folder, a range past a data file's end).
ir::Model load_model(const std::filesystem::path& path);

// Parses model bytes held in memory; `source` names them in messages and `base_dir` is where
// external data files are looked up (empty: external data is refused).
ir::Model parse_model(const void* data, size_t size, const std::string& source,
                      const std::filesystem::path& base_dir);

// The model as ONNX bytes, each tensor encoded as it was imported; external tensors keep their
// external_data references (their bytes are not written). Throws mhub::Error (unsupported) if the
// result would pass protobuf's 2 GiB limit.
std::string serialize_model(const ir::Model& model);

struct SaveOptions {
  // Tensors of at least this many bytes go to an external data file (nullopt: keep everything
  // inline; tensors that were external are then inlined).
  std::optional<uint64_t> external_threshold;
  // File name for the external data, relative to the model's folder (default: "<model>.data").
  std::string external_file;
  // Alignment of each tensor's offset in the data file, so it can be mapped directly.
  uint64_t external_alignment = 64;
};

void save_model(const ir::Model& model, const std::filesystem::path& path,
                const SaveOptions& options = {});

}  // namespace mhub::onnx_io
