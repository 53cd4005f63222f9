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
#include "onnx_io/model_io.h"
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

namespace {

constexpr const char* kMeanKey = "mhub.preprocess.mean";
constexpr const char* kStdKey = "mhub.preprocess.std";
constexpr const char* kParentKey = "mhub.parent";
constexpr const char* kTrainKeyPrefix = "mhub.train.";

std::string join_floats(const std::vector<float>& values) {
  std::string text;
  for (size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + std::to_string(values[i]);
  return text;
}

std::vector<float> split_floats(const std::string& text, const std::string& what) {
  std::vector<float> values;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string piece = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      size_t used = 0;
      values.push_back(std::stof(piece, &used));
      if (used != piece.size()) throw std::invalid_argument(piece);
    } catch (const std::exception&) {
      throw_error(ErrorCategory::format, what + ": '" + text + "' is not a comma-separated list of numbers");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

}  // namespace

Normalization catalogue_normalization(const std::string& name_or_path) {
  Normalization norm;
  fs::path path(name_or_path);
  if (fs::exists(path) || name_or_path.find('/') != std::string::npos || path.extension() == ".onnx") return norm;
  const registry::ResolvedModel model = registry::resolve(effective_catalogue(), name_or_path);
  const registry::Preprocessing& pre = model.entry->preprocessing;
  for (double m : pre.mean) norm.mean.push_back(static_cast<float>(m));
  for (double s : pre.std) norm.std.push_back(static_cast<float>(s));
  if (!norm.empty()) norm.origin = "catalogue entry " + model.entry->name;
  return norm;
}

Normalization model_normalization(const ir::Model& model) {
  Normalization norm;
  for (const auto& [key, value] : model.metadata_props) {
    if (key == kMeanKey) norm.mean = split_floats(value, "model metadata " + key);
    if (key == kStdKey) norm.std = split_floats(value, "model metadata " + key);
  }
  if (!norm.empty()) norm.origin = "model metadata";
  return norm;
}

void stamp_finetune_metadata(const fs::path& path, const Normalization& norm, const std::string& parent,
                             const std::vector<std::pair<std::string, std::string>>& training) {
  ir::Model model = onnx_io::load_model(path);
  model.producer_name = "mhub";
  model.producer_version = MHUB_VERSION;
  auto set = [&model](const std::string& key, const std::string& value) {
    for (auto& [k, v] : model.metadata_props)
      if (k == key) {
        v = value;
        return;
      }
    model.metadata_props.emplace_back(key, value);
  };
  if (!norm.mean.empty()) set(kMeanKey, join_floats(norm.mean));
  if (!norm.std.empty()) set(kStdKey, join_floats(norm.std));
  if (!parent.empty()) set(kParentKey, parent);
  for (const auto& [key, value] : training) set(std::string(kTrainKeyPrefix) + key, value);
  onnx_io::save_model(model, path);
}

}  // namespace mhub::cli
