// Runs op specs (tests/ops/op_spec.h): each spec as a one-node model through a real Session
// (node "under_test", inputs in0, in1, ... fed or initializers, outputs out0, out1, ...), on the
// CPU reference kernels and then on each backend under test, comparing every output with the
// reference's (dims, dtype, values within the spec's tolerance, NaN positions). Also the coverage
// report: per backend, the ops with a kernel there and no spec. No doctest here: results are
// lines of text the test cases turn into failures.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/kernel.h"
#include "engine/core/session.h"
#include "tests/ops/op_spec.h"

namespace mhub::engine {
class Backend;
}

namespace mhub::test {

struct SpecRun {
  std::vector<engine::Value> outputs;  // host values
  bool threw = false;
  std::string error;      // the mhub::Error's message when threw
  std::string placement;  // the verbose log line of node "under_test": "<backend>  <op> ..."
  engine::Session::Stats stats;
};

// The one-node model of a spec (what every run and the gradient check start from).
ir::Model spec_model(const OpSpec& spec);

// Runs the spec with `preferred` as the session's preferred backend (nullptr: the CPU only).
SpecRun run_spec(const OpSpec& spec, const engine::Backend* preferred, bool allow_fast);

// Differences of `got` from `want` (empty when equal under the spec's tolerance and `policy`).
std::string compare_tensors(const OpSpec& spec, const ir::Tensor& want, const ir::Tensor& got,
                            NonFinite policy = NonFinite::same);

// The reference run of a spec and what the spec says about it (expected outputs, expected
// error). Failures are appended to `failures` as "<spec>: <what>".
SpecRun run_reference(const OpSpec& spec, std::vector<std::string>& failures);

// Runs the spec on a target and compares with `reference`; `target` names it in failures. A
// preferred backend that has the op must have placed the node on itself. Returns the run.
SpecRun check_against_reference(const OpSpec& spec, const SpecRun& reference, const engine::Backend* preferred,
                             bool allow_fast, std::string_view target, std::vector<std::string>& failures);

// Whether the CPU table has a fast kernel for the spec's op (else the fast pass is the reference).
bool cpu_has_fast_kernel(const OpSpec& spec);

// Runs every spec of `specs` on the CPU reference, the CPU fast kernels (where the op has one)
// and the test device; returns the failures.
std::vector<std::string> run_specs_on_cpu_and_test_device(const std::vector<OpSpec>& specs);

// ---- Coverage.

struct Coverage {
  std::string backend;
  std::vector<std::string> covered;    // ops with a kernel on the backend and a spec that runs there
  std::vector<std::string> uncovered;  // ops with a kernel and no such spec
};

// `table`: the backend's kernels; `only_fast`: count fast rows only; `bit`: the Backends bit a
// spec must carry to count (0: every spec, the reference).
Coverage coverage_of(std::string backend, std::span<const engine::KernelDef> table, bool only_fast, uint32_t bit,
                     const std::vector<OpSpec>& specs);

// The report printed by the coverage test: counts and the uncovered ops per backend.
std::string coverage_report(const std::vector<Coverage>& coverages);

// Compares the counts with tests/ops/spec_coverage_floor.json (key = Coverage::backend); returns
// failures for counts below their floor, and notes for counts above it (raise the floor).
std::vector<std::string> check_coverage_floor(const std::vector<Coverage>& coverages, const std::string& floor_file,
                                              std::vector<std::string>* raise_notes = nullptr);
// Reads one count of the floor file (0 when absent).
int coverage_floor(const std::string& floor_file, const std::string& key);

}  // namespace mhub::test
