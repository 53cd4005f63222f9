#include "cli/model_source.h"

#include "common/error.h"

namespace mhub::cli {

std::filesystem::path resolve_model(const std::string& name_or_path) {
  std::filesystem::path path(name_or_path);
  if (std::filesystem::is_regular_file(path)) return path;
  if (std::filesystem::is_directory(path) && std::filesystem::is_regular_file(path / "model.onnx"))
    return path / "model.onnx";
  bool looks_like_path = name_or_path.find('/') != std::string::npos || path.extension() == ".onnx";
  if (looks_like_path)
    throw_error(ErrorCategory::io, name_or_path + ": no such model file");
  // Hook for catalogue names (e.g. "resnet18"): the registry resolves and downloads them.
  throw_error(ErrorCategory::usage, "'" + name_or_path +
                                        "' is not a file, and pulling models by catalogue name is not "
                                        "available in this build; give the path to an .onnx file");
}

}  // namespace mhub::cli
