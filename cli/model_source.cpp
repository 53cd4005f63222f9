#include "cli/model_source.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/catalogue_option.h"
#include "cli/cache_lookup.h"
#include "common/error.h"
#include "hub/model_pull.h"
#include "hub/progress.h"
#include "hub/pull.h"
#include "registry/catalogue.h"

namespace mhub::cli {

namespace fs = std::filesystem;

namespace {

// The file a catalogue entry names as the model itself (source.path), else its only .onnx file.
const registry::FileSpec* main_file(const registry::ResolvedModel& model) {
  const registry::FileSpec* only_onnx = nullptr;
  int onnx_files = 0;
  for (const auto& file : model.files) {
    if (!model.source.path.empty() && file.path == model.source.path) return &file;
    if (fs::path(file.path).extension() == ".onnx") {
      only_onnx = &file;
      ++onnx_files;
    }
  }
  return onnx_files == 1 ? only_onnx : nullptr;
}

}  // namespace

fs::path resolve_model(const std::string& name_or_path) {
  fs::path path(name_or_path);
  if (fs::is_regular_file(path)) return path;
  if (fs::is_directory(path) && fs::is_regular_file(path / "model.onnx")) return path / "model.onnx";
  bool looks_like_path = name_or_path.find('/') != std::string::npos || path.extension() == ".onnx";
  if (looks_like_path) throw_error(ErrorCategory::io, name_or_path + ": no such model file");

  registry::ResolvedModel model = registry::resolve(effective_catalogue(), name_or_path);
  const registry::FileSpec* file = main_file(model);
  if (file == nullptr || (!model.entry->format.empty() && model.entry->format != "onnx"))
    throw_error(ErrorCategory::unsupported,
                "'" + model.entry->name + "' is a " +
                    (model.entry->format.empty() ? std::string("non-ONNX") : model.entry->format) +
                    " checkpoint, not an ONNX model; pull it with `mhub pull " + model.entry->name +
                    "` and load its weights into an architecture with `mhub convert ARCH.onnx OUT.onnx "
                    "--weights FILE`");
  if (auto cached = cached_file_path(*model.entry, model.source, *file)) return *cached;

  // Not on this machine yet: pull the whole entry (external data files come with it).
  hub::PullOptions pull = hub::pull_options_from_env();
  std::unique_ptr<hub::ProgressSink> progress = hub::make_progress(stderr);
  pull.download.progress = progress.get();
  std::cerr << "mhub: pulling " << model.entry->name << " (not in the cache yet)\n";
  hub::PullResult result = hub::pull_model(pull, model, false);
  for (const auto& pulled : result.files)
    if (pulled.path == file->path) return pulled.local;
  throw_error(ErrorCategory::internal, "'" + model.entry->name + "': pulled, but " + file->path +
                                           " is not among the pulled files");
}

}  // namespace mhub::cli
