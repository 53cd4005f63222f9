// The Hugging Face cache layout, shared with Python's huggingface_hub:
//
//   <root>/models--ORG--NAME/blobs/<etag>                      file contents (etag: sha256 for LFS
//                                                               files, git blob sha1 for others)
//   <root>/models--ORG--NAME/snapshots/<commit>/<path>          relative symlink ../../blobs/<etag>
//                                                               (one more ../ per folder in path)
//   <root>/models--ORG--NAME/refs/<revision>                   the commit hash, no newline
//   <root>/models--ORG--NAME/.no_exist/<commit>/<path>         empty: the Hub said "no such file"
//   <root>/models--ORG--NAME/blobs/<etag>.incomplete           a download in progress (mhub also keeps
//                                                               <etag>.incomplete.ranges beside it)
//   <root>/.locks/models--ORG--NAME/<etag>.mhub-lease          which process downloads that blob
//
// <root> is HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. Non-Hub sources use the same layout under their own repo id.
// Invariant: a snapshot entry only ever points at a blob whose checksum was verified.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mhub::hub {

std::filesystem::path default_cache_dir();

struct CachedFile {
  std::string path;      // inside the repo
  std::string etag;      // blob name ("" when the link is broken)
  uint64_t size = 0;
  bool present = false;  // the blob exists
};

struct CachedSnapshot {
  std::string commit;
  std::vector<std::string> refs;  // revision names pointing at this commit
  std::vector<CachedFile> files;
};

struct CachedRepo {
  std::string repo;  // "org/name"
  std::filesystem::path folder;
  uint64_t blob_bytes = 0;  // finished blobs only
  uint64_t incomplete_bytes = 0;
  std::vector<CachedSnapshot> snapshots;
};

struct VerifyProblem {
  std::string repo;
  std::string what;  // names the file and the problem
};

struct PruneReport {
  uint64_t freed_bytes = 0;
  std::vector<std::string> removed;  // paths relative to the cache root
};

class HubCache {
 public:
  explicit HubCache(std::filesystem::path root);
  const std::filesystem::path& root() const { return root_; }

  static std::string folder_name(const std::string& repo);  // "models--org--name"
  std::filesystem::path repo_dir(const std::string& repo) const;
  std::filesystem::path blob_path(const std::string& repo, const std::string& etag) const;
  std::filesystem::path incomplete_path(const std::string& repo, const std::string& etag) const;
  std::filesystem::path lease_path(const std::string& repo, const std::string& etag) const;
  std::filesystem::path snapshot_path(const std::string& repo, const std::string& commit,
                                      const std::string& file) const;
  std::filesystem::path no_exist_path(const std::string& repo, const std::string& commit,
                                      const std::string& file) const;

  std::optional<std::string> read_ref(const std::string& repo, const std::string& revision) const;
  void write_ref(const std::string& repo, const std::string& revision, const std::string& commit) const;
  // Makes snapshots/<commit>/<file> a relative symlink to the blob (replacing any older link
  // atomically). The blob must exist.
  void link_snapshot(const std::string& repo, const std::string& commit, const std::string& file,
                     const std::string& etag) const;
  void mark_missing(const std::string& repo, const std::string& commit, const std::string& file) const;
  bool is_marked_missing(const std::string& repo, const std::string& commit, const std::string& file) const;
  // The blob name a snapshot entry points to, if it is a link into blobs/ whose blob exists.
  std::optional<std::string> snapshot_etag(const std::string& repo, const std::string& commit,
                                           const std::string& file) const;

  // `path` resolved, when it lies inside the cache root; throws Error(format) otherwise. Every
  // write and removal goes through it.
  std::filesystem::path inside(const std::filesystem::path& path) const;

  std::vector<CachedRepo> scan() const;
  // Re-hashes every blob (sha256 for 64-hex names, git sha1 for 40-hex names) and checks links.
  std::vector<VerifyProblem> verify(const std::string& only_repo = "") const;
  // Removes a whole repo, or one of its revisions (ref name or commit) and blobs nobody else uses.
  PruneReport remove(const std::string& repo, const std::string& revision = "") const;
  // Removes snapshots no ref points to, blobs no snapshot links to, and abandoned partial
  // downloads (whose lease is gone).
  PruneReport prune() const;

 private:
  std::filesystem::path root_;
};

// Rejects file paths that could leave the snapshot folder (PathGrammar::relative_path).
// Path builders above check their names too: repo ids, commits and etags fit PathGrammar::name,
// revisions PathGrammar::ref; anything else throws Error(format) before any file-system call.
void check_repo_path(const std::string& path);

}  // namespace mhub::hub
