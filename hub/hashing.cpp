#include "hub/hashing.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.h"

namespace mhub::hub {

namespace {
std::string finish_hex(EVP_MD_CTX* context) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context, digest, &length) != 1)
    throw_error(ErrorCategory::internal, __FILE__ ": EVP_DigestFinal_ex failed");
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 15];
  }
  return text;
}

EVP_MD_CTX* start(const EVP_MD* algorithm) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (!context || EVP_DigestInit_ex(context, algorithm, nullptr) != 1)
    throw_error(ErrorCategory::internal, __FILE__ ": EVP_DigestInit_ex failed");
  return context;
}
}  // namespace

BlobHasher::BlobHasher(int64_t git_blob_size) {
  sha256_ = start(EVP_sha256());
  if (git_blob_size >= 0) {
    sha1_ = start(EVP_sha1());
    std::string header = "blob " + std::to_string(git_blob_size);
    EVP_DigestUpdate(sha1_, header.data(), header.size() + 1);  // with the terminating NUL
  }
}

BlobHasher::~BlobHasher() {
  EVP_MD_CTX_free(sha256_);
  EVP_MD_CTX_free(sha1_);
}

void BlobHasher::update(const void* data, size_t size) {
  EVP_DigestUpdate(sha256_, data, size);
  if (sha1_) EVP_DigestUpdate(sha1_, data, size);
  hashed_ += size;
}

std::string BlobHasher::sha256_hex() { return finish_hex(sha256_); }

std::string BlobHasher::git_sha1_hex() {
  if (!sha1_) throw_error(ErrorCategory::internal, __FILE__ ": git sha1 was not requested");
  return finish_hex(sha1_);
}

bool is_verifiable_etag(const std::string& etag) {
  if (etag.size() != 64 && etag.size() != 40) return false;
  for (char c : etag)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string verify_blob_file(const std::filesystem::path& file, const std::string& etag) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_error(ErrorCategory::io, file.string() + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  ::fstat(fd, &info);
  BlobHasher hasher(etag.size() == 40 ? static_cast<int64_t>(info.st_size) : -1);
  std::vector<char> buffer(1 << 20);
  for (;;) {
    ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int err = errno;
      ::close(fd);
      throw_error(ErrorCategory::io, file.string() + ": read failed: " + std::strerror(err));
    }
    if (got == 0) break;
    hasher.update(buffer.data(), static_cast<size_t>(got));
  }
  ::close(fd);
  std::string sha256 = hasher.sha256_hex();
  std::string actual = etag.size() == 40 ? hasher.git_sha1_hex() : sha256;
  if (etag.size() == 64 || etag.size() == 40) {
    if (actual != etag)
      throw_error(ErrorCategory::integrity, file.string() + ": checksum " + actual + " does not match " + etag +
                                                "; remove it with 'mhub cache rm' and pull again");
  }
  return sha256;
}

}  // namespace mhub::hub
