// A tiny graph interpreter for op specs, used until engine-core's session is merged: runs an
// ONNX backend-suite case (model.onnx + test_data_set_*/) through the CPU kernel table and
// compares with the expected outputs with runner::compare_values (runner/compare.h: the suite's
// tolerances, rtol 1e-3, atol 1e-7, NaN == NaN, exact for integers/bools/strings).
//
// Only Constant and Identity are interpreted here (structural ops every test graph uses); every
// other node must have a kernel in cpu_kernel_table(), else the case is reported as `skipped`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/core/value.h"
#include "engine/ir/graph.h"

namespace mhub::test {

enum class CaseResult { passed, failed, skipped };

struct CaseOutcome {
  CaseResult result = CaseResult::skipped;
  std::string detail;  // why it failed or was skipped
};

// Runs every test_data_set_* of the case folder.
CaseOutcome run_backend_case(const std::filesystem::path& case_dir);

// Runs `graph` of a model with opset `opset` on `inputs` (bound to graph inputs in order).
// allow_fast = false runs reference kernels only (to check fast kernels against them).
std::vector<engine::Value> run_graph_for_test(const ir::Graph& graph, int64_t opset,
                                              std::vector<engine::Value> inputs, bool allow_fast = true);

}  // namespace mhub::test
