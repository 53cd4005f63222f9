// Weight-only files chosen by extension: .safetensors, .gguf, and PyTorch checkpoints
// (.pth, .pt, .bin, .ckpt). One entry point for the CLI.
#pragma once

#include <filesystem>
#include <string>

#include "onnx_io/gguf.h"
#include "onnx_io/weights_map.h"

namespace mhub::onnx_io {

enum class WeightsFormat { none, safetensors, gguf, pytorch };

// By extension (case-insensitive); none for anything else (.onnx included).
WeightsFormat weights_format_of(const std::filesystem::path& path);
const char* weights_format_name(WeightsFormat format);

struct ReadWeightsOptions {
  std::string pth_key;  // see pth::CheckpointOptions::key
};

struct WeightsFile {
  WeightsMap weights;
  WeightsFormat format = WeightsFormat::none;
  std::string pth_key_used;
  std::vector<std::string> skipped;  // non-tensor entries of a checkpoint
};

// Throws mhub::Error (usage) for an extension that is not a weights format, else what the
// reader throws.
WeightsFile read_weights_file(const std::filesystem::path& path, const ReadWeightsOptions& options = {});

// Writes .safetensors or .gguf (by extension; usage error otherwise), atomically.
void write_weights_file(const WeightsMap& weights, const std::filesystem::path& path, const GgufOptions& gguf = {});

}  // namespace mhub::onnx_io
