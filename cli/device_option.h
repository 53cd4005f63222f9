// The --device option shared by run, bench, conformance, finetune and eval.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/core/backend.h"

namespace mhub::cli {

// Adds `--device D` (default "cpu") writing into `device`.
void add_device_option(CLI::App* command, std::string& device);

// The backend `device` names (nullptr for the CPU); throws mhub::Error (usage or unsupported)
// with what to do instead, e.g. on a build without CUDA or a machine without a GPU.
const engine::Backend* chosen_backend(const std::string& device);

}  // namespace mhub::cli
