// mhub conformance DIR... [--json] [--filter GLOB] [--device D] [--jobs N] [--reference] [--verbose]
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "common/error.h"
#include "runner/conformance.h"

namespace mhub::cli {

namespace {

struct ConformanceCliOptions {
  std::vector<std::string> dirs;
  bool json = false;
  bool verbose = false;
  std::string filter;
  std::string device = "cpu";
  int jobs = 0;
  bool reference_only = false;
};

const char* status_name(runner::CaseResult::Status status) {
  switch (status) {
    case runner::CaseResult::Status::passed: return "passed";
    case runner::CaseResult::Status::skipped: return "skipped";
    default: return "failed";
  }
}

void print_text(const std::vector<runner::DirResult>& results, bool verbose) {
  size_t passed = 0, failed = 0, skipped = 0;
  for (const runner::DirResult& dir : results) {
    std::map<std::string, int> blamed;
    for (const runner::CaseResult& c : dir.cases) {
      if (c.status == runner::CaseResult::Status::passed && !verbose) continue;
      if (c.status == runner::CaseResult::Status::skipped && !verbose) continue;
      std::cout << "  " << status_name(c.status) << "  " << c.name;
      if (!c.reason.empty()) std::cout << ": " << c.reason;
      std::cout << "\n";
      if (c.status == runner::CaseResult::Status::failed)
        for (const std::string& op : c.ops) ++blamed[op];
    }
    std::cout << dir.path << ": " << dir.passed << " passed, " << dir.failed << " failed, "
              << dir.skipped << " skipped\n";
    if (!blamed.empty()) {
      std::vector<std::pair<std::string, int>> ops(blamed.begin(), blamed.end());
      std::stable_sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.second > b.second; });
      std::cout << "  failing ops:";
      for (const auto& [op, count] : ops) std::cout << " " << op << " " << count;
      std::cout << "\n";
    }
    passed += dir.passed;
    failed += dir.failed;
    skipped += dir.skipped;
  }
  if (results.size() > 1)
    std::cout << "total: " << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
}

nlohmann::json to_json(const std::vector<runner::DirResult>& results) {
  nlohmann::json out;
  out["dirs"] = nlohmann::json::array();
  size_t passed = 0, failed = 0, skipped = 0;
  for (const runner::DirResult& dir : results) {
    nlohmann::json cases = nlohmann::json::array();
    for (const runner::CaseResult& c : dir.cases) {
      nlohmann::json entry{{"name", c.name}, {"status", status_name(c.status)}, {"seconds", c.seconds}};
      if (!c.reason.empty()) entry["reason"] = c.reason;
      if (!c.ops.empty() && c.status == runner::CaseResult::Status::failed) entry["ops"] = c.ops;
      cases.push_back(std::move(entry));
    }
    out["dirs"].push_back({{"path", dir.path},
                           {"passed", dir.passed},
                           {"failed", dir.failed},
                           {"skipped", dir.skipped},
                           {"cases", std::move(cases)}});
    passed += dir.passed;
    failed += dir.failed;
    skipped += dir.skipped;
  }
  out["passed"] = passed;
  out["failed"] = failed;
  out["skipped"] = skipped;
  return out;
}

}  // namespace

void add_conformance(CLI::App& app) {
  auto options = std::make_shared<ConformanceCliOptions>();
  CLI::App* command = app.add_subcommand(
      "conformance",
      "Run ONNX backend-suite test cases on mhub's engine and compare every output with the "
      "expected one (rtol 1e-3, atol 1e-7; exact for integers, bools, strings).");
  command->add_option("DIR", options->dirs,
                      "A case folder (model.onnx + test_data_set_N/), a folder of case folders "
                      "(e.g. onnx-backend-tests/node), or the light/ folder (light_X.onnx + "
                      "light_X_output_0.pb)")
      ->required();
  command->add_flag("--json", options->json,
                    "Print one JSON object: {\"dirs\":[{\"path\",\"passed\",\"failed\",\"skipped\","
                    "\"cases\"}],\"passed\",\"failed\",\"skipped\"}");
  command->add_option("--filter", options->filter,
                      "Only cases whose name matches this glob (e.g. 'test_conv*')");
  add_device_option(command, options->device);
  add_threads_option(command, "--jobs", options->jobs, "Cases run in parallel (default: all cores)");
  command->add_flag("--reference", options->reference_only,
                    "Use reference kernels only (checks that fast kernels are not what passes)");
  command->add_flag("--verbose", options->verbose, "List passed and skipped cases too");
  command->footer(
      "A case whose model uses an op mhub has no kernel for fails with reason 'unsupported op X'; "
      "cases using training ops (ai.onnx.preview.training) are skipped. Exit code 0 even "
      "when cases fail; read the counts (or --json).\n" +
      std::string(kExitCodesHelp));
  command->callback([options] {
    runner::ConformanceOptions run_options;
    run_options.backend = chosen_backend(options->device);
    run_options.filter = options->filter;
    run_options.jobs = options->jobs;
    run_options.allow_fast = !options->reference_only;
    std::vector<runner::DirResult> results;
    for (const std::string& dir : options->dirs)
      results.push_back(runner::run_conformance_dir(dir, run_options));
    if (options->json)
      std::cout << to_json(results).dump(1) << "\n";
    else
      print_text(results, options->verbose);
  });
}

}  // namespace mhub::cli
