// Times MPI all-reduce of float buffers from 4 KiB to 64 MiB, to check the ring cost model of
// docs/DISTRIBUTED.md (time = latency + 2(N-1)/N x bytes / bandwidth) and fit its two numbers,
// and whether a large buffer goes faster cut into pieces (Open MPI's shared-memory transport
// has a large-message cliff; the gradient buckets are 25 MiB by default).
// Not a test: run it on a quiet machine, e.g.
//   ../shared/tools/quiet.sh mpirun --allow-run-as-root -np 2 --bind-to core build/tests/dist/mhub_dist_allreduce_bench
// Prints one line per size on rank 0: bytes, median milliseconds over the repetitions of one
// all-reduce of the whole buffer, its bus bandwidth 2(N-1)/N x bytes / time (GB/s), then for
// buffers above 4 MiB the medians of the same buffer handed over as consecutive pieces of 256 KiB
// and 1 MiB, all started at once and then waited for (start_all_reduce / wait_all_reduces, as
// the gradient buckets travel). The communicator itself cuts every float all-reduce into pieces
// of at most 1 MiB (mpi_communicator.cpp), so larger pieces cannot be timed through it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/dist/communicator.h"

namespace {

// Median milliseconds of `reduce` over the repetitions, after two warm-up rounds, each round
// started together (barrier).
double median_ms(mhub::dist::Communicator& comm, int repetitions, const std::function<void()>& reduce) {
  std::vector<double> times;
  for (int r = 0; r < repetitions + 2; ++r) {
    comm.barrier();
    const auto start = std::chrono::steady_clock::now();
    reduce();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r >= 2) times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main() {
  try {
    auto comm = mhub::dist::make_communicator({"auto", std::chrono::seconds(60)});
    const double n = comm->size();
    const size_t piece_kib[] = {256, 1024};
    if (comm->rank() == 0) std::printf("ranks %d\nbytes,median_ms,bus_GBps,pieces_256KiB_ms,pieces_1MiB_ms\n", comm->size());
    std::vector<size_t> sizes;
    for (size_t bytes = 4096; bytes <= (size_t{64} << 20); bytes *= 4) sizes.push_back(bytes);
    for (size_t mib : {8, 25, 32}) sizes.push_back(mib << 20);
    std::sort(sizes.begin(), sizes.end());
    for (size_t bytes : sizes) {
      std::vector<float> data(bytes / 4, 1.0f);
      const int repetitions = bytes >= (size_t{16} << 20) ? 10 : 50;
      const double whole = median_ms(*comm, repetitions, [&] {
        comm->all_reduce(data.data(), data.size(), mhub::dist::Reduce::sum);
      });
      std::string line = std::to_string(bytes) + "," + std::to_string(whole) + "," +
                         std::to_string(2 * (n - 1) / n * static_cast<double>(bytes) / (whole * 1e6));
      for (size_t kib : piece_kib) {
        const size_t piece = (kib << 10) / 4;
        if (bytes <= (size_t{4} << 20)) {
          line += ",";
          continue;
        }
        const double pieces = median_ms(*comm, repetitions, [&] {
          for (size_t at = 0; at < data.size(); at += piece)
            comm->start_all_reduce(data.data() + at, std::min(piece, data.size() - at), mhub::dist::Reduce::sum);
          comm->wait_all_reduces();
        });
        line += "," + std::to_string(pieces);
      }
      if (comm->rank() == 0) std::printf("%s\n", line.c_str());
    }
  } catch (const mhub::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
