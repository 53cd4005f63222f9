// The CPU backend's one thread pool, sized by --threads (default: all cores). Kernels split
// work with parallel_for; nested calls run inline so the pool is never oversubscribed.
//
// Idle workers sleep on a condition variable (no spinning: CI machines have 2 cores shared with
// oneDNN's OpenMP threads). A loop too small for two chunks runs inline on the caller without
// touching the pool's lock, and a call allocates nothing: the body is passed by reference.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace mhub::engine {

// A non-owning reference to a callable body(begin, end). std::function would copy a lambda that
// captures more than two pointers to the heap on every parallel_for; this costs two pointers.
// Valid while the callable lives: parallel_for returns only after every chunk ran.
class RangeBody {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RangeBody>>>
  RangeBody(F&& body)  // NOLINT: implicit, so callers pass lambdas as before
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(body)))),
        call_([](void* object, size_t begin, size_t end) {
          (*static_cast<std::remove_reference_t<F>*>(object))(begin, end);
        }) {}
  void operator()(size_t begin, size_t end) const { call_(object_, begin, end); }

 private:
  void* object_;
  void (*call_)(void*, size_t, size_t);
};

// The least work worth a second thread, in elements a loop reads or writes (64 KiB of float32):
// waking a sleeping worker and waiting for it costs about what one thread spends on that much
// memory-bound work, so loops with less stay on the caller. Kernels state their work through
// chunk_for_elements instead of picking their own numbers.
inline constexpr size_t kMinParallelElements = size_t{1} << 14;

// parallel_for's min_chunk for items that each touch `elements_per_item` elements: at least
// kMinParallelElements per chunk (an item larger than that is a chunk of its own).
constexpr size_t chunk_for_elements(size_t elements_per_item) {
  return elements_per_item >= kMinParallelElements ? 1 : kMinParallelElements / (elements_per_item ? elements_per_item : 1);
}

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: std::thread::hardware_concurrency()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }  // the caller works too

  // Calls body(begin, end) on disjoint chunks covering [0, count). Chunks are at least
  // `min_chunk` long so tiny loops stay on one thread (chunk_for_elements says how long).
  // Blocks until all chunks are done.
  void parallel_for(size_t count, size_t min_chunk, RangeBody body);

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const RangeBody* job_ = nullptr;
  size_t job_count_ = 0;
  size_t job_chunk_ = 0;
  size_t next_chunk_ = 0;
  size_t chunks_total_ = 0;
  size_t chunks_done_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  bool busy_ = false;
};

}  // namespace mhub::engine
