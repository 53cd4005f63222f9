// ASHA (`mhub sweep --halving ETA --async`): the promotion rule on hand-made states, and whole
// sweeps driven through run_sweep with a stand-in for `mhub finetune` (a shell script whose
// eval accuracy is lr x epoch / 100), uninterrupted and interrupted then resumed.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "sweep/asha.h"
#include "sweep/search_space.h"
#include "sweep/sweep_runner.h"
#include "sweep/sweep_state.h"

namespace fs = std::filesystem;
using namespace mhub;

namespace {

// Rungs 1, 2, 4 (eta 2); trial i has the given accuracy at each epoch it recorded.
sweep::SweepState state_with(const std::vector<std::vector<double>>& accuracies) {
  sweep::SweepState s;
  s.config.halving = 2;
  s.config.asynchronous = true;
  s.config.max_epochs = 4;
  s.rungs = sweep::make_rungs(1, 4, 2);
  for (size_t i = 0; i < accuracies.size(); ++i) {
    sweep::Trial t;
    t.id = "t00" + std::to_string(i);
    for (size_t e = 0; e < accuracies[i].size(); ++e) t.history.push_back({static_cast<int>(e + 1), 0, 0, 0, accuracies[i][e]});
    t.epochs = static_cast<int>(accuracies[i].size());
    s.trials.push_back(t);
  }
  return s;
}

// The stand-in for `mhub finetune`: reads --lr, --logdir, --stop-after-epochs and --resume (the
// rung checkpoint holds the epochs done), prints finetune's --json report, writes the model and
// its checkpoint, and appends "ID FROM TO" to its log.
fs::path write_fake_finetune(const fs::path& dir) {
  const fs::path script = dir / "fake-mhub.sh";
  std::ofstream(script) << R"SH(#!/bin/sh
shift
lr= dir= k= done=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lr) lr=$2; shift ;;
    --logdir) dir=$2; shift ;;
    --stop-after-epochs) k=$2; shift ;;
    --resume) done=$(cat "$2"); shift ;;
  esac
  shift
done
echo "$(basename "$dir") $done $((done + k))" >> "$(dirname "$0")/segments.log"
printf '{"epochs": ['
e=$done sep=
while [ "$e" -lt $((done + k)) ]; do
  e=$((e + 1))
  printf '%s{"epoch": %d, "train_loss": 1, "train_accuracy": 0.5, "eval_loss": 1, "eval_accuracy": 0.%02d}' "$sep" "$e" $((lr * e))
  sep=,
done
echo ']}'
echo "$e" > "$dir/model.onnx.ckpt.safetensors"
: > "$dir/model.onnx"
)SH";
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

// A 6-trial grid over lr = 1,5,3,6,2,4 with --halving 2 --async, one trial at a time.
sweep::SweepState six_trial_sweep() {
  sweep::SweepState s;
  s.config.base = {"fake-model", "--data", "none", "--epochs", "4"};
  s.config.params = {"lr=1,5,3,6,2,4"};
  s.config.method = "grid";
  s.config.halving = 2;
  s.config.asynchronous = true;
  s.config.max_epochs = 4;
  s.rungs = sweep::make_rungs(1, 4, 2);
  const auto settings = sweep::grid_trials({sweep::parse_param(s.config.params[0])}, 0);
  for (size_t i = 0; i < settings.size(); ++i) {
    sweep::Trial t;
    t.id = "t00" + std::to_string(i);
    t.settings = settings[i];
    s.trials.push_back(t);
  }
  return s;
}

std::string statuses(const sweep::SweepState& s) {
  std::string text;
  for (const auto& t : s.trials) text += t.id + ":" + t.status + "@" + std::to_string(t.epochs) + " ";
  return text;
}

std::map<std::string, int> segment_counts(const fs::path& log) {
  std::map<std::string, int> counts;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) counts[line]++;
  return counts;
}

}  // namespace

TEST_SUITE("sweep_board") {
  TEST_CASE("ASHA: a trial is promoted once it is in the top 1/eta of those that reached its rung") {
    // Three trials reached rung 1 (0.5, 0.9, 0.7), three have not started: floor(3/2) = 1 goes on.
    auto s = state_with({{0.5}, {0.9}, {0.7}, {}, {}, {}});
    auto job = sweep::asha_next_job(s, false);
    REQUIRE(job);
    CHECK(job->trial == 1);
    CHECK(job->target == 2);
    s.trials[1].status = "running";
    job = sweep::asha_next_job(s, false);  // the top one is busy: a new trial starts
    REQUIRE(job);
    CHECK(job->trial == 3);
    CHECK(job->target == 1);
    // A later, better trial is promoted too, as the quota grows with the trials that reached the rung.
    s = state_with({{0.5}, {0.9, 0.9}, {0.7}, {0.95}, {0.1}, {0.2}});
    job = sweep::asha_next_job(s, false);
    REQUIRE(job);
    CHECK(job->trial == 3);  // top 3 of 6: 0.95, 0.9 (already on rung 2), 0.7 -> 0.95 first
    s.trials[3].status = "running";
    job = sweep::asha_next_job(s, false);
    REQUIRE(job);
    CHECK(job->trial == 2);  // 0.7 is third of six
    s.trials[2].status = "running";
    CHECK(!sweep::asha_next_job(s, false));  // 0.5, 0.2, 0.1 wait; nothing to start
    // Higher rungs first: on rung 2 the best of floor(2/2) = 1 continues to the last rung.
    s = state_with({{0.5, 0.6}, {0.9, 0.8}, {0.7}, {0.1}});
    job = sweep::asha_next_job(s, false);
    REQUIRE(job);
    CHECK(job->trial == 1);
    CHECK(job->target == 4);
    // eval_loss: lower is better.
    s = state_with({{0.5}, {0.9}});
    s.config.metric = "eval_loss";
    for (auto& t : s.trials) std::swap(t.history[0].eval_loss, t.history[0].eval_accuracy);
    job = sweep::asha_next_job(s, false);
    REQUIRE(job);
    CHECK(job->trial == 0);
  }

  TEST_CASE("ASHA: once no result can arrive, at least one trial per rung goes on; the rest are halted") {
    auto s = state_with({{0.5}, {0.9}, {0.2}});  // floor(3/2) = 1: 0.9 goes on anyway
    s.trials[1].history.push_back({2, 0, 0, 0, 0.8});
    s.trials[1].epochs = 2;
    CHECK(!sweep::asha_next_job(s, /*nothing_running=*/false));  // rung 2: floor(1/2) = 0 while others run
    auto job = sweep::asha_next_job(s, /*nothing_running=*/true);
    REQUIRE(job);
    CHECK(job->trial == 1);
    CHECK(job->target == 4);
    s.trials.push_back({});
    s.trials.back().id = "t003";  // a trial not started yet: results can still arrive
    job = sweep::asha_next_job(s, true);
    REQUIRE(job);
    CHECK(job->trial == 3);
    s.trials.pop_back();
    s.trials[1].history.push_back({4, 0, 0, 0, 0.85});
    s.trials[1].epochs = 4;
    CHECK(!sweep::asha_next_job(s, true));
    sweep::mark_halted(s);
    CHECK(statuses(s) == "t000:halted@1 t001:done@4 t002:halted@1 ");
    CHECK(s.trials[0].halted_at == 1);
  }

  TEST_CASE("ASHA sweep through run_sweep: promotions without waiting for a rung, resumed after an interruption") {
    const fs::path root = fs::temp_directory_path() / ("mhub-asha-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "once");
    fs::create_directories(root / "twice");
    sweep::RunnerOptions options;
    options.threads = 1;
    options.parallel = 1;

    // Uninterrupted: lr 1, 5 -> 5 promoted to 2 epochs at once; lr 3; lr 6 -> promoted to 2, then
    // to 4 (rung 2's top 1 of 2); lr 2; lr 4 -> third of six at rung 1, promoted; then nothing:
    // 6 finishes, the others halt where they stand.
    options.out = root / "once";
    options.mhub = write_fake_finetune(root / "once");
    auto once = six_trial_sweep();
    sweep::run_sweep(once, options);
    CHECK(statuses(once) == "t000:halted@1 t001:halted@2 t002:halted@1 t003:done@4 t004:halted@1 t005:halted@2 ");
    REQUIRE(sweep::best_trial(once));
    CHECK(sweep::best_trial(once)->id == "t003");
    CHECK(fs::exists(root / "once" / "best.onnx"));
    const auto segments = segment_counts(root / "once" / "segments.log");
    CHECK(segments.size() == 10);
    // (pairs, not structured bindings: clang 14 cannot use those inside doctest's lambdas)
    for (const auto& entry : segments) CHECK_MESSAGE(entry.second == 1, entry.first);

    // Interrupted right after t003's last segment finished, before its result was saved (as a
    // kill there would): sweep.json still says t003 is running at 2 epochs.
    options.out = root / "twice";
    options.mhub = write_fake_finetune(root / "twice");
    options.report = [](const std::string& line) {
      if (line.rfind("t003: epoch 4", 0) == 0) throw std::runtime_error("interrupted");
    };
    auto first = six_trial_sweep();
    CHECK_THROWS_AS(sweep::run_sweep(first, options), std::runtime_error);
    auto resumed = sweep::load_state(root / "twice" / "sweep.json");
    CHECK(resumed.trials[3].status == "running");
    CHECK(resumed.trials[3].epochs == 2);
    options.report = nullptr;
    sweep::run_sweep(resumed, options);
    CHECK(statuses(resumed) == statuses(once));
    // Recorded epochs were not redone: only the interrupted segment ran twice.
    for (const auto& entry : segment_counts(root / "twice" / "segments.log"))
      CHECK_MESSAGE(entry.second == (entry.first == "t003 2 4" ? 2 : 1), entry.first);
    fs::remove_all(root);
  }
}
