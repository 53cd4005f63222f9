#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace mhub {

namespace {
[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what, int err) {
  throw_error(ErrorCategory::io, path.string() + ": " + what + ": " + std::strerror(err));
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path destination) : destination_(std::move(destination)) {
  std::filesystem::path folder = destination_.parent_path();
  if (folder.empty()) folder = ".";
  std::string pattern = (folder / ("." + destination_.filename().string() + ".tmp-XXXXXX")).string();
  fd_ = ::mkstemp(pattern.data());
  if (fd_ < 0) fail(destination_, "cannot create a temporary file beside it", errno);
  temporary_ = pattern;
  ::fchmod(fd_, 0644);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* at = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t done = ::write(fd_, at, size);
    if (done < 0) {
      if (errno == EINTR) continue;
      fail(destination_, "write failed", errno);
    }
    at += done;
    size -= static_cast<size_t>(done);
    written_ += static_cast<uint64_t>(done);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail(destination_, "fsync failed", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail(destination_, "close failed", errno);
  }
  fd_ = -1;
  if (::rename(temporary_.c_str(), destination_.c_str()) != 0)
    fail(destination_, "cannot rename the finished file into place", errno);
  committed_ = true;
}

std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_error(ErrorCategory::io, path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw_error(ErrorCategory::io, path.string() + ": read failed");
  return std::move(buffer).str();
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace mhub
