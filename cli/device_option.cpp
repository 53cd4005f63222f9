#include "cli/device_option.h"

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "engine/cpu/bf16_support.h"
#include "engine/devices.h"

namespace mhub::cli {

void add_device_option(CLI::App* command, std::string& device) {
  std::string help = "Where the model runs: cpu, cuda or cuda:N (nodes the GPU lacks run on the CPU)";
  if (!engine::cuda_built()) help += "; this build has no CUDA backend";
  command->add_option("--device", device, help)->default_val("cpu");
}

int max_threads() {
  unsigned cores = std::thread::hardware_concurrency();
  return 4 * static_cast<int>(cores ? cores : 1);
}

CLI::Option* add_threads_option(CLI::App* command, const std::string& flag, int& threads, const std::string& help) {
  int limit = max_threads();
  return command->add_option(flag, threads, help)
      ->check(CLI::Validator(
          [limit](const std::string& text) -> std::string {
            // CLI11 has converted nothing yet: parse here so the message can name the limit.
            long long value = 0;
            try {
              size_t used = 0;
              value = std::stoll(text, &used);
              if (used != text.size()) return "'" + text + "' is not a whole number";
            } catch (const std::exception&) {
              return "'" + text + "' is not a whole number";
            }
            if (value < 0 || value > limit)
              return "must be between 0 (all cores) and " + std::to_string(limit) + " (4 x the " +
                     std::to_string(limit / 4) + " cores here), not " + text;
            return "";
          },
          "0.." + std::to_string(limit)));
}

const engine::Backend* chosen_backend(const std::string& device) {
  return engine::backend_for_device(device);
}

void note_cpu_bf16_speed(const std::string& precision, const engine::Backend* backend) {
  if (precision != "bf16" || backend || engine::cpu::cpu_has_bf16_units()) return;
  std::cerr << "note: this CPU has no bfloat16 units (AVX512_BF16 or AMX): --precision bf16 computes in float32 "
               "here (same speed and results as fp32)\n";
}

void add_devices(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "devices", "List what `run --device` (and bench's, finetune's, eval's, conformance's) can name: cpu, and each "
                 "CUDA GPU this build and machine can use (name, memory, compute capability), or why there is none.");
  command->callback([] { std::cout << engine::describe_devices(); });
}

}  // namespace mhub::cli
