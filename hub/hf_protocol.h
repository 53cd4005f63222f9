// The Hugging Face Hub's download protocol, as huggingface_hub speaks it.
//
// - File metadata: HEAD {endpoint}/{repo}/resolve/{revision}/{path} with Accept-Encoding:
//   identity. Same-host redirects (renamed repos) are followed; a redirect to another host (the
//   CDN) is not: its response carries the metadata and its Location is the download URL.
//   X-Repo-Commit is the commit; X-Linked-Etag (LFS: sha256) else ETag (git blob sha1) names the
//   blob; X-Linked-Size else Content-Length is its size.
// - Errors: X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound / GatedRepo and HTTP
//   401/403 become mhub::Error with a message that says what to do. EntryNotFound is not an
//   error here: it is reported as `exists == false` so the cache can record a .no_exist marker.
// - Repo listing: GET {endpoint}/api/models/{repo}/revision/{revision} → {"sha", "siblings":
//   [{"rfilename"}]}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/http.h"

namespace mhub::hub {

struct FileMetadata {
  bool exists = true;        // false: the Hub answered EntryNotFound (commit may still be set)
  std::string commit;        // X-Repo-Commit
  std::string etag;          // without quotes or W/ prefix
  uint64_t size = 0;
  std::string download_url;  // where to GET the bytes (the CDN for LFS files)
  bool lfs() const { return etag.size() == 64; }
};

struct RepoListing {
  std::string commit;
  std::vector<std::string> files;  // rfilename of every sibling, in the API's order
};

std::string resolve_url(const std::string& endpoint, const std::string& repo, const std::string& revision,
                        const std::string& path);
FileMetadata fetch_file_metadata(const HttpConfig& config, const std::string& repo, const std::string& revision,
                                 const std::string& path);
RepoListing fetch_repo_listing(const HttpConfig& config, const std::string& repo, const std::string& revision);
// Parses the API's JSON (exposed for tests). `source` names where it came from in errors.
RepoListing parse_repo_listing(const std::string& json_text, const std::string& source);
// Strips quotes and a weak "W/" prefix from an ETag header value.
std::string normalize_etag(const std::string& value);
// True for a full 40-hex-digit commit hash.
bool is_commit_hash(const std::string& revision);
// Validates "org/name" (or "name"): letters, digits, '-', '_', '.', one '/' at most, no "..".
void check_repo_id(const std::string& repo);

}  // namespace mhub::hub
