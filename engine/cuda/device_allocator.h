// A caching allocator for device memory: cudaMalloc only when no freed block of the same size
// class is waiting, so steady-state runs allocate nothing. Blocks are rounded up to 512 bytes
// below 1 MiB and to 2 MiB above. Thread-safe (tensors may be dropped on any thread); blocks
// must be used on one stream, which orders a block's reuse after its earlier uses.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace mhub::engine::cuda {

class DeviceAllocator {
 public:
  DeviceAllocator() = default;
  ~DeviceAllocator();  // returns every cached block to the driver
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;

  void* allocate(size_t bytes);
  void release(void* pointer);  // back to the cache, not to the driver
  void trim();                  // cached blocks back to the driver

  size_t driver_allocations() const { return driver_allocations_; }
  size_t bytes_in_use() const { return bytes_in_use_; }
  static size_t round_up(size_t bytes);

 private:
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_blocks_;  // size class -> blocks
  std::map<void*, size_t> live_blocks_;               // pointer -> size class
  size_t driver_allocations_ = 0;
  size_t bytes_in_use_ = 0;
};

}  // namespace mhub::engine::cuda
