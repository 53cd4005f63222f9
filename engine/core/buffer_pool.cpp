#include "engine/core/buffer_pool.h"

#include "engine/core/backend.h"

#include <algorithm>

namespace mhub::engine {

std::shared_ptr<ir::Storage> BufferPool::acquire(size_t bytes) {
  // Best fit among free buffers, but never a buffer more than twice too big: a 100 MB buffer
  // held by a scalar would be memory nobody else can use. The smallest free size that fits
  // upwards is that best fit; among free buffers of that size, the one handed out last: a
  // value that lived briefly and was written recently is likely still in the caches, so the
  // kernel about to write this one does not pull cold lines from memory (the oldest buffer of
  // a size had sat unused longest: a channels-last Concat took 63 us writing into a cold
  // buffer against 41 us into a hot one).
  size_t largest = 2 * bytes + 256;
  auto first = std::lower_bound(buffers_.begin(), buffers_.end(), bytes,
                                [](const Buffer& buffer, size_t wanted) { return buffer.size < wanted; });
  for (auto it = first; it != buffers_.end() && it->size <= largest; ++it) {
    if (it->storage.use_count() != 1) continue;
    auto best = it;
    for (auto same = it + 1; same != buffers_.end() && same->size == it->size; ++same)
      if (same->storage.use_count() == 1 && same->handed_out > best->handed_out) best = same;
    best->used_this_run = true;
    best->handed_out = ++handed_out_;
    return best->storage;
  }
  size_t rounded = (bytes + 63) / 64 * 64;
  Buffer created;
  created.storage = backend_ ? backend_->allocate_storage(rounded) : ir::Storage::zeros(rounded);
  created.size = created.storage->size();
  created.used_this_run = true;
  created.handed_out = ++handed_out_;
  bytes_created_ += rounded;
  auto place = std::upper_bound(buffers_.begin(), buffers_.end(), created.size,
                                [](size_t size, const Buffer& buffer) { return size < buffer.size; });
  return buffers_.insert(place, std::move(created))->storage;
}

size_t BufferPool::bytes_held() const {
  size_t total = 0;
  for (const auto& buffer : buffers_) total += buffer.size;
  return total;
}

void BufferPool::end_run() {
  // Dropping idle buffers keeps the survivors' order, so the vector stays sorted.
  size_t kept = 0;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    Buffer& buffer = buffers_[i];
    bool idle = !buffer.used_this_run && buffer.storage.use_count() == 1;
    if (idle) continue;
    buffer.used_this_run = false;
    if (kept != i) buffers_[kept] = std::move(buffer);
    ++kept;
  }
  buffers_.resize(kept);
}

ir::Tensor BufferPool::allocate(ir::DataType dtype, const std::vector<int64_t>& dims) {
  ir::Tensor tensor;
  tensor.dtype = dtype;
  tensor.dims = dims;
  if (dtype == ir::DataType::string) {
    tensor.strings.resize(tensor.numel());
    return tensor;
  }
  size_t bytes = tensor.byte_size();
  tensor.storage = bytes == 0 ? ir::Storage::zeros(0) : acquire(bytes);
  return tensor;
}

}  // namespace mhub::engine
