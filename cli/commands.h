// The mhub commands. Each add_* registers one subcommand (options, help, and the action run
// when it is chosen) on the top-level app; main.cpp lists them in one explicit table.
// Actions throw mhub::Error; main.cpp turns that into a message and an exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace mhub::cli {

// The end of every help text: main.cpp's exit codes (common/error.h's exit_code_for; README.md
// explains each). Subcommands inherit the top-level footer; one with a footer of its own ends it
// with this.
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 success, 1 internal error (a bug), 2 usage, 3 file system, 4 bad file format, 5 network, "
    "6 integrity (checksum or size), 7 unsupported (or out of memory), 8 not found on the hub.";

void add_inspect(CLI::App& app);
void add_check(CLI::App& app);
void add_convert(CLI::App& app);
void add_list(CLI::App& app);
void add_search(CLI::App& app);
void add_info(CLI::App& app);
void add_pull(CLI::App& app);
void add_cache(CLI::App& app);
void add_conformance(CLI::App& app);
void add_run(CLI::App& app);
void add_bench(CLI::App& app);
void add_finetune(CLI::App& app);
void add_eval(CLI::App& app);
void add_sweep(CLI::App& app);  // hyper-parameter search over finetune
void add_board(CLI::App& app);  // the local web page of runs and models
void add_devices(CLI::App& app);  // in device_option.cpp

}  // namespace mhub::cli
