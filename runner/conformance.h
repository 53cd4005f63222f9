// Runs ONNX backend-suite test cases and compares the results with the expected outputs.
//
// Layouts understood:
// - a case folder: model.onnx + test_data_set_N/{input_K.pb, output_K.pb};
// - a folder of case folders (node/, simple/, pytorch-converted/, ...);
// - the light/ layout: light_X.onnx + light_X_output_0.pb; its inputs are all-zero tensors of
//   the declared shape (symbolic dims 1): its weights are constants, so the expected output
//   does not depend on the input.
// Input K binds to the K-th graph input that has no initializer.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace mhub::engine {
class Backend;
}

namespace mhub::runner {

struct CaseResult {
  enum class Status { passed, failed, skipped };
  std::string name;     // case folder name or light model stem
  Status status = Status::failed;
  std::string reason;   // why it failed or was skipped
  std::vector<std::string> ops;  // ops blamed for a failure (unsupported ones, else all used)
  double seconds = 0;
};

struct DirResult {
  std::string path;
  std::vector<CaseResult> cases;
  size_t passed = 0, failed = 0, skipped = 0;
};

struct ConformanceOptions {
  std::string filter;  // glob on case names ("" = all)
  int jobs = 0;        // cases run in parallel; <= 0: all cores
  int threads = 1;     // engine threads per case
  bool allow_fast = true;
  // Where the cases run (engine/devices.h), the CPU taking what it lacks; nullptr: the CPU.
  // A device backend runs one case at a time (jobs is ignored).
  const engine::Backend* backend = nullptr;
};

// Throws mhub::Error (io) when `dir` is not a folder of one of the layouts above.
DirResult run_conformance_dir(const std::string& dir, const ConformanceOptions& options);

// Runs one case folder (model.onnx + test_data_set_*); used by run_conformance_dir.
CaseResult run_case_folder(const std::string& case_dir, const ConformanceOptions& options);

}  // namespace mhub::runner
