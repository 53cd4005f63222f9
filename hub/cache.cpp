#include "hub/cache.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/printable.h"
#include "common/safe_path.h"
#include "hub/hashing.h"
#include "hub/lease.h"

namespace fs = std::filesystem;

namespace mhub::hub {

fs::path default_cache_dir() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value && *value ? value : "";
  };
  if (!env("HF_HUB_CACHE").empty()) return env("HF_HUB_CACHE");
  if (!env("HUGGINGFACE_HUB_CACHE").empty()) return env("HUGGINGFACE_HUB_CACHE");
  if (!env("HF_HOME").empty()) return fs::path(env("HF_HOME")) / "hub";
  if (!env("XDG_CACHE_HOME").empty()) return fs::path(env("XDG_CACHE_HOME")) / "huggingface" / "hub";
  if (!env("HOME").empty()) return fs::path(env("HOME")) / ".cache" / "huggingface" / "hub";
  throw_error(ErrorCategory::usage, "no cache folder: set HF_HUB_CACHE or HF_HOME");
}

void check_repo_path(const std::string& path) {
  check_path_grammar(path, PathGrammar::relative_path, "file path inside a repo", ErrorCategory::format);
}

namespace {

// Backstops: every name the cache builds a path from fits its grammar, whoever supplied it
// (callers that know the source check earlier with the fitting category and message).
void check_repo_folder_id(const std::string& repo, ErrorCategory category = ErrorCategory::format) {
  size_t slash = repo.find('/');
  std::string what = "repo id '" + printable(repo) + "': part";
  check_path_grammar(repo.substr(0, slash), PathGrammar::name, what, category);
  if (slash != std::string::npos) check_path_grammar(repo.substr(slash + 1), PathGrammar::name, what, category);
}

void check_blob_name(const std::string& etag) {
  check_path_grammar(etag, PathGrammar::name, "blob name (etag)", ErrorCategory::format);
}

void check_commit_name(const std::string& commit) {
  check_path_grammar(commit, PathGrammar::name, "commit", ErrorCategory::format);
}

}  // namespace

HubCache::HubCache(fs::path root) : root_(std::move(root)) {}

std::string HubCache::folder_name(const std::string& repo) {
  std::string name = "models--";
  for (char c : repo) {
    if (c == '/') name += "--";
    else name += c;
  }
  return name;
}

fs::path HubCache::repo_dir(const std::string& repo) const {
  check_repo_folder_id(repo);
  return root_ / folder_name(repo);
}

fs::path HubCache::blob_path(const std::string& repo, const std::string& etag) const {
  check_blob_name(etag);
  return repo_dir(repo) / "blobs" / etag;
}

fs::path HubCache::incomplete_path(const std::string& repo, const std::string& etag) const {
  check_blob_name(etag);
  return repo_dir(repo) / "blobs" / (etag + ".incomplete");
}

fs::path HubCache::lease_path(const std::string& repo, const std::string& etag) const {
  check_blob_name(etag);
  check_repo_folder_id(repo);
  return root_ / ".locks" / folder_name(repo) / (etag + ".mhub-lease");
}

fs::path HubCache::snapshot_path(const std::string& repo, const std::string& commit, const std::string& file) const {
  check_commit_name(commit);
  check_repo_path(file);
  return repo_dir(repo) / "snapshots" / commit / file;
}

fs::path HubCache::no_exist_path(const std::string& repo, const std::string& commit, const std::string& file) const {
  check_commit_name(commit);
  check_repo_path(file);
  return repo_dir(repo) / ".no_exist" / commit / file;
}

fs::path HubCache::inside(const fs::path& path) const {
  return check_inside(root_, path, "cache path", ErrorCategory::format);
}

std::optional<std::string> HubCache::read_ref(const std::string& repo, const std::string& revision) const {
  check_path_grammar(revision, PathGrammar::ref, "revision", ErrorCategory::usage);
  fs::path file = repo_dir(repo) / "refs" / revision;
  std::error_code error;
  if (!fs::is_regular_file(file, error)) return std::nullopt;
  std::string commit = read_whole_file(file);
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  // A ref that does not hold a commit name is treated as absent: its content becomes a path.
  if (!path_grammar_problem(commit, PathGrammar::name).empty()) return std::nullopt;
  return commit;
}

void HubCache::write_ref(const std::string& repo, const std::string& revision, const std::string& commit) const {
  check_commit_name(commit);
  if (read_ref(repo, revision) == commit) return;
  fs::path file = inside(repo_dir(repo) / "refs" / revision);
  fs::create_directories(file.parent_path());
  write_file_atomically(file, commit);
}

void HubCache::link_snapshot(const std::string& repo, const std::string& commit, const std::string& file,
                             const std::string& etag) const {
  check_blob_name(etag);
  fs::path link = inside(snapshot_path(repo, commit, file));
  fs::create_directories(link.parent_path());
  std::string target = "../../";
  for (char c : file)
    if (c == '/') target += "../";
  target += "blobs/" + etag;
  std::error_code error;
  if (fs::is_symlink(link, error) && fs::read_symlink(link, error).string() == target) return;
  // A symlink under a temporary name, renamed over the old one: readers see old or new, never none.
  std::string temporary = link.string() + ".tmp-" + std::to_string(::getpid());
  ::unlink(temporary.c_str());
  if (::symlink(target.c_str(), temporary.c_str()) != 0)
    throw_error(ErrorCategory::io, link.string() + ": cannot create symlink: " + std::strerror(errno));
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    throw_error(ErrorCategory::io, link.string() + ": cannot install symlink: " + std::strerror(err));
  }
}

void HubCache::mark_missing(const std::string& repo, const std::string& commit, const std::string& file) const {
  fs::path marker = inside(no_exist_path(repo, commit, file));
  fs::create_directories(marker.parent_path());
  std::error_code error;
  if (!fs::exists(marker, error)) write_file_atomically(marker, "");
}

bool HubCache::is_marked_missing(const std::string& repo, const std::string& commit, const std::string& file) const {
  std::error_code error;
  return fs::exists(no_exist_path(repo, commit, file), error);
}

std::optional<std::string> HubCache::snapshot_etag(const std::string& repo, const std::string& commit,
                                                   const std::string& file) const {
  fs::path link = snapshot_path(repo, commit, file);
  std::error_code error;
  if (!fs::is_symlink(link, error)) return std::nullopt;
  fs::path target = fs::read_symlink(link, error);
  if (error) return std::nullopt;
  std::string etag = target.filename().string();
  if (!fs::is_regular_file(blob_path(repo, etag), error)) return std::nullopt;
  return etag;
}

namespace {

std::string repo_from_folder(const std::string& folder) {
  std::string rest = folder.substr(std::string("models--").size());
  size_t split = rest.find("--");
  if (split == std::string::npos) return rest;
  return rest.substr(0, split) + "/" + rest.substr(split + 2);
}

uint64_t file_size_or_zero(const fs::path& path) {
  std::error_code error;
  uint64_t size = fs::file_size(path, error);
  return error ? 0 : size;
}

bool is_partial_download_file(const std::string& name) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".incomplete") || ends_with(".incomplete.ranges");
}

CachedRepo scan_repo(const HubCache& cache, const fs::path& folder) {
  CachedRepo repo;
  repo.folder = folder;
  repo.repo = repo_from_folder(folder.filename().string());
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder / "blobs", error)) {
    std::string name = entry.path().filename().string();
    if (is_partial_download_file(name)) repo.incomplete_bytes += file_size_or_zero(entry.path());
    else if (entry.is_regular_file()) repo.blob_bytes += file_size_or_zero(entry.path());
  }
  std::map<std::string, std::vector<std::string>> refs_by_commit;
  fs::path refs = folder / "refs";
  for (auto it = fs::recursive_directory_iterator(refs, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().lexically_relative(refs).string();
    if (!path_grammar_problem(name, PathGrammar::ref).empty()) continue;  // not one mhub or Python wrote
    if (auto commit = cache.read_ref(repo.repo, name)) refs_by_commit[*commit].push_back(name);
  }
  for (const auto& snapshot : fs::directory_iterator(folder / "snapshots", error)) {
    CachedSnapshot cached;
    cached.commit = snapshot.path().filename().string();
    cached.refs = refs_by_commit[cached.commit];
    std::error_code walk_error;
    for (auto it = fs::recursive_directory_iterator(snapshot.path(), walk_error);
         !walk_error && it != fs::recursive_directory_iterator(); it.increment(walk_error)) {
      if (it->is_directory() && !it->is_symlink()) continue;
      CachedFile file;
      file.path = it->path().lexically_relative(snapshot.path()).string();
      std::error_code link_error;
      fs::path target = fs::read_symlink(it->path(), link_error);
      if (!link_error) {
        file.etag = target.filename().string();
        fs::path blob = folder / "blobs" / file.etag;
        file.present = fs::is_regular_file(blob, link_error);
        file.size = file_size_or_zero(blob);
      } else {
        file.present = it->is_regular_file();  // a copy instead of a link (Windows-style cache)
        file.size = file_size_or_zero(it->path());
      }
      cached.files.push_back(file);
    }
    repo.snapshots.push_back(cached);
  }
  return repo;
}

std::set<std::string> linked_blobs(const CachedRepo& repo) {
  std::set<std::string> linked;
  for (const auto& snapshot : repo.snapshots)
    for (const auto& file : snapshot.files)
      if (!file.etag.empty()) linked.insert(file.etag);
  return linked;
}

void remove_path(const HubCache& cache, const fs::path& given, PruneReport& report) {
  fs::path path = cache.inside(given);
  std::error_code error;
  uint64_t bytes = 0;
  if (fs::is_directory(path, error) && !fs::is_symlink(path, error)) {
    for (auto it = fs::recursive_directory_iterator(path, error); !error && it != fs::recursive_directory_iterator();
         it.increment(error))
      if (it->is_regular_file() && !it->is_symlink()) bytes += file_size_or_zero(it->path());
  } else if (!fs::is_symlink(path, error)) {
    bytes = file_size_or_zero(path);
  }
  fs::remove_all(path, error);
  if (error) throw_error(ErrorCategory::io, path.string() + ": cannot remove: " + error.message());
  report.freed_bytes += bytes;
  report.removed.push_back(given.lexically_relative(cache.root()).string());
}

// Removes blobs that no snapshot links to any more.
void remove_unlinked_blobs(const HubCache& cache, const CachedRepo& repo, PruneReport& report) {
  std::set<std::string> linked = linked_blobs(repo);
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(repo.folder / "blobs", error)) {
    std::string name = entry.path().filename().string();
    if (!is_partial_download_file(name) && !linked.count(name)) remove_path(cache, entry.path(), report);
  }
}

}  // namespace

std::vector<CachedRepo> HubCache::scan() const {
  std::vector<CachedRepo> repos;
  std::error_code error;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(root_, error)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("models--", 0) != 0) continue;
    std::string repo = repo_from_folder(name);
    size_t slash = repo.find('/');
    bool fits = path_grammar_problem(repo.substr(0, slash), PathGrammar::name).empty() &&
                (slash == std::string::npos || path_grammar_problem(repo.substr(slash + 1), PathGrammar::name).empty());
    if (fits) folders.push_back(entry.path());  // a folder no repo id names is left alone
  }
  std::sort(folders.begin(), folders.end());
  for (const auto& folder : folders) repos.push_back(scan_repo(*this, folder));
  return repos;
}

std::vector<VerifyProblem> HubCache::verify(const std::string& only_repo) const {
  std::vector<VerifyProblem> problems;
  for (const CachedRepo& repo : scan()) {
    if (!only_repo.empty() && repo.repo != only_repo) continue;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(repo.folder / "blobs", error)) {
      std::string name = entry.path().filename().string();
      if (is_partial_download_file(name) || !is_verifiable_etag(name)) continue;
      try {
        verify_blob_file(entry.path(), name);
      } catch (const Error& failure) {
        problems.push_back({repo.repo, failure.what()});
      }
    }
    for (const auto& snapshot : repo.snapshots)
      for (const auto& file : snapshot.files)
        if (!file.present)
          problems.push_back({repo.repo, "snapshots/" + snapshot.commit + "/" + file.path +
                                             ": points to a missing blob; pull it again"});
  }
  return problems;
}

PruneReport HubCache::remove(const std::string& repo, const std::string& revision) const {
  PruneReport report;
  check_repo_folder_id(repo, ErrorCategory::usage);
  fs::path folder = repo_dir(repo);
  std::error_code error;
  if (!fs::is_directory(folder, error))
    throw_error(ErrorCategory::usage, "'" + repo + "' is not in the cache at " + root_.string() +
                                          "; see 'mhub cache ls'");
  if (revision.empty()) {
    remove_path(*this, folder, report);
    return report;
  }
  check_path_grammar(revision, PathGrammar::ref, "--revision", ErrorCategory::usage);
  std::string commit = read_ref(repo, revision).value_or(revision);
  check_path_grammar(commit, PathGrammar::name, "--revision (a commit or a ref name)", ErrorCategory::usage);
  if (!fs::is_directory(folder / "snapshots" / commit, error))
    throw_error(ErrorCategory::usage, "revision '" + revision + "' of '" + repo + "' is not in the cache");
  remove_path(*this, folder / "snapshots" / commit, report);
  std::vector<fs::path> stale_refs;  // collected first: removing while iterating is undefined
  for (auto it = fs::recursive_directory_iterator(folder / "refs", error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (it->is_regular_file() && read_whole_file(it->path()) == commit) stale_refs.push_back(it->path());
  }
  for (const auto& ref : stale_refs) remove_path(*this, ref, report);
  remove_unlinked_blobs(*this, scan_repo(*this, folder), report);
  return report;
}

PruneReport HubCache::prune() const {
  PruneReport report;
  for (const CachedRepo& repo : scan()) {
    remove_unlinked_blobs(*this, repo, report);
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(repo.folder / "blobs", error)) {
      std::string name = entry.path().filename().string();
      if (!is_partial_download_file(name)) continue;
      std::string etag = name.substr(0, name.find(".incomplete"));
      if (!path_grammar_problem(etag, PathGrammar::name).empty()) continue;  // not a download of ours
      if (lease_is_live(lease_path(repo.repo, etag))) continue;  // a download is running
      remove_path(*this, entry.path(), report);
    }
  }
  return report;
}

}  // namespace mhub::hub
