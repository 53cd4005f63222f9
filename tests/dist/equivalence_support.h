// What the data-parallel equivalence programs (run under mpirun, one ctest each) share: the
// difference they compare with 1e-5 (max_relative_error, train_test_support.h), expectations
// that print and count failures, and their main(): run_on_two_ranks.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"
#include "engine/dist/communicator.h"
#include "tests/train/train_test_support.h"

namespace mhub::test {

inline int& failures() {
  static int count = 0;
  return count;
}

inline void expect(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "FAILED: %s\n", what.c_str());
  ++failures();
}

// The body of a program run as `mpirun -np 2 PROGRAM SCRATCH_DIR`: starts the communicator
// (60 s timeout), runs `body(comm, scratch)` on both ranks and returns the exit status: 0 when
// no expectation failed, 1 on a failed one or an mhub::Error (printed), 2 on other arguments,
// 77 (skipped) when not launched as exactly 2 ranks.
inline int run_on_two_ranks(int argc, char** argv, const std::function<void(dist::Communicator&, const std::filesystem::path&)>& body) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCRATCH_DIR (run under mpirun -np 2)\n", argv[0]);
    return 2;
  }
  try {
    const auto comm = dist::make_communicator({"auto", std::chrono::seconds(60)});
    if (comm->size() != 2) {
      std::printf("skipped: not launched as 2 ranks (mpirun -np 2)\n");
      return 77;
    }
    body(*comm, argv[1]);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return failures() == 0 ? 0 : 1;
}

}  // namespace mhub::test
