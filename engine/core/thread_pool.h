// The CPU backend's one thread pool, sized by --threads (default: all cores). Kernels split
// work with parallel_for; nested calls run inline so the pool is never oversubscribed.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mhub::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: std::thread::hardware_concurrency()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }  // the caller works too

  // Calls body(begin, end) on disjoint chunks covering [0, count). Chunks are at least
  // `min_chunk` long so tiny loops stay on one thread. Blocks until all chunks are done.
  void parallel_for(size_t count, size_t min_chunk,
                    const std::function<void(size_t begin, size_t end)>& body);

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
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
