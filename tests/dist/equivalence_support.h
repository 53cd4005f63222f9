// What the data-parallel equivalence programs (run under mpirun, one ctest each) share: the
// difference they compare with 1e-5 (max_relative_error, train_test_support.h), and expectations
// that print and count failures (the program's exit status is failures() == 0 ? 0 : 1).
#pragma once

#include <cstdio>
#include <string>

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

}  // namespace mhub::test
