// Where `mhub run`, `bench`, `finetune` and `eval` get a model from: a path to an .onnx file, a
// folder holding model.onnx, or a catalogue name (NAME[@REVISION], see `mhub list`), which is
// taken from the cache when it is there and pulled (verified, resumable) when it is not.
#pragma once

#include <filesystem>
#include <string>

namespace mhub::cli {

// The MODEL positional's help, the same for every command that resolves one.
inline constexpr const char* kModelHelp =
    "An .onnx file, a folder holding model.onnx, or a catalogue name (NAME[@REVISION], see `mhub list`): "
    "taken from the cache, pulled when not there";

// Throws mhub::Error: io (a path that does not exist), usage (an unknown name; the message
// suggests close names), unsupported (the entry's main file is not an ONNX model), and whatever
// the pull throws (network, integrity).
std::filesystem::path resolve_model(const std::string& name_or_path);

}  // namespace mhub::cli

#include <vector>

#include "engine/ir/graph.h"

namespace mhub::cli {

// Per-channel input normalisation of an image model (pixels scaled to [0, 1] first), and where
// it came from, for messages. Empty vectors: none known.
struct Normalization {
  std::vector<float> mean, std;
  std::string origin;  // "catalogue entry NAME", "model metadata", "--mean/--std"
  bool empty() const { return mean.empty() && std.empty(); }
};

// The catalogue's preprocessing for a catalogue name; empty for a path or an entry without it.
Normalization catalogue_normalization(const std::string& name_or_path);

// What `mhub finetune` recorded in a model it wrote (metadata_props mhub.preprocess.mean/std).
Normalization model_normalization(const ir::Model& model);

// Records the provenance of a model `mhub finetune` wrote at `path`, rewriting it atomically:
// producer "mhub" + its version (the parent's producer would be wrong now), `norm` (a later
// `mhub eval`/`finetune` then normalises the same way without flags), the model it was
// fine-tuned from (mhub.parent) and the training settings (`training`: key → value, stored as
// mhub.train.<key>) in metadata_props.
void stamp_finetune_metadata(const std::filesystem::path& path, const Normalization& norm, const std::string& parent,
                             const std::vector<std::pair<std::string, std::string>>& training);

}  // namespace mhub::cli
