#include "engine/cuda/device_allocator.h"

#include "engine/cuda/cuda_check.h"

namespace mhub::engine::cuda {

size_t DeviceAllocator::round_up(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20, kLimit = size_t{1} << 20;
  if (bytes == 0) bytes = 1;
  size_t unit = bytes < kLimit ? kSmall : kLarge;
  return (bytes + unit - 1) / unit * unit;
}

void* DeviceAllocator::allocate(size_t bytes) {
  size_t size = round_up(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* pointer = nullptr;
  auto& cached = free_blocks_[size];
  if (!cached.empty()) {
    pointer = cached.back();
    cached.pop_back();
  } else {
    MHUB_CUDA_CHECK(cudaMalloc(&pointer, size));
    ++driver_allocations_;
  }
  live_blocks_[pointer] = size;
  bytes_in_use_ += size;
  return pointer;
}

void DeviceAllocator::release(void* pointer) {
  if (!pointer) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_blocks_.find(pointer);
  if (it == live_blocks_.end())
    throw_error(ErrorCategory::internal, "DeviceAllocator::release: pointer was not allocated here");
  free_blocks_[it->second].push_back(pointer);
  bytes_in_use_ -= it->second;
  live_blocks_.erase(it);
}

void DeviceAllocator::trim() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [size, blocks] : free_blocks_)
    for (void* pointer : blocks) MHUB_CUDA_CHECK(cudaFree(pointer));
  free_blocks_.clear();
}

DeviceAllocator::~DeviceAllocator() {
  // Destructors must not throw: ignore errors here (the process may be tearing down the driver).
  for (auto& [size, blocks] : free_blocks_)
    for (void* pointer : blocks) cudaFree(pointer);
  for (auto& [pointer, size] : live_blocks_) cudaFree(pointer);
}

}  // namespace mhub::engine::cuda
