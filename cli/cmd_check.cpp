// mhub check FILE [--json]
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "onnx_io/onnx_tools.h"

namespace mhub::cli {

namespace {

struct CheckOptions {
  std::string file;
  bool json = false;
};

}  // namespace

void add_check(CLI::App& app) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* command = app.add_subcommand(
      "check", "Run the ONNX checker (full check) and shape inference on a model and report "
               "what they find. Exit code 4 when either fails.");
  command->add_option("FILE", options->file, "An .onnx model file")->required();
  command->add_flag("--json", options->json, "Print one JSON object instead of text");
  command->callback([options] {
    onnx_io::CheckReport report = onnx_io::check_model_file(options->file);
    auto status = [](bool ran, bool passed) { return !ran ? "skipped" : passed ? "passed" : "failed"; };
    if (options->json) {
      nlohmann::json json = {
          {"file", options->file},
          {"checker", {{"status", status(report.checker_ran, report.checker_passed)},
                       {"message", report.checker_message}}},
          {"shape_inference", {{"status", status(report.shapes_ran, report.shapes_passed)},
                               {"message", report.shapes_message},
                               {"typed_before", report.values_typed_before},
                               {"typed_after", report.values_typed_after},
                               {"untyped", report.untyped_values}}},
      };
      std::cout << json.dump(2) << "\n";
    } else {
      std::cout << options->file << "\n";
      std::cout << "  checker          " << status(report.checker_ran, report.checker_passed);
      if (!report.checker_message.empty()) std::cout << ": " << report.checker_message;
      std::cout << "\n  shape inference  " << status(report.shapes_ran, report.shapes_passed);
      if (!report.shapes_message.empty()) std::cout << ": " << report.shapes_message;
      std::cout << "\n";
      if (report.shapes_ran)
        std::cout << "  typed values     " << report.values_typed_before << " before, "
                  << report.values_typed_after << " after inference; "
                  << report.untyped_values.size() << " node outputs left untyped\n";
    }
    bool failed = (report.checker_ran && !report.checker_passed) ||
                  (report.shapes_ran && !report.shapes_passed);
    if (failed)
      throw Error(ErrorCategory::format, options->file + ": the model does not pass the ONNX checks above");
  });
}

}  // namespace mhub::cli
