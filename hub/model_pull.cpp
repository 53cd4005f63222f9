#include "hub/model_pull.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "hub/hashing.h"
#include "hub/hf_protocol.h"

namespace fs = std::filesystem;

namespace mhub::hub {

namespace {

std::string safe_name(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
  return out;
}

// A stable 40-hex id for a non-Hub snapshot: the git sha1 of its files' names and sha256s.
std::string pseudo_commit(const registry::SourceSpec& source, const std::vector<registry::FileSpec>& files) {
  std::string text = source.url + "\n" + source.path + "\n";
  for (const auto& file : files) text += file.path + " " + file.sha256 + "\n";
  BlobHasher hasher(static_cast<int64_t>(text.size()));
  hasher.update(text.data(), text.size());
  return hasher.git_sha1_hex();
}

std::vector<registry::FileSpec> wanted_files(const registry::ResolvedModel& model) {
  std::vector<registry::FileSpec> files;
  for (const auto& file : model.files)
    if (!file.optional) files.push_back(file);
  return files;
}

std::string url_for(const registry::SourceSpec& source, const registry::FileSpec& file, size_t index) {
  if (index == 0 || file.path == source.path) return source.url;
  std::string folder = source.url.substr(0, source.url.rfind('/') + 1);
  return folder + url_encode(file.path, true);
}

std::string commit_for(const HubCache& cache, const std::string& repo, const registry::SourceSpec& source,
                       const std::vector<registry::FileSpec>& files) {
  if (source.kind != registry::SourceKind::hf) return pseudo_commit(source, files);
  if (is_commit_hash(source.revision)) return source.revision;
  return cache.read_ref(repo, source.revision).value_or("");
}

// Everything already cached with the catalogue's sha256s: answered without any request.
bool all_cached(const HubCache& cache, const registry::CatalogueEntry& entry, const registry::SourceSpec& source,
                const std::vector<registry::FileSpec>& files, PullResult& result) {
  std::string repo = cache_repo_for(entry, source);
  PullResult found{repo, source.revision, commit_for(cache, repo, source, files), {}};
  if (found.commit.empty()) return false;
  for (const auto& file : files) {
    if (file.sha256.empty()) return false;
    auto etag = cache.snapshot_etag(repo, found.commit, file.path);
    if (!etag) return false;
    // LFS blobs are named by their sha256; a git-sha1-named blob is small: hash it.
    std::string sha256 = etag->size() == 64 ? *etag : verify_blob_file(cache.blob_path(repo, *etag), "");
    if (sha256 != file.sha256) return false;
    PulledFile pulled;
    pulled.path = file.path;
    pulled.local = cache.snapshot_path(repo, found.commit, file.path);
    pulled.sha256 = sha256;
    pulled.size = fs::file_size(cache.blob_path(repo, *etag));
    found.files.push_back(pulled);
  }
  result = std::move(found);
  return true;
}

// Copies a bundled file into a verified blob (the copy is checked, then renamed into place).
void install_bundled_blob(const HubCache& cache, const std::string& repo, const fs::path& source,
                          const std::string& sha256) {
  fs::path blob = cache.blob_path(repo, sha256);
  std::error_code error;
  if (fs::is_regular_file(blob, error)) return;
  fs::create_directories(blob.parent_path());
  fs::path partial = blob.string() + ".incomplete." + std::to_string(::getpid());
  fs::copy_file(source, partial, fs::copy_options::overwrite_existing, error);
  if (error) throw_error(ErrorCategory::io, source.string() + ": cannot copy into the cache: " + error.message());
  try {
    verify_blob_file(partial, sha256);
  } catch (...) {
    fs::remove(partial, error);
    throw;
  }
  fs::rename(partial, blob, error);
  if (error) throw_error(ErrorCategory::io, blob.string() + ": cannot install: " + error.message());
}

}  // namespace

std::string cache_repo_for(const registry::CatalogueEntry& entry, const registry::SourceSpec& source) {
  switch (source.kind) {
    case registry::SourceKind::hf: return source.repo;
    case registry::SourceKind::url: return "mhub-url/" + safe_name(entry.name);
    case registry::SourceKind::bundled: return "mhub-bundled/" + safe_name(entry.name);
  }
  return source.repo;
}

std::optional<fs::path> cached_model_file(const HubCache& cache, const registry::CatalogueEntry& entry,
                                          const registry::SourceSpec& source, const registry::FileSpec& file) {
  if (source.kind == registry::SourceKind::bundled) {
    fs::path path = entry.base_dir / file.path;
    std::error_code error;
    if (fs::is_regular_file(path, error)) return path;
    return std::nullopt;
  }
  std::string repo = cache_repo_for(entry, source);
  std::vector<registry::FileSpec> files{file};
  std::string commit;
  if (source.kind == registry::SourceKind::hf) {
    commit = commit_for(cache, repo, source, files);
  } else {
    // The pseudo-commit depends on every file of the entry.
    std::vector<registry::FileSpec> all;
    for (const auto& f : entry.files)
      if (!f.optional) all.push_back(f);
    commit = pseudo_commit(source, all);
  }
  if (commit.empty()) return std::nullopt;
  fs::path path = cache.snapshot_path(repo, commit, file.path);
  std::error_code error;
  if (!fs::is_symlink(path, error)) {
    // huggingface_hub copies files into snapshots/ where symlinks are not available; trust the
    // size there (hashing every file on each lookup would be too slow).
    if (!fs::is_regular_file(path, error)) return std::nullopt;
    if (file.size >= 0 && fs::file_size(path, error) != static_cast<uint64_t>(file.size)) return std::nullopt;
    return path;
  }
  auto etag = cache.snapshot_etag(repo, commit, file.path);
  if (!etag) return std::nullopt;
  if (!file.sha256.empty() && etag->size() == 64 && *etag != file.sha256) return std::nullopt;
  return path;
}

PullResult pull_model(const PullOptions& given, const registry::ResolvedModel& model, bool endpoint_forced) {
  const registry::CatalogueEntry& entry = *model.entry;
  const registry::SourceSpec& source = model.source;
  PullOptions options = given;
  if (source.kind == registry::SourceKind::hf && !source.endpoint.empty() && !endpoint_forced)
    options.http.endpoint = source.endpoint;
  while (!options.http.endpoint.empty() && options.http.endpoint.back() == '/') options.http.endpoint.pop_back();
  HubCache cache(options.cache_dir.empty() ? default_cache_dir() : options.cache_dir);
  std::vector<registry::FileSpec> files = wanted_files(model);
  if (files.empty()) throw_error(ErrorCategory::format, entry.origin + ": entry '" + entry.name + "' lists no files");
  PullResult result;
  if (all_cached(cache, entry, source, files, result)) return result;

  std::string repo = cache_repo_for(entry, source);
  if (source.kind == registry::SourceKind::hf) {
    std::vector<std::string> paths;
    std::map<std::string, std::string> expected;
    for (const auto& file : files) {
      paths.push_back(file.path);
      if (!file.sha256.empty()) expected[file.path] = file.sha256;
    }
    result = pull_hf(options, repo, source.revision, paths, expected);
    return result;
  }

  if (options.http.offline && source.kind == registry::SourceKind::url)
    throw_error(ErrorCategory::network, "offline mode: '" + entry.name + "' is not (completely) in the cache " +
                                            cache.root().string() + "; pull it once online");
  result.repo = repo;
  result.revision = "main";
  // Name blobs by sha256; a bundled file without one is hashed here first.
  for (auto& file : files) {
    if (!file.sha256.empty()) continue;
    if (source.kind == registry::SourceKind::url)
      throw_error(ErrorCategory::unsupported, entry.origin + ": entry '" + entry.name + "': file '" + file.path +
                                                  "' has no sha256; mhub only pulls URL files it can verify");
    file.sha256 = verify_blob_file(entry.base_dir / file.path, "");
  }
  result.commit = pseudo_commit(source, files);
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& file = files[i];
    PulledFile pulled;
    pulled.path = file.path;
    pulled.sha256 = file.sha256;
    if (source.kind == registry::SourceKind::bundled) {
      install_bundled_blob(cache, repo, entry.base_dir / file.path, file.sha256);
    } else {
      std::string url = url_for(source, file, i);
      uint64_t size = file.size >= 0 ? static_cast<uint64_t>(file.size) : 0;
      if (file.size < 0) {
        HttpResponse head = http_request(options.http, "HEAD", url, RedirectRule::follow);
        std::string length = head.header("content-length");
        if (head.status == 404)
          throw_error(ErrorCategory::not_found, mask_secrets(url, options.http) + ": HTTP 404 (file '" + file.path +
                                                    "' of catalogue entry '" + entry.name + "'); check the entry's URL");
        if (head.status != 200 || length.empty())
          throw_error(ErrorCategory::network, mask_secrets(url, options.http) + ": HEAD answered HTTP " +
                                                  std::to_string(head.status) + " without a size; check the URL");
        size = std::stoull(length);
      }
      DownloadOptions download = options.download;
      download.label = file.path;
      BlobResult blob = ensure_blob(options.http, cache, BlobRequest{repo, file.sha256, size, url}, download);
      pulled.fetched_bytes = blob.fetched_bytes;
    }
    cache.link_snapshot(repo, result.commit, file.path, file.sha256);
    pulled.local = cache.snapshot_path(repo, result.commit, file.path);
    pulled.size = fs::file_size(cache.blob_path(repo, file.sha256));
    result.files.push_back(pulled);
  }
  cache.write_ref(repo, "main", result.commit);
  return result;
}

}  // namespace mhub::hub
