// The main of every doctest executable (except the GPU one, which exits 77 itself without a
// device). On top of doctest's own run it keeps the tests honest:
//   - a case that called MHUB_SKIP (tests/test_skip.h) is reported as skipped, not as run;
//   - a run in which no test case started (a --test-suite / --test-case filter that matches
//     nothing, or only doctest::skip-decorated cases) fails: a ctest entry must run something;
//   - a run in which every selected case skipped exits 77, which ctest reports as skipped
//     (the entries carry SKIP_RETURN_CODE 77).
// Exit codes: doctest's (non-zero when a check failed), else 1 (nothing ran), 77 (all
// skipped), 0.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/core/openmp_environment.h"
#include "tests/test_skip.h"

namespace {

struct RunRecord {
  int started = 0;
  std::string current;
  std::optional<std::string> skip_reason;  // of the running case
  std::vector<std::string> skipped;        // "<case>: <why>"
};

RunRecord& record() {
  static RunRecord r;
  return r;
}

// A listener: doctest calls it next to the console reporter for every case that passes the
// filters and runs (filtered-out and decorator-skipped cases never start).
struct RunCounter : doctest::IReporter {
  explicit RunCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& tc) override {
    ++record().started;
    record().current = tc.m_name;
    record().skip_reason.reset();
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {
    if (!record().skip_reason) return;
    const std::string line = record().current + ": " + *record().skip_reason;
    std::printf("[skipped] %s\n", line.c_str());
    std::fflush(stdout);
    record().skipped.push_back(line);
    record().skip_reason.reset();
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

DOCTEST_REGISTER_LISTENER("mhub_run_counter", 1, RunCounter);

}  // namespace

namespace mhub::test {

void mark_skipped(const std::string& why) { record().skip_reason = why; }

}  // namespace mhub::test

int main(int argc, char** argv) {
  // The engine's threads wait between regions as they do under `mhub` (cli/main.cpp): libgomp
  // reads the setting when it loads, so set it and restart once.
  if (mhub::engine::set_openmp_spin_environment())
    mhub::engine::reexecute_self(argv);  // returns only on failure: then run on as we are
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;  // --help, --list-test-cases, --count, ...
  const RunRecord& r = record();
  const int ran = r.started - static_cast<int>(r.skipped.size());
  if (!r.skipped.empty())
    std::printf("[mhub] %d test case(s) ran; %zu of the %d counted above as passed were skipped, not run\n", ran,
                r.skipped.size(), r.started);
  if (result != 0) return result;
  if (r.started == 0) {
    std::fprintf(stderr, "[mhub] error: no test case ran: the filters (--test-suite, --test-case, ...) match no "
                         "runnable case\n");
    return 1;
  }
  return ran == 0 ? 77 : 0;
}
