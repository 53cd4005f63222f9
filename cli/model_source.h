// Where `mhub run`, `bench`, `finetune` and `eval` get a model from: a path to an .onnx file, a
// folder holding model.onnx, or a catalogue name (NAME[@REVISION], see `mhub list`), which is
// taken from the cache when it is there and pulled (verified, resumable) when it is not.
#pragma once

#include <filesystem>
#include <string>

namespace mhub::cli {

// Throws mhub::Error: io (a path that does not exist), usage (an unknown name; the message
// suggests close names), unsupported (the entry's main file is not an ONNX model), and whatever
// the pull throws (network, integrity).
std::filesystem::path resolve_model(const std::string& name_or_path);

}  // namespace mhub::cli
