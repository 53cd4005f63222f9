#include "engine/core/buffer_pool.h"

#include "engine/core/backend.h"

namespace mhub::engine {

std::shared_ptr<ir::Storage> BufferPool::acquire(size_t bytes) {
  // Best fit among free buffers, but never a buffer more than twice too big: a 100 MB buffer
  // held by a scalar would be memory nobody else can use.
  size_t best = buffers_.size();
  for (size_t i = 0; i < buffers_.size(); ++i) {
    if (buffers_[i].use_count() != 1) continue;
    size_t size = buffers_[i]->size();
    if (size < bytes || size > 2 * bytes + 256) continue;
    if (best == buffers_.size() || size < buffers_[best]->size()) best = i;
  }
  if (best < buffers_.size()) {
    used_this_run_[best] = true;
    return buffers_[best];
  }
  size_t rounded = (bytes + 63) / 64 * 64;
  buffers_.push_back(backend_ ? backend_->allocate_storage(rounded) : ir::Storage::zeros(rounded));
  used_this_run_.push_back(true);
  bytes_created_ += rounded;
  return buffers_.back();
}

size_t BufferPool::bytes_held() const {
  size_t total = 0;
  for (const auto& buffer : buffers_) total += buffer->size();
  return total;
}

void BufferPool::end_run() {
  size_t kept = 0;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    bool idle = !used_this_run_[i] && buffers_[i].use_count() == 1;
    if (idle) continue;
    buffers_[kept] = std::move(buffers_[i]);
    used_this_run_[kept] = false;
    ++kept;
  }
  buffers_.resize(kept);
  used_this_run_.resize(kept);
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
