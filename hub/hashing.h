// Streaming checksums on OpenSSL EVP: sha256 of the contents, and optionally the git blob sha1
// (sha1 of "blob <size>\0" + contents) that the Hub uses as the ETag of non-LFS files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

struct evp_md_ctx_st;

namespace mhub::hub {

class BlobHasher {
 public:
  // git_blob_size: the total size when the git sha1 is wanted, -1 otherwise.
  explicit BlobHasher(int64_t git_blob_size = -1);
  ~BlobHasher();
  BlobHasher(const BlobHasher&) = delete;
  BlobHasher& operator=(const BlobHasher&) = delete;
  void update(const void* data, size_t size);
  uint64_t hashed() const { return hashed_; }
  std::string sha256_hex();    // finishes the sha256; call once
  std::string git_sha1_hex();  // finishes the git sha1; call once, only if requested

 private:
  evp_md_ctx_st* sha256_ = nullptr;
  evp_md_ctx_st* sha1_ = nullptr;
  uint64_t hashed_ = 0;
};

// Checks a finished file against a blob name: 64 hex digits = sha256, 40 = git sha1. Returns
// the sha256 of the file. Throws mhub::Error(integrity) on mismatch, (io) when unreadable.
std::string verify_blob_file(const std::filesystem::path& file, const std::string& etag);
// Whether a name can be verified (64 or 40 lower-case hex digits).
bool is_verifiable_etag(const std::string& etag);

}  // namespace mhub::hub
