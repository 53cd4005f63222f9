// The Hugging Face Hub's download protocol, as huggingface_hub speaks it.
//
// - File metadata: HEAD {endpoint}/{repo}/resolve/{revision}/{path} with Accept-Encoding:
//   identity. Relative redirects (renamed repos) are followed; the metadata is read from the
//   first response that is not one: a 200, or a 3xx with an absolute Location (to the CDN, or to
//   the same host as self-hosted mirrors write it), as huggingface_hub reads it. Its Location is
//   the download URL (redirects are followed for the body only). X-Repo-Commit is the commit;
//   X-Linked-Etag (LFS: sha256) else ETag (git blob sha1) names the blob; X-Linked-Size else
//   Content-Length is its size.
// - Errors: every 404 is ErrorCategory::not_found (exit 8) naming repo, revision and file:
//   X-Error-Code RepoNotFound / RevisionNotFound say which part is missing, a plain 404 (no
//   code, as simple mirrors answer) names all three. EntryNotFound is not thrown here: it is
//   reported as `exists == false` so the cache can record a .no_exist marker. 401/403 say to set
//   HF_TOKEN, or that the token given lacks access (GatedRepo: accept the terms); 429 and 5xx
//   are retried by http_request (Retry-After honoured).
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
