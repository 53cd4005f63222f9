// Training checkpoints as safetensors files: weights, optimizer state, step and RNG state.
//
// Layout (the safetensors format): uint64 little-endian header size N, N bytes of JSON
// {"<tensor>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"<key>": "<string>", ...}}, then the tensors' bytes back to back.
// mhub names tensors "param/<name>" for weights and buffers and "optim/<name>/<state>" for
// optimizer state. Kept in this one file so it can give way to a shared safetensors writer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace mhub::train {

struct CheckpointTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> values;
};

struct Checkpoint {
  std::vector<CheckpointTensor> tensors;       // in file order
  std::map<std::string, std::string> metadata;  // step, epoch, rng, optimizer, ...

  const CheckpointTensor* find(const std::string& name) const;
};

// Written atomically (a failed write leaves any earlier checkpoint in place).
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// Throws mhub::Error (io / format) naming the file and the problem; only F32 tensors are read.
Checkpoint load_checkpoint(const std::filesystem::path& path);
// The integer metadata `key` in [min, max]; throws mhub::Error (format) naming `source`, the key
// and the text when it is missing, not a plain decimal integer, or out of range.
int64_t metadata_integer(const Checkpoint& checkpoint, const std::string& key, int64_t min, int64_t max,
                         const std::filesystem::path& source);

}  // namespace mhub::train
