// Reusable tensor buffers for one session.
//
// The pool keeps every buffer it has handed out. A buffer is free again as soon as the pool's
// own reference is the only one left (every tensor viewing it has been dropped), so values that
// alias a buffer (Identity, Reshape passing storage through) keep it busy exactly as long as
// they live, and no explicit "return" is needed. Not thread-safe: the session allocates from
// one thread.
//
// Buffers are kept in order of size (equal sizes in order of creation), so an allocation looks
// only at the buffers whose size fits (binary search, then the busy ones of that size range)
// instead of every buffer the session holds: a per-node cost that grew with the model. Among
// free buffers of the best-fitting size the one handed out most recently is taken (its bytes
// are the likeliest to be in the caches).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/ir/tensor.h"

namespace mhub::engine {

class Backend;

class BufferPool {
 public:
  // Buffers come from `backend`'s memory (its allocate_storage); nullptr: host memory. The
  // backend must outlive the pool.
  explicit BufferPool(const Backend* backend = nullptr) : backend_(backend) {}

  // A tensor of `dtype` / `dims` with uninitialised contents (string tensors get empty strings).
  ir::Tensor allocate(ir::DataType dtype, const std::vector<int64_t>& dims);

  size_t buffer_count() const { return buffers_.size(); }

  // Called after each run: frees buffers that no allocation of that run used and nobody holds,
  // so memory follows the working set of the latest run (shapes can change between runs)
  // while a repeated run still finds every buffer it needs.
  void end_run();
  // Bytes of buffers created so far (a steady-state run adds none).
  size_t bytes_created() const { return bytes_created_; }
  size_t bytes_held() const;

 private:
  std::shared_ptr<ir::Storage> acquire(size_t bytes);

  const Backend* backend_;
  struct Buffer {
    std::shared_ptr<ir::Storage> storage;
    size_t size = 0;  // storage->size(), kept here so the search reads one array
    bool used_this_run = false;
    uint64_t handed_out = 0;  // when acquire() last returned it (a count of acquisitions)
  };
  std::vector<Buffer> buffers_;  // ascending size; equal sizes in order of creation
  size_t bytes_created_ = 0;
  uint64_t handed_out_ = 0;
};

}  // namespace mhub::engine
