// Writing files so that a reader never sees a partial one: the bytes go to a temporary file in
// the same folder, are flushed to disk, and only then renamed over the destination. If anything
// fails the temporary file is removed and whatever stood at the destination is untouched.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace mhub {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path destination);
  ~AtomicFile();  // discards the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Throws mhub::Error (io) with the destination named, e.g. on a full disk.
  void write(const void* data, size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  uint64_t written() const { return written_; }
  void commit();  // fsync + rename over the destination
  const std::filesystem::path& temporary_path() const { return temporary_; }

 private:
  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// The whole file in memory. Throws mhub::Error (io) naming the path.
std::string read_whole_file(const std::filesystem::path& path);
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace mhub
