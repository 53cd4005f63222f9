// Skipping a test case at run time, honestly. doctest 2.4.9's `doctest::skip` is a decorator fixed
// when the case registers, and a case that just returns counts as passed; so a case that cannot
// run here (an optional peer or data set is missing) calls MHUB_SKIP(why) instead. The test main
// (tests/test_main.cpp) then prints "[skipped] <case>: <why>", leaves the case out of the cases
// that ran, and exits 77 (ctest SKIP_RETURN_CODE: skipped) when no selected case ran at all.
// Something this build must be able to do is never a skip: let it fail.
#pragma once

#include <string>

namespace mhub::test {

// Marks the running test case as skipped because of `why`. Call it before any check; the case
// must return right after (MHUB_SKIP does both).
void mark_skipped(const std::string& why);

}  // namespace mhub::test

#define MHUB_SKIP(why)                  \
  do {                                  \
    ::mhub::test::mark_skipped(why);    \
    return;                             \
  } while (false)
