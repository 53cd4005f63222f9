#include "onnx_io/weights_file.h"

#include <algorithm>

#include "common/error.h"
#include "onnx_io/pth/checkpoint.h"
#include "onnx_io/safetensors.h"

namespace mhub::onnx_io {

WeightsFormat weights_format_of(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".safetensors") return WeightsFormat::safetensors;
  if (ext == ".gguf") return WeightsFormat::gguf;
  if (ext == ".pth" || ext == ".pt" || ext == ".bin" || ext == ".ckpt") return WeightsFormat::pytorch;
  return WeightsFormat::none;
}

const char* weights_format_name(WeightsFormat format) {
  switch (format) {
    case WeightsFormat::safetensors: return "safetensors";
    case WeightsFormat::gguf: return "GGUF";
    case WeightsFormat::pytorch: return "PyTorch checkpoint";
    case WeightsFormat::none: break;
  }
  return "none";
}

WeightsFile read_weights_file(const std::filesystem::path& path, const ReadWeightsOptions& options) {
  WeightsFile file;
  file.format = weights_format_of(path);
  switch (file.format) {
    case WeightsFormat::safetensors: file.weights = read_safetensors(path); break;
    case WeightsFormat::gguf: file.weights = read_gguf(path); break;
    case WeightsFormat::pytorch: {
      auto checkpoint = pth::read_checkpoint(path, {options.pth_key});
      file.weights = std::move(checkpoint.weights);
      file.pth_key_used = checkpoint.key_used;
      file.skipped = std::move(checkpoint.skipped);
      break;
    }
    case WeightsFormat::none:
      throw Error(ErrorCategory::usage, path.string() + ": not a weights file (expected .safetensors, .gguf, .pth, .pt, .bin or .ckpt)");
  }
  return file;
}

void write_weights_file(const WeightsMap& weights, const std::filesystem::path& path, const GgufOptions& gguf) {
  switch (weights_format_of(path)) {
    case WeightsFormat::safetensors: write_safetensors(weights, path); return;
    case WeightsFormat::gguf: write_gguf(weights, path, gguf); return;
    default:
      throw Error(ErrorCategory::unsupported, path.string() + ": mhub writes weights as .safetensors or .gguf");
  }
}

}  // namespace mhub::onnx_io
