#include "engine/core/buffer_pool.h"

namespace mhub::engine {

std::shared_ptr<ir::Storage> BufferPool::acquire(size_t bytes) {
  // Best fit among free buffers, but never a buffer more than twice too big: a 100 MB buffer
  // held by a scalar would be memory nobody else can use.
  std::shared_ptr<ir::Storage>* best = nullptr;
  for (auto& buffer : buffers_) {
    if (buffer.use_count() != 1) continue;
    size_t size = buffer->size();
    if (size < bytes || size > 2 * bytes + 256) continue;
    if (!best || size < (*best)->size()) best = &buffer;
  }
  if (best) return *best;
  size_t rounded = (bytes + 63) / 64 * 64;
  buffers_.push_back(ir::Storage::zeros(rounded));
  bytes_created_ += rounded;
  return buffers_.back();
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
