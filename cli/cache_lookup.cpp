#include "cli/cache_lookup.h"

#include <cstdlib>
#include <fstream>

namespace mhub::cli {

namespace fs = std::filesystem;

fs::path hf_hub_cache_dir() {
  if (const char* env = std::getenv("HF_HUB_CACHE"); env && *env) return env;
  if (const char* env = std::getenv("HF_HOME"); env && *env) return fs::path(env) / "hub";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : ".") / ".cache" / "huggingface" / "hub";
}

namespace {

bool complete(const fs::path& path, const registry::FileSpec& file) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return false;  // follows the blob symlink
  if (file.size < 0) return true;
  return int64_t(fs::file_size(path, error)) == file.size && !error;
}

}  // namespace

std::optional<fs::path> cached_file_path(const registry::CatalogueEntry& entry,
                                         const registry::SourceSpec& source,
                                         const registry::FileSpec& file) {
  if (source.kind == registry::SourceKind::bundled) {
    fs::path path = entry.base_dir / file.path;
    if (complete(path, file)) return path;
    return std::nullopt;
  }
  if (source.kind != registry::SourceKind::hf) return std::nullopt;
  std::string folder = "models--" + source.repo;
  for (size_t at = folder.find('/'); at != std::string::npos; at = folder.find('/')) folder.replace(at, 1, "--");
  fs::path repo_dir = hf_hub_cache_dir() / folder;
  // A revision is either a commit (a snapshot folder of its own) or a ref naming one.
  std::string commit = source.revision;
  std::error_code error;
  if (!fs::is_directory(repo_dir / "snapshots" / commit, error)) {
    std::ifstream ref(repo_dir / "refs" / source.revision);
    if (!(ref >> commit)) return std::nullopt;
  }
  fs::path path = repo_dir / "snapshots" / commit / file.path;
  if (complete(path, file)) return path;
  return std::nullopt;
}

}  // namespace mhub::cli
