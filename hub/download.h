// Fetching one blob into the cache: parallel ranged GETs over several connections (libcurl
// multi), resumable across crashes, verified before it is installed.
//
// Files (see cache.h): blobs/<etag>.incomplete is written in place at each range's offset;
// blobs/<etag>.incomplete.ranges records, after every finished chunk, which chunks are on disk.
// A rerun after kill -9 fetches only chunks not recorded. A partial file without a record (as
// huggingface_hub leaves them: a sequential prefix) counts its whole chunks as done.
// The sha256 (and, for 40-hex etags, the git blob sha1) is computed while bytes arrive; the
// .incomplete file is renamed to blobs/<etag> only when the checksum equals the etag. On a
// mismatch nothing is installed, the partial files are removed, and Error(integrity) is thrown.
// One process per blob transfers (lease.h); the others wait and reuse its result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "hub/cache.h"
#include "hub/http.h"
#include "hub/lease.h"
#include "hub/progress.h"

namespace mhub::hub {

struct BlobRequest {
  std::string repo;  // the cache repo id
  std::string etag;  // blob name and checksum: 64 hex = sha256, 40 hex = git blob sha1
  uint64_t size = 0;
  std::string url;   // where to GET the bytes
};

struct DownloadOptions {
  int connections = 8;                // MHUB_CONNECTIONS / --connections
  uint64_t chunk_bytes = 16ull << 20; // resume and scheduling unit
  ProgressSink* progress = nullptr;   // not owned; may be null
  std::string label;                  // what the progress line shows
  LeaseOptions lease;
};

struct BlobResult {
  std::filesystem::path blob;
  std::string sha256;
  uint64_t fetched_bytes = 0;  // body bytes received over the network in this call
  bool reused = false;         // the blob was already there (or another process fetched it)
};

// Makes sure blobs/<etag> exists and is verified; downloads it if needed. Throws mhub::Error:
// network (after retries), io (disk full, permissions; free space is checked first),
// integrity (checksum or size mismatch).
BlobResult ensure_blob(const HttpConfig& http, const HubCache& cache, const BlobRequest& request,
                       const DownloadOptions& options);

}  // namespace mhub::hub
