// PyTorch checkpoints (.pth / .pt / .bin written by torch.save since 1.6) read without Python.
//
// The zip container is read by zip_reader, data.pkl by the bounded pickle machine, and each
// tensor becomes an ir::Tensor: contiguous tensors view the mapped file (no copy; tied weights
// share one view), non-contiguous views (strides, offsets) are gathered into owned memory.
// Files that are not such a checkpoint get an error saying what they are instead: a TorchScript
// archive, a legacy (pre-1.6) torch.save file, a Git LFS pointer, an HTML page.
#pragma once

#include <filesystem>
#include <string>

#include "onnx_io/weights_map.h"

namespace mhub::onnx_io::pth {

struct CheckpointOptions {
  // Which nested dict holds the weights ("model", "ema", "state_dict.module", dotted for deeper
  // levels). Empty: the top level if it holds tensors, else the first of "state_dict", "model",
  // "module", "ema", "model_ema", "net", "params" that does.
  std::string key;
};

struct Checkpoint {
  WeightsMap weights;
  std::string key_used;                 // "" = top level
  std::vector<std::string> skipped;     // non-tensor entries left out (e.g. "epoch")
};

Checkpoint read_checkpoint(const std::filesystem::path& path, const CheckpointOptions& options = {});

// What the first bytes of a file say it is: "zip", "lfs-pointer", "html", "legacy-pickle",
// "unknown". Used for the messages above and by `mhub inspect`.
std::string sniff_file_kind(const std::filesystem::path& path);

}  // namespace mhub::onnx_io::pth
