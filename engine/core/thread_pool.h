// The CPU backend's threads, sized by --threads (default: all cores). Kernels split work with
// parallel_for; oneDNN's primitives (Conv, MatMul, Gemm ...) run on the same threads.
//
// One team for both: parallel_for is an OpenMP parallel region, and Debian's libdnnl is built on
// libgomp, so the engine's loops and oneDNN's primitives are served by the one team of OpenMP
// threads that belongs to the calling thread. (The reverse, oneDNN on a pool of our own, needs a
// libdnnl built with DNNL_CPU_RUNTIME=THREADPOOL; Debian ships only the OpenMP build.)
//
// How idle threads wait: libgomp's policy. After a region its threads poll for the next one for
// GOMP_SPINCOUNT iterations (kOpenMpSpinCount in openmp_environment.h: a fraction of a
// millisecond) and then sleep on a futex, so consecutive ops of an inference find the team awake
// while an idle process costs no CPU. libgomp reads the policy once, when it loads: `mhub` and
// the test drivers set it and re-execute themselves (set_openmp_spin_environment). Programs
// linking the engine as a library should start with GOMP_SPINCOUNT=kOpenMpSpinCount in their
// environment (libgomp's own default spins about thirty times longer), or
// OMP_WAIT_POLICY=PASSIVE on a machine whose cores are all taken by other work.
//
// A loop too small for two chunks runs inline on the caller and touches no thread; a call
// allocates nothing (the body is passed by reference, libgomp keeps the team between regions).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

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
// handing a chunk to another thread and waiting for it costs about what one thread spends on
// that much memory-bound work, so loops with less stay on the caller. Kernels state their work
// through chunk_for_elements instead of picking their own numbers.
inline constexpr size_t kMinParallelElements = size_t{1} << 14;

// parallel_for's min_chunk for items that each touch `elements_per_item` elements: at least
// kMinParallelElements per chunk (an item larger than that is a chunk of its own).
constexpr size_t chunk_for_elements(size_t elements_per_item) {
  return elements_per_item >= kMinParallelElements ? 1 : kMinParallelElements / (elements_per_item ? elements_per_item : 1);
}

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: std::thread::hardware_concurrency()
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }  // the caller's thread counts: it runs a chunk too

  // Calls body(begin, end) on disjoint chunks covering [0, count) exactly once, at most size()
  // chunks of equal length (the last shorter), each at least `min_chunk` long so tiny loops stay
  // on one thread (chunk_for_elements says how long). Blocks until all chunks are done. An
  // exception thrown by a chunk is rethrown here once every thread has left the loop (the first
  // one, if several threw; chunks not yet started when it was thrown are skipped).
  // Runs inline on the caller (one chunk) when the loop is below two chunks, when called from
  // inside a parallel_for or any OpenMP region (nested loops never oversubscribe the cores), and
  // when another thread is using this pool at the moment. Threads of different host threads are
  // different teams: two sessions run from two threads each get their own.
  void parallel_for(size_t count, size_t min_chunk, RangeBody body);

 private:
  int threads_;
  std::atomic<bool> busy_{false};  // a caller's region is running on this pool
};

}  // namespace mhub::engine
