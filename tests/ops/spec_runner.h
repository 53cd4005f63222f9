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
  // The byte orders node "under_test" was planned with, as `mhub bench --profile` prints them
  // ("nhwc->nhwc", "nhwc->nchw"; "nchw->nchw" where the layout pass left it plain).
  std::string layout;
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

// ---- Channels-last (engine/core/passes/channels_last.h).
//
// The layout pass replaces any mhub_layout_* marks a spec writes with its own, so a spec reaches
// the channels-last kernels only inside a graph where the pass itself stores its values NHWC.
// The channels-last model of a spec is that graph: each wrapped input (fed float32 4-D: input
// 0, every input of Concat and Add/Sub/Mul/Div, every part of the internal ConcatBatchNorm, a
// Conv's fused residual (input 3)) is produced
// from the fed "in<i>" by an identity Conv (depthwise 1x1, weights 1, no bias: exact, NaN and
// Inf kept) and also read by a second identity Conv writing an extra graph output, so that no
// fusion absorbs the node under test into its producer (Conv + Relu, BN folding, the residual
// Add); each float32 4-D output of the reference goes through an identity Conv into "out<k>".
// Convolutions are the pass's layout boundaries, so the values between them are channels-last
// wherever the node under test's kernel honours the marks. Inputs and outputs stay NCHW for the
// test; the outputs are compared with the reference run of the one-node spec model.

// The inputs the channels-last model wraps (empty: the spec has no channels-last run).
std::vector<size_t> channels_last_inputs(const OpSpec& spec);

// The channels-last model of `spec`; `reference_outputs` (the reference run's) say which
// outputs are float32 4-D and their channel counts. `dense`: the identity Convs are 1x1 over
// all channels (an identity matrix, so not depthwise), which a bf16 session hints and whose
// activations it may store as bfloat16 (passes/compute_precision.h); for NaN-free inputs only.
ir::Model channels_last_model(const OpSpec& spec, const std::vector<engine::Value>& reference_outputs, bool dense = false);

// Runs the channels-last model on the CPU with fast kernels allowed; `layout` says what the pass
// chose for node "under_test". Outputs: the spec's, without the extra ones. `bf16_storage`: the
// dense model in a session with compute_precision "bf16", so that the values between the Convs
// may be stored as bfloat16 too (`layout` ends in ", bf16 out" where the node writes them);
// their rounding is within the tolerance of specs carrying the bf16 compute hint.
SpecRun run_spec_channels_last(const OpSpec& spec, const SpecRun& reference, bool bf16_storage = false);

// Specs run also with bf16_storage: Convs with the bf16 compute hint and a channels-last run,
// without a storage mark of their own.
bool bf16_storage_candidate(const OpSpec& spec);

// Whether a run read node "under_test"'s activation inputs channels-last ("nhwc->...").
bool ran_channels_last(const SpecRun& run);

// Runs every spec of `specs` on the CPU reference, the CPU fast kernels (where the op has one),
// the CPU in channels-last (where channels_last_inputs is not empty and the pass stores the
// node's inputs channels-last: run_spec_channels_last) and the test device; returns the
// failures.
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

// The ops whose CPU kernel table has a row honouring the channels-last marks
// (KernelDef::channels_last), covered where a spec of `specs` ran channels-last; `ran` (when
// given) receives the names of those specs. Runs the candidates' reference and channels-last
// models.
Coverage channels_last_coverage(const std::vector<OpSpec>& specs, std::vector<std::string>* ran = nullptr);

// The report printed by the coverage test: counts and the uncovered ops per backend.
std::string coverage_report(const std::vector<Coverage>& coverages);

// Compares the counts with tests/ops/spec_coverage_floor.json (key = Coverage::backend); returns
// failures for counts below their floor, and notes for counts above it (raise the floor).
std::vector<std::string> check_coverage_floor(const std::vector<Coverage>& coverages, const std::string& floor_file,
                                              std::vector<std::string>* raise_notes = nullptr);
// Reads one count of the floor file (0 when absent).
int coverage_floor(const std::string& floor_file, const std::string& key);

}  // namespace mhub::test
