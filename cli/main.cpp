// mhub: fetch, convert, run and fine-tune ONNX models.
// The only place that prints errors for humans and chooses exit codes (see common/error.h).
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"

namespace {

// Every subcommand, in the order `mhub --help` lists them.
constexpr void (*kCommands[])(CLI::App&) = {
    mhub::cli::add_inspect,
    mhub::cli::add_check,
    mhub::cli::add_convert,
    mhub::cli::add_conformance,
    mhub::cli::add_run,
    mhub::cli::add_bench,
    mhub::cli::add_finetune,
    mhub::cli::add_eval,
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mhub: fetch pretrained models by name, convert between formats (ONNX opsets, "
               "external data), inspect and check them.",
               "mhub"};
  app.set_version_flag("--version", std::string("mhub ") + MHUB_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'mhub COMMAND --help' for the options of one command.");
  for (auto add : kCommands) add(app);
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
