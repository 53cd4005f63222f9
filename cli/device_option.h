// Options shared by several commands: --device (run, bench, conformance, finetune, eval) and the
// thread counts (--threads, --jobs).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/core/backend.h"

namespace mhub::cli {

// Adds `--device D` (default "cpu") writing into `device`.
void add_device_option(CLI::App* command, std::string& device);

// Adds `flag` (--threads, --jobs) writing into `threads`: 0 (all cores) up to 4 x the cores this
// machine has; more is a usage error (exit 2) that names the limit, since each becomes a thread.
CLI::Option* add_threads_option(CLI::App* command, const std::string& flag, int& threads, const std::string& help);
int max_threads();

// The backend `device` names (nullptr for the CPU); throws mhub::Error (usage or unsupported)
// with what to do instead, e.g. on a build without CUDA or a machine without a GPU.
const engine::Backend* chosen_backend(const std::string& device);

// --precision bf16 on the CPU (backend nullptr) of a machine without bfloat16 units (AVX512_BF16
// or AMX): prints a one-line note to stderr that the run computes in float32 (inference and
// training alike follow the session's bf16 compute hint, which such a CPU does not take).
// Prints nothing otherwise.
void note_cpu_bf16_speed(const std::string& precision, const engine::Backend* backend);

}  // namespace mhub::cli
