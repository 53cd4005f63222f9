#include "hub/pull.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstdlib>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/printable.h"
#include "common/safe_path.h"
#include "hub/cache.h"
#include "hub/hashing.h"
#include "hub/hf_protocol.h"

namespace fs = std::filesystem;

namespace mhub::hub {

HfTarget parse_hf_target(const std::string& text) {
  if (text.rfind("hf:", 0) != 0)
    throw_error(ErrorCategory::usage, "'" + text + "' is not an hf: target; write hf:ORG/REPO[@REVISION][:GLOB]");
  std::string rest = text.substr(3);
  HfTarget target;
  size_t colon = rest.find(':');
  if (colon != std::string::npos) {
    target.pattern = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (target.pattern.empty())
      throw_error(ErrorCategory::usage, "'" + text + "': empty file pattern after ':'; drop the ':' to pull every file");
  }
  size_t at = rest.find('@');
  if (at != std::string::npos) {
    target.revision = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!path_grammar_problem(target.revision, PathGrammar::ref).empty())
      throw_error(ErrorCategory::usage, "'" + printable(text) + "': bad revision after '@' (" +
                                            path_grammar_problem(target.revision, PathGrammar::ref) +
                                            "); use a branch, tag or commit hash");
  }
  check_repo_id(rest);
  target.repo = rest;
  return target;
}

bool has_wildcards(const std::string& pattern) { return pattern.find_first_of("*?[") != std::string::npos; }

bool pattern_matches(const std::string& pattern, const std::string& path) {
  return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
}

PullOptions pull_options_from_env() {
  PullOptions options;
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value ? value : "";
  };
  if (!env("HF_ENDPOINT").empty()) options.http.endpoint = env("HF_ENDPOINT");
  while (!options.http.endpoint.empty() && options.http.endpoint.back() == '/') options.http.endpoint.pop_back();
  options.http.token = env("HF_TOKEN");
  if (options.http.token.empty()) options.http.token = env("HUGGING_FACE_HUB_TOKEN");
  if (options.http.token.empty()) {
    fs::path token_file = env("HF_TOKEN_PATH");
    if (token_file.empty()) {
      if (!env("HF_HOME").empty()) token_file = fs::path(env("HF_HOME")) / "token";
      else if (!env("HOME").empty()) token_file = fs::path(env("HOME")) / ".cache" / "huggingface" / "token";
    }
    std::error_code error;
    if (!token_file.empty() && fs::is_regular_file(token_file, error)) {
      std::string token = read_whole_file(token_file);
      token.erase(std::remove_if(token.begin(), token.end(), [](unsigned char c) { return std::isspace(c); }),
                  token.end());
      options.http.token = token;
    }
  }
  std::string offline = env("HF_HUB_OFFLINE");
  std::transform(offline.begin(), offline.end(), offline.begin(), [](unsigned char c) { return std::toupper(c); });
  options.http.offline = offline == "1" || offline == "ON" || offline == "YES" || offline == "TRUE";
  if (!env("MHUB_CONNECTIONS").empty()) options.download.connections = std::clamp(std::atoi(env("MHUB_CONNECTIONS").c_str()), 1, 64);
  if (!env("MHUB_CHUNK_BYTES").empty())
    options.download.chunk_bytes = std::max<uint64_t>(4096, std::strtoull(env("MHUB_CHUNK_BYTES").c_str(), nullptr, 10));
  options.download.lease = lease_options_from_env();
  return options;
}

namespace {

// Every file path under a snapshot folder, relative to it.
std::vector<std::string> snapshot_files(const fs::path& folder) {
  std::vector<std::string> files;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(folder, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error))
    if (!it->is_directory() || it->is_symlink()) files.push_back(it->path().lexically_relative(folder).string());
  std::sort(files.begin(), files.end());
  return files;
}

PulledFile cached_file(const HubCache& cache, const std::string& repo, const std::string& commit,
                       const std::string& path, const std::string& etag) {
  PulledFile file;
  file.path = path;
  file.local = cache.snapshot_path(repo, commit, path);
  fs::path blob = cache.blob_path(repo, etag);
  file.size = fs::file_size(blob);
  // An LFS blob is named by its sha256; a small git blob is hashed here (it is small).
  file.sha256 = etag.size() == 64 ? etag : verify_blob_file(blob, "");
  return file;
}

// Offline, or a pinned commit already complete: everything from the cache. Returns false (and
// leaves `result` untouched) only when `must` is false and something is missing.
bool pull_from_cache(const HubCache& cache, const std::string& repo, const std::string& revision,
                     const std::vector<std::string>& patterns, bool must, PullResult& result) {
  std::string why_offline = "offline mode (--offline or HF_HUB_OFFLINE=1)";
  std::string commit = is_commit_hash(revision) ? revision : cache.read_ref(repo, revision).value_or("");
  if (commit.empty()) {
    if (!must) return false;
    throw_error(ErrorCategory::network, why_offline + ": revision '" + revision + "' of '" + repo +
                                            "' is not in the cache " + cache.root().string() +
                                            "; pull it once online, or name a cached revision");
  }
  std::vector<std::string> wanted;
  bool any_wildcard = patterns.empty();
  for (const auto& pattern : patterns) any_wildcard = any_wildcard || has_wildcards(pattern);
  if (any_wildcard) {
    // Without the listing, a pattern can only be answered from the cache, and only offline.
    if (!must) return false;
    for (const auto& path : snapshot_files(cache.repo_dir(repo) / "snapshots" / commit)) {
      bool match = patterns.empty();
      for (const auto& pattern : patterns) match = match || pattern_matches(pattern, path);
      if (match) wanted.push_back(path);
    }
    if (wanted.empty())
      throw_error(ErrorCategory::network, why_offline + ": no cached file of '" + repo + "' at " + commit +
                                              " matches the pattern; pull it once online");
  } else {
    wanted = patterns;
  }
  PullResult found{repo, revision, commit, {}};
  for (const auto& path : wanted) {
    auto etag = cache.snapshot_etag(repo, commit, path);
    if (!etag) {
      if (!must) return false;
      if (cache.is_marked_missing(repo, commit, path))
        throw_error(ErrorCategory::not_found, "'" + path + "' does not exist in '" + repo + "' at " + commit +
                                              " (the Hub said so earlier)");
      throw_error(ErrorCategory::network, why_offline + ": '" + path + "' of '" + repo + "' at " + commit +
                                              " is not in the cache " + cache.root().string() +
                                              "; pull it once online");
    }
    found.files.push_back(cached_file(cache, repo, commit, path, *etag));
  }
  result = std::move(found);
  return true;
}

}  // namespace

PullResult pull_hf(const PullOptions& options, const std::string& repo, const std::string& revision,
                   const std::vector<std::string>& patterns, const std::map<std::string, std::string>& expected_sha256) {
  check_repo_id(repo);
  check_path_grammar(revision, PathGrammar::ref, "revision of '" + repo + "'", ErrorCategory::usage);
  for (const auto& pattern : patterns)
    if (!has_wildcards(pattern)) check_repo_path(pattern);
  HubCache cache(options.cache_dir.empty() ? default_cache_dir() : options.cache_dir);
  PullResult result;
  if (options.http.offline) {
    pull_from_cache(cache, repo, revision, patterns, true, result);
    return result;
  }
  if (is_commit_hash(revision) && pull_from_cache(cache, repo, revision, patterns, false, result)) return result;

  result.repo = repo;
  result.revision = revision;
  std::vector<std::string> wanted;
  bool any_wildcard = patterns.empty();
  for (const auto& pattern : patterns) any_wildcard = any_wildcard || has_wildcards(pattern);
  // Every request after the first names the commit, so a branch moving mid-pull cannot mix files.
  std::string pinned = revision;
  if (any_wildcard) {
    RepoListing listing = fetch_repo_listing(options.http, repo, revision);
    if (!is_commit_hash(listing.commit))
      throw_error(ErrorCategory::format, "the listing of '" + repo + "' names commit '" + printable(listing.commit) +
                                             "', not a 40-hex commit hash; refused");
    pinned = listing.commit;
    for (const auto& path : listing.files) {
      bool match = patterns.empty();
      for (const auto& pattern : patterns) match = match || pattern_matches(pattern, path);
      if (match) wanted.push_back(path);
    }
    if (wanted.empty())
      throw_error(ErrorCategory::usage, "no file of '" + repo + "' at '" + revision + "' matches the pattern; "
                                        "the repo has " + std::to_string(listing.files.size()) + " files");
  } else {
    wanted = patterns;
  }
  for (const auto& path : wanted) {
    check_repo_path(path);
    FileMetadata metadata = fetch_file_metadata(options.http, repo, pinned, path);
    // What the server says becomes file names: check it before any file is created.
    if (!metadata.commit.empty() && !is_commit_hash(metadata.commit))
      throw_error(ErrorCategory::format, resolve_url(options.http.endpoint, repo, pinned, path) +
                                             ": X-Repo-Commit '" + printable(metadata.commit) + "' is not a commit hash");
    if (!metadata.exists) {
      std::string commit = metadata.commit.empty() ? (is_commit_hash(pinned) ? pinned : "") : metadata.commit;
      if (!commit.empty()) cache.mark_missing(repo, commit, path);
      throw_error(ErrorCategory::not_found, "'" + path + "' does not exist in '" + repo + "' at revision '" + revision +
                                            "'; list the repo's files on the Hub, or use a :GLOB");
    }
    if (metadata.commit.empty())
      throw_error(ErrorCategory::format, resolve_url(options.http.endpoint, repo, pinned, path) +
                                             ": the answer has no X-Repo-Commit");
    if (!is_verifiable_etag(metadata.etag))
      throw_error(ErrorCategory::integrity, resolve_url(options.http.endpoint, repo, pinned, path) + ": etag '" +
                                             printable(metadata.etag) +
                                             "' is neither a sha256 nor a git sha1; mhub cannot verify it");
    auto expected = expected_sha256.find(path);
    if (expected != expected_sha256.end() && metadata.lfs() && metadata.etag != expected->second)
      throw_error(ErrorCategory::integrity, "'" + path + "' of '" + repo + "' at '" + revision + "': the Hub serves sha256 " +
                                               metadata.etag + " but the catalogue expects " + expected->second +
                                               "; nothing was downloaded. Fix the catalogue or pin the revision");
    pinned = metadata.commit;
    result.commit = metadata.commit;
    DownloadOptions download = options.download;
    download.label = path;
    BlobResult blob = ensure_blob(options.http, cache,
                                  BlobRequest{repo, metadata.etag, metadata.size, metadata.download_url}, download);
    if (expected != expected_sha256.end() && blob.sha256 != expected->second)
      throw_error(ErrorCategory::integrity, "'" + path + "' of '" + repo + "': sha256 " + blob.sha256 +
                                               " differs from the catalogue's " + expected->second +
                                               "; fix the catalogue or pin the revision");
    cache.link_snapshot(repo, metadata.commit, path, metadata.etag);
    PulledFile file;
    file.path = path;
    file.local = cache.snapshot_path(repo, metadata.commit, path);
    file.sha256 = blob.sha256;
    file.size = metadata.size;
    file.fetched_bytes = blob.fetched_bytes;
    result.files.push_back(file);
  }
  if (!is_commit_hash(revision)) cache.write_ref(repo, revision, result.commit);
  return result;
}

}  // namespace mhub::hub
