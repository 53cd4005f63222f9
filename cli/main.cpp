// mhub: fetch, convert, run and fine-tune ONNX models.
// The only place that prints errors for humans and chooses exit codes (see common/error.h).
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include "cli/catalogue_option.h"
#include "cli/commands.h"
#include "common/error.h"

namespace {

// Every subcommand, in the order `mhub --help` lists them.
constexpr void (*kCommands[])(CLI::App&) = {
    mhub::cli::add_inspect,
    mhub::cli::add_check,
    mhub::cli::add_convert,
    mhub::cli::add_list,
    mhub::cli::add_search,
    mhub::cli::add_info,
    mhub::cli::add_pull,
    mhub::cli::add_cache,
    mhub::cli::add_conformance,
    mhub::cli::add_run,
    mhub::cli::add_bench,
    mhub::cli::add_finetune,
    mhub::cli::add_eval,
    mhub::cli::add_sweep,
    mhub::cli::add_board,
    mhub::cli::add_devices,
};

}  // namespace

int main(int argc, char** argv) {
  // oneDNN (fast Conv/GEMM) runs on OpenMP, whose idle threads spin by default and then fight
  // the engine's own pool for the cores (measured 7x slower on a loaded 2-core machine).
  // libgomp reads OMP_WAIT_POLICY only when it loads, so set it and restart once.
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then run on as we are
  }
  CLI::App app{"mhub: fetch pretrained models by name, convert between formats (ONNX opsets, external "
               "data, fp16/bf16, safetensors, PyTorch .pth, GGUF), run, benchmark and fine-tune them.",
               "mhub"};
  app.set_version_flag("--version", std::string("mhub ") + MHUB_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Start with the bundled model (no network needed):\n"
      "  mhub info fashion-cnn\n"
      "  mhub run fashion-cnn -i models/fashion-cnn/sample_input.npy\n"
      "  mhub eval fashion-cnn --data /usr/share/datasets/fashion-mnist\n"
      "Find and fetch others: mhub search resnet; mhub pull resnet50\n"
      "Run 'mhub COMMAND --help' for the options of one command.");
  for (auto add : kCommands) add(app);
  mhub::cli::add_catalogue_option(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const mhub::Error& error) {
    std::cerr << "mhub: error: " << error.what() << "\n";
    return mhub::exit_code_for(error.category());
  } catch (const std::exception& error) {
    std::cerr << "mhub: internal error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
