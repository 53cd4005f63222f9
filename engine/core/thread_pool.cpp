#include "engine/core/thread_pool.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <thread>

namespace mhub::engine {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads_ = threads;
}

void ThreadPool::parallel_for(size_t count, size_t min_chunk, RangeBody body) {
  if (count == 0) return;
  min_chunk = std::max<size_t>(1, min_chunk);
  const size_t wanted = count / min_chunk + (count % min_chunk != 0);
  const size_t chunks = std::min(static_cast<size_t>(threads_), wanted);
  // Below two chunks of work the loop runs here: another thread costs more than it saves.
  // Inside a region (a chunk of ours or someone's OpenMP loop) the team is already at work.
  if (chunks <= 1 || omp_in_parallel() || busy_.exchange(true, std::memory_order_acquire)) {
    body(0, count);
    return;
  }
  const size_t chunk = count / chunks + (count % chunks != 0);
  const size_t chunks_total = count / chunk + (count % chunk != 0);
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
  // Always the whole team, as oneDNN uses it: libgomp ends the threads a smaller team leaves out
  // and starts new ones when a larger team follows, so a region sized to its chunks would make
  // the next primitive create threads. Members without a chunk just pass the closing barrier.
#pragma omp parallel num_threads(threads_)
  {
    const size_t team = static_cast<size_t>(omp_get_num_threads());
    for (size_t c = static_cast<size_t>(omp_get_thread_num()); c < chunks_total; c += team) {
      if (failed.load(std::memory_order_relaxed)) break;
      try {
        const size_t begin = c * chunk;
        body(begin, std::min(count, begin + chunk));
      } catch (...) {
        if (!failed.exchange(true)) failure = std::current_exception();
      }
    }
  }
  busy_.store(false, std::memory_order_release);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace mhub::engine
