// Running a sweep: every trial is its own `mhub finetune` process in OUT/trials/ID (its model,
// checkpoints, metrics.jsonl and TensorBoard files), at most `parallel` at a time with the CPU
// threads split between them. With successive halving the trials run rung by rung: all to the
// first rung's epochs, then the best 1/eta (on the sweep's metric at that epoch) continue from
// their checkpoints to the next rung, and so on; the rest are marked halted. With
// config.asynchronous (ASHA, asha.h) a free slot never waits for a rung to fill: it promotes a
// trial as soon as it is in the top 1/eta of those that reached its rung, else starts a new one.
// A trial whose process fails is marked failed with its error and the sweep goes on.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/sweep_state.h"

namespace mhub::sweep {

struct RunnerOptions {
  std::filesystem::path out;    // the sweep folder (sweep.json, results.csv, best.onnx, trials/)
  std::filesystem::path mhub;   // the binary that runs `finetune`
  int parallel = 1;
  int threads = 0;              // CPU threads for all trials together (0: all cores)
  std::function<void(const std::string&)> report;  // one line per event, for people
};

// Finetune arguments the sweep sets itself; a --base naming one is refused.
const std::vector<std::string>& flags_set_by_sweep();

// `base` split as a shell would (no command substitution), "mhub" and "finetune" in front
// dropped. Throws mhub::Error (usage) on bad quoting or a flag the sweep sets itself.
std::vector<std::string> parse_base(const std::string& base);

// The base's --epochs (finetune's default 1 when absent). Throws mhub::Error (usage).
int base_epochs(const std::vector<std::string>& base);

// Runs what is left of `state` (saved to OUT/sweep.json after every change), then writes
// OUT/results.csv and copies the best finished trial's model to OUT/best.onnx.
void run_sweep(SweepState& state, const RunnerOptions& options);

// The best trial that ran all epochs (nullptr: none did).
const Trial* best_trial(const SweepState& state);
std::string results_csv(const SweepState& state);
nlohmann::json results_json(const SweepState& state, const std::filesystem::path& out);

}  // namespace mhub::sweep
