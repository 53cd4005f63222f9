// engine::ThreadPool: parallel_for's chunks, inline cases, exceptions, concurrent callers, and
// that the pool's threads are the ones oneDNN runs on (one OpenMP team, not two sets of threads).
#include <doctest/doctest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/core/openmp_environment.h"
#include "engine/core/thread_pool.h"
#include "engine/cpu/gemm.h"

using namespace mhub;

namespace {

// The chunks one parallel_for handed out, in order of their start.
struct Chunks {
  std::mutex mutex;
  std::vector<std::pair<size_t, size_t>> ranges;
  std::set<std::thread::id> threads;

  void add(size_t begin, size_t end) {
    std::lock_guard lock(mutex);
    ranges.emplace_back(begin, end);
    threads.insert(std::this_thread::get_id());
  }
  std::vector<std::pair<size_t, size_t>> sorted() {
    std::sort(ranges.begin(), ranges.end());
    return ranges;
  }
};

// Whether [0, count) is covered exactly once by `ranges` (sorted, each non-empty).
bool covers_once(const std::vector<std::pair<size_t, size_t>>& ranges, size_t count) {
  size_t next = 0;
  for (auto [begin, end] : ranges) {
    if (begin != next || end <= begin) return false;
    next = end;
  }
  return next == count;
}

// Threads of this process now (Linux: one entry per thread in /proc/self/task).
int process_threads() {
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return -1;
  int n = 0;
  while (dirent* entry = readdir(dir))
    if (entry->d_name[0] != '.') ++n;
  closedir(dir);
  return n;
}

}  // namespace

TEST_SUITE("engine_core") {
  TEST_CASE("thread pool: chunks cover [0, count) once, equal in length, as many as threads and min_chunk allow") {
    for (int threads : {1, 2, 3, 4}) {
      engine::ThreadPool pool(threads);
      CHECK(pool.size() == threads);
      for (size_t count : {1u, 2u, 5u, 7u, 64u, 1000u, 1001u}) {
        for (size_t min_chunk : {0u, 1u, 3u, 10u, 2000u}) {
          Chunks chunks;
          pool.parallel_for(count, min_chunk, [&](size_t b, size_t e) { chunks.add(b, e); });
          auto ranges = chunks.sorted();
          CAPTURE(threads);
          CAPTURE(count);
          CAPTURE(min_chunk);
          REQUIRE(covers_once(ranges, count));
          // The split: min(threads, ceil(count / min_chunk)) chunks of ceil(count / chunks), the
          // last one shorter.
          const size_t step = std::max<size_t>(1, min_chunk);
          const size_t wanted = std::min<size_t>(threads, (count + step - 1) / step);
          const size_t length = (count + wanted - 1) / wanted;
          CHECK(ranges.size() == (count + length - 1) / length);
          for (size_t i = 0; i + 1 < ranges.size(); ++i) CHECK(ranges[i].second - ranges[i].first == length);
          CHECK(chunks.threads.size() <= ranges.size());
        }
      }
    }
    engine::ThreadPool pool(2);
    bool called = false;
    pool.parallel_for(0, 1, [&](size_t, size_t) { called = true; });
    CHECK_FALSE(called);
  }

  TEST_CASE("thread pool: two chunks run on two threads; one thread, or one chunk, stays on the caller") {
    const auto caller = std::this_thread::get_id();
    engine::ThreadPool pair(2);
    Chunks split;
    pair.parallel_for(2, 1, [&](size_t b, size_t e) { split.add(b, e); });
    CHECK(split.threads.size() == 2);
    CHECK(split.threads.count(caller) == 1);
    Chunks small;
    pair.parallel_for(100, 100, [&](size_t b, size_t e) { small.add(b, e); });
    CHECK(small.ranges.size() == 1);
    CHECK(*small.threads.begin() == caller);
    engine::ThreadPool one(1);
    Chunks single;
    one.parallel_for(1000, 1, [&](size_t b, size_t e) { single.add(b, e); });
    CHECK(single.sorted() == std::vector<std::pair<size_t, size_t>>{{0, 1000}});
    CHECK(*single.threads.begin() == caller);
  }

  TEST_CASE("thread pool: a nested parallel_for runs inline on the thread of its chunk") {
    engine::ThreadPool pool(3);
    engine::ThreadPool other(2);
    std::atomic<size_t> covered{0};
    std::atomic<int> moved{0};
    pool.parallel_for(6, 1, [&](size_t b, size_t e) {
      const auto outer = std::this_thread::get_id();
      for (size_t i = b; i < e; ++i) {
        auto inner = [&](size_t ib, size_t ie) {
          covered += ie - ib;
          if (std::this_thread::get_id() != outer) ++moved;
        };
        pool.parallel_for(100, 1, inner);   // the same pool
        other.parallel_for(100, 1, inner);  // another pool: still inside a region
      }
    });
    CHECK(covered == 6 * 200);
    CHECK(moved == 0);
  }

  TEST_CASE("thread pool: an exception in a chunk reaches the caller after the region; the pool stays usable") {
    engine::ThreadPool pool(2);
    for (size_t failing : {0u, 1u}) {  // the caller's chunk, then the other thread's
      CAPTURE(failing);
      std::atomic<int> ran{0};
      CHECK_THROWS_WITH_AS(pool.parallel_for(2, 1,
                                             [&](size_t b, size_t) {
                                               ++ran;
                                               if (b == failing) throw std::runtime_error("chunk failed");
                                             }),
                           "chunk failed", std::runtime_error);
      CHECK(ran >= 1);  // the other chunk is skipped when it had not started yet
    }
    Chunks after;
    pool.parallel_for(100, 1, [&](size_t b, size_t e) { after.add(b, e); });
    CHECK(covers_once(after.sorted(), 100));
    CHECK(after.threads.size() == 2);  // not stuck as busy: the region ran on both threads
  }

  TEST_CASE("thread pool: callers on two host threads at once, on one pool or on a pool each") {
    engine::ThreadPool shared(2);
    std::atomic<int> wrong{0};
    auto hammer = [&](engine::ThreadPool& pool) {
      for (int round = 0; round < 200; ++round) {
        const size_t count = 1000 + static_cast<size_t>(round);
        std::vector<std::atomic<int>> hits(count);
        pool.parallel_for(count, 16, [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i) hits[i]++;
        });
        for (auto& h : hits)
          if (h != 1) ++wrong;
      }
    };
    {
      std::thread a([&] { hammer(shared); });
      std::thread b([&] { hammer(shared); });
      a.join();
      b.join();
    }
    CHECK(wrong == 0);
    {
      std::thread a([&] {
        engine::ThreadPool own(2);
        hammer(own);
      });
      std::thread b([&] {
        engine::ThreadPool own(2);
        hammer(own);
      });
      a.join();
      b.join();
    }
    CHECK(wrong == 0);
  }

  // Only where the engine's OpenMP runtime is oneDNN's libgomp: GCC builds (Release, CI's first
  // job). Clang (the ASan/UBSan build) implements OpenMP only on LLVM's libomp (-fopenmp=libgomp
  // turns the pragmas off), so there the pool's loops run on a libomp team beside oneDNN's libgomp
  // one: two sets of threads by construction, and this case says skipped.
#ifdef __clang__
  constexpr bool kOneOpenMpRuntime = false;
#else
  constexpr bool kOneOpenMpRuntime = true;
#endif
  TEST_CASE("thread pool: parallel_for and oneDNN share one team of threads" * doctest::skip(!kOneOpenMpRuntime)) {
    // On a fresh host thread (its own OpenMP team): two-thread loops and two-thread oneDNN
    // products together add one thread to the process, not one for each.
    // Threads of earlier cases' host threads (their OpenMP workers) end on their own some time
    // after them, later still under the sanitizers: wait until the count holds still for 200 ms
    // (at most 5 s), so that no ending thread is counted as one the loop did not add.
    int steady = process_threads();
    for (int waited = 0, still = 0; still < 4 && waited < 100; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int now = process_threads();
      still = now == steady ? still + 1 : 0;
      steady = now;
    }
    int before = 0, after_loop = 0, after_gemm = 0;
    std::thread host([&] {
      before = process_threads();
      engine::ThreadPool pool(2);
      std::atomic<size_t> covered{0};
      pool.parallel_for(1 << 16, 1, [&](size_t b, size_t e) { covered += e - b; });
      after_loop = process_threads();
      const int64_t n = 384;
      std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.0f);
      for (int k = 0; k < 3; ++k)
        engine::cpu::sgemm(true, 2, false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      pool.parallel_for(1 << 16, 1, [&](size_t b, size_t e) { covered += e - b; });
      after_gemm = process_threads();
      CHECK(c[0] == doctest::Approx(0.5 * 0.25 * n));
      CHECK(covered == 2u << 16);
    });
    host.join();
    REQUIRE(before > 0);
    CHECK(after_loop == before + 1);
    CHECK(after_gemm == after_loop);
  }
}

TEST_SUITE("engine_core") {
// engine/core/openmp_environment.h: the processes of the caller's own pipeline are not other work
// for the wait-policy choice; a process that holds none of its pipes is.
TEST_CASE("openmp environment: a busy pipeline partner is counted only while it holds the pipe") {
  int ends[2];
  REQUIRE(pipe(ends) == 0);
  // Busy for at most 3 s (the test ends it sooner); the child only spins and exits.
  auto spawn_busy = [&](bool on_pipe) {
    const pid_t child = fork();
    if (child == 0) {
      if (on_pipe) dup2(ends[0], 0);
      close(ends[0]);
      close(ends[1]);
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
      while (std::chrono::steady_clock::now() < end) {
      }
      _exit(0);
    }
    return child;
  };
  auto count_while_busy = [&](pid_t child) {
    long seen = 0;  // the child is runnable all along; five tries spare a child not yet started
    for (int attempt = 0; attempt < 5 && seen == 0; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      seen = engine::runnable_threads_of(engine::pipeline_partners(-1, ends[1]));
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    return seen;
  };
  CHECK(engine::pipe_inode_of("self", ends[1]) != 0);
  CHECK(engine::pipe_inode_of("self", -1) == 0);
  const pid_t stranger = spawn_busy(false);
  REQUIRE(stranger > 0);
  CHECK(count_while_busy(stranger) == 0);
  const pid_t partner = spawn_busy(true);
  REQUIRE(partner > 0);
  CHECK(count_while_busy(partner) == 1);
  close(ends[0]);
  close(ends[1]);
}

// The re-execution that applies the wait policy keeps the program's name (pgrep, top): this
// driver re-executed itself at start unless the environment already held a wait policy.
TEST_CASE("openmp environment: a re-executed program keeps its name") {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  REQUIRE(n > 0);
  path[n] = '\0';
  std::string name = path;
  name = name.substr(name.rfind('/') + 1).substr(0, 15);  // the kernel keeps 15 characters
  std::FILE* file = std::fopen("/proc/self/comm", "r");
  REQUIRE(file);
  char comm[64] = {};
  const bool read = std::fgets(comm, sizeof comm, file) != nullptr;
  std::fclose(file);
  REQUIRE(read);
  std::string got = comm;
  if (!got.empty() && got.back() == '\n') got.pop_back();
  CHECK(got == name);
}
}
