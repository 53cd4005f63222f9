#include "engine/ir/storage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/allocation_limit.h"
#include "common/error.h"

namespace mhub::ir {

std::shared_ptr<Storage> Storage::take(std::string bytes) {
  std::shared_ptr<Storage> storage(new Storage());
  storage->owned_ = std::move(bytes);
  storage->data_ = reinterpret_cast<const uint8_t*>(storage->owned_.data());
  storage->size_ = storage->owned_.size();
  return storage;
}

std::shared_ptr<Storage> Storage::zeros(size_t size) {
  check_allocation(size, "a tensor");  // sizes come from input: refuse, never bad_alloc
  return take(std::string(size, '\0'));
}

std::shared_ptr<Storage> Storage::view(std::shared_ptr<const void> owner, const uint8_t* data,
                                       size_t size) {
  std::shared_ptr<Storage> storage(new Storage());
  storage->owner_ = std::move(owner);
  storage->data_ = data;
  storage->size_ = size;
  return storage;
}

std::shared_ptr<Storage> Storage::device_buffer(std::shared_ptr<const void> owner, uint8_t* data,
                                                size_t size, Device device) {
  std::shared_ptr<Storage> storage(new Storage());
  storage->owner_ = std::move(owner);
  storage->data_ = data;
  storage->size_ = size;
  storage->device_ = device;
  storage->writable_ = true;
  return storage;
}

std::string Device::name() const {
  switch (kind) {
    case Kind::host: return "cpu";
    case Kind::cuda: return "cuda:" + std::to_string(index);
    case Kind::test: return "test:" + std::to_string(index);
  }
  return "unknown";
}

uint8_t* Storage::mutable_data() {
  if (writable_) return const_cast<uint8_t*>(data_);
  if (owner_) throw_error(ErrorCategory::internal, "attempt to write into a read-only tensor view");
  return reinterpret_cast<uint8_t*>(owned_.data());
}

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path, bool read_all) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw_error(ErrorCategory::io, path.string() + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int saved = errno;
    ::close(fd);
    throw_error(ErrorCategory::io, path.string() + ": cannot stat: " + std::strerror(saved));
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(info.st_size);
  if (file->size_ > 0) {
    void* address = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE | (read_all ? MAP_POPULATE : 0), fd, 0);
    if (address == MAP_FAILED) {
      int saved = errno;
      ::close(fd);
      throw_error(ErrorCategory::io, path.string() + ": cannot map: " + std::strerror(saved));
    }
    file->data_ = static_cast<const uint8_t*>(address);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return file;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace mhub::ir
