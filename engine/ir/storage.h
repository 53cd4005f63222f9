// Byte storage behind tensors.
//
// Ownership: a Storage is shared (std::shared_ptr) by every tensor that views it. It either owns
// its bytes (a std::string moved in: no copy) or views bytes owned by someone else (a mapped
// file region, kept alive through `owner`). Views are read-only: mutable_data() on a view throws.
//
// Bytes live on a Device: host memory for everything above, or an accelerator's memory for a
// device buffer (a backend's allocation, freed by its `owner`). data() of a device buffer is a
// device address: only that device's kernels may dereference it. The session moves values
// between devices so host kernels only ever see host storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace mhub::ir {

struct Device {
  enum class Kind : uint8_t {
    host,
    cuda,
    test,  // host memory posing as a device, for the session's transfer tests
  };
  Kind kind = Kind::host;
  int index = 0;

  bool is_host() const { return kind == Kind::host; }
  bool operator==(const Device&) const = default;
  std::string name() const;  // "cpu", "cuda:0", "test:0"
};

class Storage {
 public:
  // Takes the bytes without copying them.
  static std::shared_ptr<Storage> take(std::string bytes);
  // `size` zero bytes.
  static std::shared_ptr<Storage> zeros(size_t size);
  // Read-only view of [data, data+size), kept valid by `owner`.
  static std::shared_ptr<Storage> view(std::shared_ptr<const void> owner, const uint8_t* data,
                                       size_t size);
  // Writable memory of `size` bytes at `data` on `device` (not host), freed when `owner` goes.
  static std::shared_ptr<Storage> device_buffer(std::shared_ptr<const void> owner, uint8_t* data,
                                                size_t size, Device device);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool is_view() const { return owner_ != nullptr && !writable_; }
  const Device& device() const { return device_; }
  bool on_host() const { return device_.is_host(); }
  uint8_t* mutable_data();  // throws mhub::Error (internal) on a view

 private:
  Storage() = default;
  std::string owned_;
  std::shared_ptr<const void> owner_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  Device device_;
  bool writable_ = false;  // a device buffer: owned elsewhere, but ours to write
};

// A whole file mapped read-only. Used for external data so weights are never copied on import.
class MappedFile {
 public:
  // Throws mhub::Error (io) naming the path when it cannot be opened or mapped.
  // `read_all`: the caller will read every byte soon (a model file being parsed), so the pages
  // are faulted in up front (MAP_POPULATE) instead of one fault per page.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path, bool read_all = false);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mhub::ir
