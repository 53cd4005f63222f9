// mhub: fetch, convert, run and fine-tune ONNX models.
// The only place that prints errors for humans and chooses exit codes (see common/error.h).
#include <cstdlib>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <iostream>

#include <unistd.h>

#include "cli/catalogue_option.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "common/allocation_limit.h"
#include "common/error.h"
#include "common/printable.h"
#include "engine/core/openmp_environment.h"

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

// --max-memory SIZE: the largest single tensor allocation (default: the machine's memory).
void add_max_memory_option(CLI::App& app) {
  app.add_option_function<std::string>(
         "--max-memory",
         [](const std::string& text) {
           mhub::set_allocation_limit(mhub::cli::parse_byte_size(text, "--max-memory"));
         },
         "Largest single allocation mhub may make (e.g. 512M, 4G; default: the machine's memory); "
         "an input that needs more is refused with exit code 7")
      ->type_name("SIZE");
  for (CLI::App* command : app.get_subcommands({})) command->fallthrough();
}

}  // namespace

int main(int argc, char** argv) {
  // The engine's threads are one OpenMP team (engine/core/thread_pool.h): after each op they
  // poll briefly for the next one, then sleep (engine/core/openmp_environment.h: GOMP_SPINCOUNT
  // = kOpenMpSpinCount unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT). libgomp reads
  // that only when it loads, so set it and restart once.
  if (mhub::engine::set_openmp_spin_environment())
    mhub::engine::reexecute_self(argv);  // returns only on failure: then run on as we are
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
      "Run 'mhub COMMAND --help' for the options of one command.\n" +
      std::string(mhub::cli::kExitCodesHelp));
  for (auto add : kCommands) add(app);
  mhub::cli::add_catalogue_option(app);
  add_max_memory_option(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version print and exit 0; every other parse error is a usage error (exit 2),
    // whatever CLI11's own code for it (104-114).
    int code = app.exit(error);
    return code == 0 ? 0 : mhub::exit_code_for(mhub::ErrorCategory::usage);
  } catch (const mhub::Error& error) {
    std::cerr << "mhub: error: " << mhub::terminal_safe(error.what()) << "\n";
    return mhub::exit_code_for(error.category());
  } catch (const std::bad_alloc&) {
    // An allocation the machine cannot serve: the input asks for more memory than there is, not
    // a bug. (Sizes read from input are checked against --max-memory before they are tried.)
    std::cerr << "mhub: error: out of memory: the input needs more memory than this machine can give; "
                 "use a smaller input or batch\n";
    return mhub::exit_code_for(mhub::ErrorCategory::unsupported);
  } catch (const std::length_error&) {
    std::cerr << "mhub: error: out of memory: the input asks for a buffer larger than any this machine "
                 "can hold; use a smaller input or batch\n";
    return mhub::exit_code_for(mhub::ErrorCategory::unsupported);
  } catch (const std::filesystem::filesystem_error& error) {
    std::cerr << "mhub: error: " << mhub::terminal_safe(error.what()) << "\n";
    return mhub::exit_code_for(mhub::ErrorCategory::io);
  } catch (const std::exception& error) {
    std::cerr << "mhub: internal error: " << mhub::terminal_safe(error.what()) << "\n";
    return 1;
  }
  return 0;
}
