#include "sweep/sweep_runner.h"

#include <wordexp.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "sweep/asha.h"
#include "sweep/child_process.h"
#include "common/atomic_file.h"
#include "common/error.h"

namespace mhub::sweep {
namespace fs = std::filesystem;
namespace {

bool names_flag(const std::string& token, const std::string& flag) {
  return token == flag || token.rfind(flag + "=", 0) == 0;
}

fs::path trial_dir(const fs::path& out, const Trial& t) { return out / "trials" / t.id; }

// The copy of a trial's checkpoint at a rung, named by its epochs: the state file and the
// checkpoint a segment resumes from then agree whichever of the two writes a kill interrupts
// (a single name, overwritten before the state was saved, let a resumed segment start past the
// recorded epochs). Sweeps begun before kept one rung.ckpt.safetensors: still read.
fs::path rung_checkpoint(const fs::path& dir, int epochs) {
  const fs::path named = dir / ("rung-" + std::to_string(epochs) + ".ckpt.safetensors");
  std::error_code ec;
  if (!fs::exists(named, ec) && fs::exists(dir / "rung.ckpt.safetensors", ec)) return dir / "rung.ckpt.safetensors";
  return named;
}

std::vector<std::string> event_files_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A segment that was running when the sweep died: its logs are cut back to where the segment
// began, so the rerun does not show its epochs twice.
void roll_back_interrupted(Trial& t, const fs::path& dir) {
  std::error_code ec;
  const fs::path jsonl = dir / "metrics.jsonl";
  if (fs::exists(jsonl, ec) && fs::file_size(jsonl, ec) > t.log_bytes) fs::resize_file(jsonl, t.log_bytes, ec);
  for (const auto& name : event_files_in(dir))
    if (std::find(t.event_files.begin(), t.event_files.end(), name) == t.event_files.end()) fs::remove(dir / name, ec);
  t.status = "pending";
}

void copy_atomically(const fs::path& from, const fs::path& to) {
  fs::path temporary = to;
  temporary += ".partial";
  std::error_code ec;
  fs::copy_file(from, temporary, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(temporary, to, ec);
  if (ec) throw Error(ErrorCategory::io, "cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
}

// The finetune's own error line (it prints "mhub: error: ..."), else its last line.
std::string last_error_line(const fs::path& stderr_file) {
  std::ifstream in(stderr_file);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (const size_t cr = line.rfind('\r'); cr != std::string::npos) line = line.substr(cr + 1);  // progress bars
    if (line.empty()) continue;
    last = line;
    if (line.rfind("mhub: ", 0) == 0) error = line;
  }
  return error.empty() ? last : error;
}

struct Running {
  size_t trial = 0;
  int target = 0;
  std::chrono::steady_clock::time_point started;
};

class Runner {
 public:
  Runner(SweepState& state, const RunnerOptions& o) : state_(state), o_(o) {
    const int cores = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads_per_trial_ = std::max(1, cores / std::max(1, o.parallel));
  }

  void run() {
    for (auto& t : state_.trials)
      if (t.status == "running") {
        say(t.id + ": was interrupted; its segment restarts from epoch " + std::to_string(t.epochs));
        roll_back_interrupted(t, trial_dir(o_.out, t));
      }
    save();
    if (state_.config.asynchronous && state_.config.halving >= 2) {
      run_asynchronously();
      finish_sweep();
      return;
    }
    for (size_t r = 0; r < state_.rungs.size(); ++r) {
      const int target = state_.rungs[r];
      std::vector<size_t> queue;
      for (size_t i = 0; i < state_.trials.size(); ++i)
        if (state_.trials[i].status == "pending" && state_.trials[i].epochs < target) queue.push_back(i);
      run_segments(queue, target);
      if (static_cast<int>(r) < state_.decided_rungs) continue;
      if (r + 1 == state_.rungs.size()) {
        for (auto& t : state_.trials)
          if (t.status == "pending" && t.epochs >= target) t.status = "done";
      } else {
        promote(target);
      }
      state_.decided_rungs = static_cast<int>(r) + 1;
      save();
    }
    finish_sweep();
  }

 private:
  void say(const std::string& line) {
    if (o_.report) o_.report(line);
  }

  void finish_sweep() {
    if (const Trial* best = best_trial(state_)) copy_atomically(trial_dir(o_.out, *best) / "model.onnx", o_.out / "best.onnx");
    write_file_atomically(o_.out / "results.csv", results_csv(state_));
  }

  // ASHA: every free slot gets asha_next_job's job at once; the sweep ends when none is left and
  // nothing runs. Its decisions are read off the state, so a resumed sweep needs nothing more.
  void run_asynchronously() {
    std::map<pid_t, Running> running;
    for (;;) {
      while (static_cast<int>(running.size()) < std::max(1, o_.parallel)) {
        const std::optional<Job> job = asha_next_job(state_, /*nothing_running=*/running.empty());
        if (!job) break;
        const Trial& t = state_.trials[job->trial];
        if (t.epochs > 0) say(t.id + ": promoted at " + std::to_string(t.epochs) + " epoch(s)");
        start(job->trial, job->target, running);
      }
      if (running.empty()) break;
      reap_one(running);
    }
    mark_halted(state_);
    save();
  }

  void save() {
    save_state(o_.out / "sweep.json", state_);
    write_file_atomically(o_.out / "results.csv", results_csv(state_));
  }

  // Successive halving at a rung: the best 1/eta of the trials that reached it go on.
  void promote(int rung) {
    const std::string& metric = state_.config.metric;
    std::vector<Trial*> reached;
    for (auto& t : state_.trials)
      if (t.status == "pending" && t.at_epoch(rung)) reached.push_back(&t);
    std::stable_sort(reached.begin(), reached.end(), [&](const Trial* a, const Trial* b) {
      const double x = a->at_epoch(rung)->metric(metric), y = b->at_epoch(rung)->metric(metric);
      return higher_is_better(metric) ? x > y : x < y;
    });
    const size_t keep = std::max<size_t>(1, reached.size() / static_cast<size_t>(state_.config.halving));
    for (size_t i = keep; i < reached.size(); ++i) {
      reached[i]->status = "halted";
      reached[i]->halted_at = rung;
    }
    say("rung " + std::to_string(rung) + " epoch(s): " + std::to_string(std::min(keep, reached.size())) + " of " +
        std::to_string(reached.size()) + " trials go on");
  }

  std::vector<std::string> segment_argv(const Trial& t, int target) const {
    const fs::path dir = trial_dir(o_.out, t);
    std::vector<std::string> argv{o_.mhub.string(), "finetune"};
    argv.insert(argv.end(), state_.config.base.begin(), state_.config.base.end());
    for (const auto& [name, value] : t.settings) {
      argv.push_back("--" + name);
      argv.push_back(value);
    }
    for (const std::string& s : {std::string("--out"), (dir / "model.onnx").string(), std::string("--logdir"), dir.string(),
                                 std::string("--json"), std::string("--threads"), std::to_string(threads_per_trial_),
                                 std::string("--stop-after-epochs"), std::to_string(target - t.epochs)})
      argv.push_back(s);
    if (t.epochs > 0) {
      argv.push_back("--resume");
      argv.push_back(rung_checkpoint(dir, t.epochs).string());
    }
    return argv;
  }

  void start(size_t index, int target, std::map<pid_t, Running>& running) {
    Trial& t = state_.trials[index];
    const fs::path dir = trial_dir(o_.out, t);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorCategory::io, dir.string() + ": cannot create the trial folder: " + ec.message());
    t.log_bytes = fs::exists(dir / "metrics.jsonl") ? fs::file_size(dir / "metrics.jsonl") : 0;
    t.event_files = event_files_in(dir);
    t.status = "running";
    save();
    std::string settings;
    for (const auto& [name, value] : t.settings) settings += " " + name + "=" + value;
    say(t.id + settings + ": epochs " + std::to_string(t.epochs) + " -> " + std::to_string(target));
    const pid_t pid = start_child(segment_argv(t, target), dir / "segment.json", dir / "stderr.log");
    running[pid] = {index, target, std::chrono::steady_clock::now()};
  }

  void finish(const ChildExit& exit, const Running& run) {
    Trial& t = state_.trials[run.trial];
    const fs::path dir = trial_dir(o_.out, t);
    t.wall_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - run.started).count();
    const fs::path resumed_from = rung_checkpoint(dir, t.epochs);  // superseded once this segment is saved
    t.status = "pending";
    std::string problem;
    if (!exit.ok()) {
      problem = last_error_line(dir / "stderr.log") + " (" + exit.describe() + ")";
    } else {
      try {
        const auto report = nlohmann::json::parse(read_whole_file(dir / "segment.json"));
        for (const auto& e : report.at("epochs")) {
          EpochResult r{e.at("epoch").get<int>(), e.at("train_loss").get<double>(), e.at("train_accuracy").get<double>(),
                        e.at("eval_loss").get<double>(), e.at("eval_accuracy").get<double>()};
          t.history.erase(std::remove_if(t.history.begin(), t.history.end(), [&](const EpochResult& h) { return h.epoch == r.epoch; }),
                          t.history.end());
          t.history.push_back(r);
          t.epochs = std::max(t.epochs, r.epoch);
        }
        if (t.epochs < run.target) problem = "finetune stopped at epoch " + std::to_string(t.epochs) + " of " + std::to_string(run.target);
        else copy_atomically(dir / "model.onnx.ckpt.safetensors", dir / ("rung-" + std::to_string(t.epochs) + ".ckpt.safetensors"));
      } catch (const std::exception& e) {
        problem = (dir / "segment.json").string() + ": unreadable finetune report: " + e.what();
      }
    }
    if (!problem.empty()) {
      t.status = "failed";
      t.error = problem;
      say(t.id + ": failed: " + problem);
    } else if (const EpochResult* last = t.last()) {
      say(t.id + ": epoch " + std::to_string(last->epoch) + " " + state_.config.metric + " " + format_number(last->metric(state_.config.metric)));
    }
    save();
    std::error_code ec;
    if (problem.empty()) fs::remove(resumed_from, ec);
  }

  void run_segments(const std::vector<size_t>& queue, int target) {
    std::map<pid_t, Running> running;
    size_t next = 0;
    while (next < queue.size() || !running.empty()) {
      while (next < queue.size() && static_cast<int>(running.size()) < std::max(1, o_.parallel)) start(queue[next++], target, running);
      reap_one(running);
    }
  }

  // Waits for a child to end; one of ours is recorded (finish) and leaves `running`.
  void reap_one(std::map<pid_t, Running>& running) {
    const ChildExit exit = wait_for_child();
    const auto it = running.find(exit.pid);
    if (it == running.end()) return;
    const Running run = it->second;
    running.erase(it);
    finish(exit, run);
  }

  SweepState& state_;
  const RunnerOptions& o_;
  int threads_per_trial_ = 1;
};

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
  return quoted + "\"";
}

double best_metric(const Trial& t, const std::string& metric) {
  double best = t.history.front().metric(metric);
  for (const auto& e : t.history) best = higher_is_better(metric) ? std::max(best, e.metric(metric)) : std::min(best, e.metric(metric));
  return best;
}

}  // namespace

const std::vector<std::string>& flags_set_by_sweep() {
  static const std::vector<std::string> flags{"--out", "--logdir", "--resume", "--json", "--stop-after-epochs", "--threads"};
  return flags;
}

std::vector<std::string> parse_base(const std::string& base) {
  wordexp_t words{};
  const int rc = wordexp(base.c_str(), &words, WRDE_NOCMD);
  if (rc != 0) {
    if (rc == WRDE_NOSPACE) wordfree(&words);
    throw Error(ErrorCategory::usage, "--base '" + base + "': cannot split it into arguments (unbalanced quotes, or a character such as | ; < > ( ) { } that a shell gives meaning; quote it)");
  }
  std::vector<std::string> args(words.we_wordv, words.we_wordv + words.we_wordc);
  wordfree(&words);
  if (!args.empty() && (args[0] == "mhub" || fs::path(args[0]).filename() == "mhub")) args.erase(args.begin());
  if (!args.empty() && args[0] == "finetune") args.erase(args.begin());
  if (args.empty() || args[0].rfind("-", 0) == 0)
    throw Error(ErrorCategory::usage, "--base '" + base + "': expected 'finetune MODEL --data ... [options]'");
  for (const auto& a : args)
    for (const auto& flag : flags_set_by_sweep())
      if (names_flag(a, flag)) throw Error(ErrorCategory::usage, "--base: " + flag + " is set by the sweep for each trial; leave it out");
  return args;
}

int base_epochs(const std::vector<std::string>& base) {
  int epochs = 1;
  for (size_t i = 0; i < base.size(); ++i) {
    std::string value;
    if (base[i] == "--epochs" && i + 1 < base.size()) value = base[i + 1];
    else if (base[i].rfind("--epochs=", 0) == 0) value = base[i].substr(9);
    else continue;
    try {
      epochs = std::stoi(value);
    } catch (const std::exception&) {
      epochs = 0;
    }
    if (epochs < 1) throw Error(ErrorCategory::usage, "--base: --epochs '" + value + "' is not a positive number");
  }
  return epochs;
}

void run_sweep(SweepState& state, const RunnerOptions& options) { Runner(state, options).run(); }

const Trial* best_trial(const SweepState& state) {
  const std::string& metric = state.config.metric;
  const Trial* best = nullptr;
  for (const auto& t : state.trials) {
    if (t.status != "done" || !t.last()) continue;
    const double value = t.last()->metric(metric);
    if (!best || (higher_is_better(metric) ? value > best->last()->metric(metric) : value < best->last()->metric(metric))) best = &t;
  }
  return best;
}

std::string results_csv(const SweepState& state) {
  const std::string& metric = state.config.metric;
  std::vector<std::string> names;
  for (const auto& t : state.trials)
    for (const auto& setting : t.settings)
      if (std::find(names.begin(), names.end(), setting.first) == names.end()) names.push_back(setting.first);
  std::string csv = "trial,status";
  for (const auto& n : names) csv += "," + n;
  const std::string other = metric == "eval_loss" ? "eval_accuracy" : "eval_loss";  // the metric not swept on, for reference
  csv += ",epochs,halted_at,final_" + metric + ",best_" + metric + ",final_" + other + ",wall_seconds,model,best,error\n";
  const Trial* best = best_trial(state);
  for (const auto& t : state.trials) {
    csv += t.id + "," + t.status;
    for (const auto& n : names) {
      std::string value;
      for (const auto& [name, v] : t.settings)
        if (name == n) value = v;
      csv += "," + csv_field(value);
    }
    const EpochResult* last = t.last();
    csv += "," + std::to_string(t.epochs) + "," + (t.halted_at ? std::to_string(t.halted_at) : "");
    csv += "," + (last ? format_number(last->metric(metric)) : "") + "," + (last ? format_number(best_metric(t, metric)) : "");
    csv += "," + (last ? format_number(last->metric(other)) : "");
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", t.wall_seconds);
    csv += std::string(",") + seconds + "," + (last ? "trials/" + t.id + "/model.onnx" : "") + "," + (&t == best ? "yes" : "") + "," +
           csv_field(t.error) + "\n";
  }
  return csv;
}

nlohmann::json results_json(const SweepState& state, const fs::path& out) {
  const std::string& metric = state.config.metric;
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& t : state.trials) {
    nlohmann::json settings = nlohmann::json::object();
    for (const auto& [name, value] : t.settings) settings[name] = value;
    nlohmann::json row{{"trial", t.id}, {"status", t.status}, {"settings", settings}, {"epochs", t.epochs},
                       {"wall_seconds", t.wall_seconds}, {"folder", (out / "trials" / t.id).string()}};
    if (t.halted_at) row["halted_at"] = t.halted_at;
    if (const EpochResult* last = t.last()) {
      row["final"] = last->metric(metric);
      row["best"] = best_metric(t, metric);
    }
    if (!t.error.empty()) row["error"] = t.error;
    trials.push_back(row);
  }
  nlohmann::json result{{"out", out.string()}, {"metric", metric}, {"rungs", state.rungs}, {"trials", trials}};
  if (const Trial* best = best_trial(state))
    result["best"] = {{"trial", best->id}, {metric, best->last()->metric(metric)}, {"model", (out / "best.onnx").string()}};
  return result;
}

}  // namespace mhub::sweep
