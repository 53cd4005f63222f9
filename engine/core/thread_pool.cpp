#include "engine/core/thread_pool.h"

#include <algorithm>

namespace mhub::engine {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    while (job_ && next_chunk_ < chunks_total_) {
      size_t chunk = next_chunk_++;
      const auto* job = job_;
      size_t begin = chunk * job_chunk_;
      size_t end = std::min(job_count_, begin + job_chunk_);
      lock.unlock();
      (*job)(begin, end);
      lock.lock();
      if (++chunks_done_ == chunks_total_) done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(size_t count, size_t min_chunk, RangeBody body) {
  if (count == 0) return;
  min_chunk = std::max<size_t>(1, min_chunk);
  size_t threads = static_cast<size_t>(size());
  size_t chunks = std::min(threads, (count + min_chunk - 1) / min_chunk);
  // Below two chunks of work the loop runs here: waking a worker costs more than it saves.
  if (chunks <= 1) {
    body(0, count);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  // One job at a time: a nested or concurrent call runs inline rather than deadlocking.
  if (busy_) {
    lock.unlock();
    body(0, count);
    return;
  }
  busy_ = true;
  job_ = &body;
  job_count_ = count;
  job_chunk_ = (count + chunks - 1) / chunks;
  chunks_total_ = (count + job_chunk_ - 1) / job_chunk_;
  next_chunk_ = 0;
  chunks_done_ = 0;
  ++generation_;
  wake_.notify_all();
  while (next_chunk_ < chunks_total_) {
    size_t chunk = next_chunk_++;
    size_t begin = chunk * job_chunk_;
    size_t end = std::min(count, begin + job_chunk_);
    lock.unlock();
    body(begin, end);
    lock.lock();
    ++chunks_done_;
  }
  done_.wait(lock, [&] { return chunks_done_ == chunks_total_; });
  job_ = nullptr;
  busy_ = false;
}

}  // namespace mhub::engine
