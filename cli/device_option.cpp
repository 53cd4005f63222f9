#include "cli/device_option.h"

#include <iostream>

#include "cli/commands.h"
#include "engine/devices.h"

namespace mhub::cli {

void add_device_option(CLI::App* command, std::string& device) {
  std::string help = "Where the model runs: cpu, cuda or cuda:N (nodes the GPU lacks run on the CPU)";
  if (!engine::cuda_built()) help += "; this build has no CUDA backend";
  command->add_option("--device", device, help)->default_val("cpu");
}

const engine::Backend* chosen_backend(const std::string& device) {
  return engine::backend_for_device(device);
}

void add_devices(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "devices", "List the devices --device can name: cpu, and each CUDA GPU this build and machine can use "
                 "(name, memory, compute capability), or why there is none.");
  command->callback([] { std::cout << engine::describe_devices(); });
}

}  // namespace mhub::cli
