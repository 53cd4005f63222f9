// The mhub commands. Each add_* registers one subcommand (options, help, and the action run
// when it is chosen) on the top-level app; main.cpp lists them in one explicit table.
// Actions throw mhub::Error; main.cpp turns that into a message and an exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace mhub::cli {

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
