// The state of a `mhub sweep`, kept in OUT/sweep.json and rewritten atomically (AtomicFile) after
// every change, so a sweep killed at any moment is continued by running it again with the same
// OUT: recorded epochs are never redone; a trial that was running restarts its current segment
// from the checkpoint its last recorded rung left (OUT/trials/ID/rung-EPOCHS.ckpt.safetensors).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/search_space.h"

namespace mhub::sweep {

// What defines a sweep: running again with different values is refused (a new OUT is needed).
struct SweepConfig {
  std::vector<std::string> base;    // the finetune arguments after "finetune"
  std::vector<std::string> params;  // the --param arguments as given
  std::string method = "random";    // random | grid
  int trials = 0;                   // random: how many; grid: at most (0: all)
  uint64_t seed = 0;
  int halving = 0;                  // successive-halving factor (0: off; else >= 2)
  bool asynchronous = false;        // with halving: ASHA (asha.h) instead of rung-by-rung halving
  int min_epochs = 1;               // the first rung
  std::string metric = "eval_accuracy";  // or eval_loss
  int max_epochs = 1;               // the base's --epochs
};

bool higher_is_better(const std::string& metric);

struct EpochResult {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0, eval_loss = 0, eval_accuracy = 0;
  double metric(const std::string& name) const { return name == "eval_loss" ? eval_loss : eval_accuracy; }
};

struct Trial {
  std::string id;                   // t000, t001, ...: also its folder under OUT/trials
  Settings settings;
  std::string status = "pending";   // pending | running | halted | done | failed
  int epochs = 0;                   // epochs completed and recorded
  int halted_at = 0;                // the rung (epochs) where successive halving stopped it
  std::vector<EpochResult> history;
  double wall_seconds = 0;
  std::string error;                // why it failed (the finetune's last error line)
  // While a segment runs: what its logs held when it started, so a restart can cut them back.
  uint64_t log_bytes = 0;
  std::vector<std::string> event_files;

  const EpochResult* at_epoch(int epoch) const;
  const EpochResult* last() const { return history.empty() ? nullptr : &history.back(); }
};

struct SweepState {
  SweepConfig config;
  std::vector<int> rungs;           // epochs at which trials are compared; the last is max_epochs
  int decided_rungs = 0;            // rungs whose promotion decision is made
  std::vector<Trial> trials;
};

// The rungs: min_epochs, min_epochs*eta, ... below max_epochs, then max_epochs (halving 0: just it).
std::vector<int> make_rungs(int min_epochs, int max_epochs, int halving);

nlohmann::json to_json(const SweepState& state);
// Throws mhub::Error (format) naming `origin` when a field is missing or of the wrong type.
SweepState state_from_json(const nlohmann::json& json, const std::string& origin);

SweepState load_state(const std::filesystem::path& path);
void save_state(const std::filesystem::path& path, const SweepState& state);

// Differences between a stored sweep's defining values and the ones asked for now, one line each.
std::vector<std::string> config_differences(const SweepConfig& stored, const SweepConfig& asked);

}  // namespace mhub::sweep
