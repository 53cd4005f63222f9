// What `mhub board` shows, as JSON: the runs under a log folder (every folder holding a
// metrics.jsonl, as `mhub finetune --logdir` writes it), the sweeps among them (folders holding a
// sweep.json, as `mhub sweep` writes it: their trials' settings, statuses and errors; a single
// run's settings from the run.json finetune writes beside its log), one run's metrics rows, and
// the ONNX models under the log folder and the model cache.
// Walks are bounded (depth, entries) and never follow symlinked folders; unreadable files and
// partial last lines of a log being written are skipped rather than reported as errors.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mhub::board {

// {"logdir", "runs": [{id, sweep, trial, status, settings, epochs, rows, points, last, updated_ago, error}],
//  "sweeps": [{id, metric, params, rungs, best, trials: [{trial, run, status, settings, epochs, final}]}]}
// A run's id is its folder relative to `logdir` ("." for the log folder itself).
nlohmann::json list_runs(const std::filesystem::path& logdir);

// {"run", "rows": [every parsed line of its metrics.jsonl]}; none when `run` names no run under logdir.
std::optional<nlohmann::json> run_metrics(const std::filesystem::path& logdir, std::string_view run);

// {"models": [{root: "logdir"|"cache", path, bytes}]} (at most 500 per root).
nlohmann::json list_models(const std::filesystem::path& logdir, const std::filesystem::path& cache);

}  // namespace mhub::board
