// `mhub pull`: files of a Hugging Face repo into the shared cache, by the Hub's protocol.
//
// Network rules: in offline mode nothing is requested and a missing file is an error naming it.
// A pinned revision (a 40-hex commit) whose files are all in the cache is answered from the
// cache with zero requests (as huggingface_hub does). Otherwise one HEAD per file (plus one
// listing request when a pattern has wildcards), then downloads of the blobs not yet cached.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hub/download.h"
#include "hub/http.h"

namespace mhub::hub {

struct PullOptions {
  HttpConfig http;
  std::filesystem::path cache_dir;  // default_cache_dir() unless set
  DownloadOptions download;
};

struct PulledFile {
  std::string path;                 // inside the repo
  std::filesystem::path local;      // snapshots/<commit>/<path> in the cache
  std::string sha256;
  uint64_t size = 0;
  uint64_t fetched_bytes = 0;       // 0 when it came from the cache
};

struct PullResult {
  std::string repo, revision, commit;
  std::vector<PulledFile> files;
};

// "hf:ORG/REPO[@REV][:GLOB]" → parts. Throws Error(usage) on malformed text.
struct HfTarget {
  std::string repo;
  std::string revision = "main";
  std::string pattern;  // empty: every file
};
HfTarget parse_hf_target(const std::string& text);

// fnmatch-style: '*' and '?' also match '/', as huggingface_hub's allow_patterns do.
bool pattern_matches(const std::string& pattern, const std::string& path);
bool has_wildcards(const std::string& pattern);

// Pulls the files matching `patterns` (literal paths or globs; empty = every file).
// `expected_sha256` (path → sha256, e.g. from the catalogue): checked against the Hub's
// X-Linked-Etag before downloading and against the computed sha256 after; Error(integrity) on
// a mismatch.
PullResult pull_hf(const PullOptions& options, const std::string& repo, const std::string& revision,
                   const std::vector<std::string>& patterns,
                   const std::map<std::string, std::string>& expected_sha256 = {});

// The environment's settings: HF_ENDPOINT, HF_TOKEN (else HF_TOKEN_PATH or $HF_HOME/token),
// HF_HUB_OFFLINE, MHUB_CONNECTIONS, MHUB_CHUNK_BYTES, MHUB_LEASE_STALE_S.
PullOptions pull_options_from_env();

}  // namespace mhub::hub
