// Times MPI all-reduce of float buffers from 4 KiB to 64 MiB, to check the ring cost model of
// docs/DISTRIBUTED.md (time = latency + 2(N-1)/N x bytes / bandwidth) and fit its two numbers.
// Not a test: run it on a quiet machine, e.g.
//   ../shared/tools/quiet.sh mpirun --allow-run-as-root -np 2 --bind-to core build/tests/dist/mhub_dist_allreduce_bench
// Prints one line per size on rank 0: bytes, median milliseconds over the repetitions, and the
// bus bandwidth 2(N-1)/N x bytes / time (GB/s).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "common/error.h"
#include "engine/dist/communicator.h"

int main() {
  try {
    auto comm = mhub::dist::make_communicator({"auto", std::chrono::seconds(60)});
    const double n = comm->size();
    if (comm->rank() == 0) std::printf("ranks %d\nbytes,median_ms,bus_GBps\n", comm->size());
    for (size_t bytes = 4096; bytes <= (size_t{64} << 20); bytes *= 4) {
      std::vector<float> data(bytes / 4, 1.0f);
      std::vector<double> times;
      const int repetitions = bytes >= (size_t{16} << 20) ? 10 : 50;
      for (int r = 0; r < repetitions + 2; ++r) {
        comm->barrier();
        const auto start = std::chrono::steady_clock::now();
        comm->all_reduce(data.data(), data.size(), mhub::dist::Reduce::sum);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        if (r >= 2) times.push_back(ms);  // two warm-up rounds
      }
      std::sort(times.begin(), times.end());
      const double median = times[times.size() / 2];
      if (comm->rank() == 0)
        std::printf("%zu,%.4f,%.3f\n", bytes, median, 2 * (n - 1) / n * static_cast<double>(bytes) / (median * 1e6));
    }
  } catch (const mhub::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
