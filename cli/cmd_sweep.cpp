// mhub sweep --base 'finetune MODEL --data ... --epochs N ...' --param NAME=SPEC ... --out DIR
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "sweep/search_space.h"
#include "sweep/sweep_runner.h"
#include "sweep/sweep_state.h"
#include "common/error.h"

namespace mhub::cli {
namespace {

struct SweepCli {
  std::string base, method = "random", metric = "eval_accuracy", out;
  std::vector<std::string> params;
  int trials = 0, parallel = 1, halving = 0, min_epochs = 1, threads = 0;
  uint64_t seed = 0;
  bool json = false, asynchronous = false;
};

sweep::SweepConfig config_from(const SweepCli& cli) {
  sweep::SweepConfig c;
  c.base = sweep::parse_base(cli.base);
  c.params = cli.params;
  c.method = cli.method;
  c.trials = cli.trials;
  c.seed = cli.seed;
  c.halving = cli.halving;
  c.asynchronous = cli.asynchronous;
  c.min_epochs = cli.min_epochs;
  c.metric = cli.metric;
  c.max_epochs = sweep::base_epochs(c.base);
  return c;
}

sweep::SweepState new_sweep(const sweep::SweepConfig& c) {
  std::vector<sweep::ParamSpec> specs;
  for (const auto& p : c.params) {
    specs.push_back(sweep::parse_param(p));
    for (const auto& a : c.base)
      if (a == "--" + specs.back().name || a.rfind("--" + specs.back().name + "=", 0) == 0)
        throw Error(ErrorCategory::usage, "--param " + p + ": --base sets --" + specs.back().name + " too; leave it out of one of them");
    for (const auto& flag : sweep::flags_set_by_sweep())
      if (flag == "--" + specs.back().name) throw Error(ErrorCategory::usage, "--param " + p + ": " + flag + " is set by the sweep itself");
  }
  if (c.halving == 1 || c.halving < 0) throw Error(ErrorCategory::usage, "--halving: give 0 (off) or a factor of at least 2");
  if (c.min_epochs < 1) throw Error(ErrorCategory::usage, "--min-epochs must be at least 1");
  if (c.asynchronous && c.halving < 2) throw Error(ErrorCategory::usage, "--async is asynchronous successive halving: it needs --halving ETA");
  if (c.trials < 0) throw Error(ErrorCategory::usage, "--trials must not be negative");
  sweep::SweepState state;
  state.config = c;
  state.rungs = sweep::make_rungs(c.min_epochs, c.max_epochs, c.halving);
  std::vector<sweep::Settings> settings;
  if (c.method == "grid") {
    settings = sweep::grid_trials(specs, c.trials);
  } else {
    if (c.trials < 1) throw Error(ErrorCategory::usage, "--method random needs --trials N");
    settings = sweep::random_trials(specs, c.trials, c.seed);
  }
  for (size_t i = 0; i < settings.size(); ++i) {
    sweep::Trial t;
    char id[24];  // "t" + up to 20 digits of a size_t + NUL
    std::snprintf(id, sizeof id, "t%03zu", i);
    t.id = id;
    t.settings = settings[i];
    state.trials.push_back(std::move(t));
  }
  return state;
}

void print_summary(const sweep::SweepState& state, const std::filesystem::path& out) {
  const std::string& metric = state.config.metric;
  std::printf("%-6s %-8s %-6s %-10s %s\n", "trial", "status", "epochs", metric == "eval_loss" ? "eval_loss" : "eval_acc", "settings");
  for (const auto& t : state.trials) {
    std::string settings;
    for (const auto& [name, value] : t.settings) settings += (settings.empty() ? "" : " ") + name + "=" + value;
    std::string value = t.last() ? sweep::format_number(t.last()->metric(metric)) : "-";
    std::string status = t.status == "halted" ? "halted@" + std::to_string(t.halted_at) : t.status;
    std::printf("%-6s %-8s %-6d %-10s %s%s\n", t.id.c_str(), status.c_str(), t.epochs, value.c_str(), settings.c_str(),
                t.error.empty() ? "" : ("  error: " + t.error).c_str());
  }
  if (const sweep::Trial* best = sweep::best_trial(state))
    std::printf("best: %s (%s %s) -> %s\n", best->id.c_str(), metric.c_str(), sweep::format_number(best->last()->metric(metric)).c_str(),
                (out / "best.onnx").c_str());
  std::printf("results: %s\n", (out / "results.csv").c_str());
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto cli = std::make_shared<SweepCli>();
  CLI::App* command = app.add_subcommand(
      "sweep",
      "Hyper-parameter search over `mhub finetune`: each trial runs as its own finetune process in OUT/trials/ID "
      "(model, checkpoint, metrics.jsonl, TensorBoard files); grid or random search, several trials at a time, "
      "optional successive halving on the eval metric. Writes OUT/results.csv and copies the best model to "
      "OUT/best.onnx. Run it again with the same OUT to continue a killed sweep: finished epochs are not redone.");
  command->add_option("--base", cli->base,
                      "The finetune command every trial runs, quoted: 'finetune MODEL --data SPEC --epochs N ...' "
                      "(not --out, --logdir, --resume, --json, --stop-after-epochs, --threads: the sweep sets those); "
                      "may be left out when continuing a sweep");
  command->add_option("--param", cli->params,
                      "NAME=SPEC, NAME a finetune flag without dashes; SPEC a list (sgd,adamw), log:LOW:HIGH, uniform:LOW:HIGH "
                      "or int:LOW:HIGH. Repeat for each parameter");
  command->add_option("--trials", cli->trials, "random: how many trials (required); grid: at most this many (default 0: every combination)");
  command->add_option("--method", cli->method, "random or grid")->capture_default_str()->check(CLI::IsMember({"random", "grid"}));
  command->add_option("--parallel", cli->parallel, "Trials run at once (CPU threads are split between them)")
      ->capture_default_str()->check(CLI::Range(1, 256));
  command->add_option("--halving", cli->halving,
                      "Successive halving with this factor ETA (>= 2): trials are compared on the metric at rungs of "
                      "MIN, MIN*ETA, ... epochs and only the best 1/ETA go on (0: off)")->capture_default_str();
  command->add_flag("--async", cli->asynchronous,
                    "With --halving: ASHA, asynchronous successive halving. A free slot promotes a trial as soon as it is "
                    "in the top 1/ETA of the trials that reached its rung so far, else starts a new trial, so --parallel "
                    "slots never wait for a rung to fill (some promotions are then made on fewer results)");
  command->add_option("--min-epochs", cli->min_epochs, "Epochs of the first rung with --halving")->capture_default_str();
  command->add_option("--metric", cli->metric, "eval_accuracy (higher is better) or eval_loss (lower is better)")
      ->capture_default_str()->check(CLI::IsMember({"eval_accuracy", "eval_loss"}));
  command->add_option("--seed", cli->seed, "Seed of the random search")->capture_default_str();
  command->add_option("--threads", cli->threads, "CPU threads for all trials together (0: all cores)")->capture_default_str();
  command->add_option("--out", cli->out, "The sweep's folder (created; holds sweep.json, results.csv, best.onnx, trials/)")->required();
  command->add_flag("--json", cli->json, "Print the results as one JSON object instead of a table");
  command->callback([cli] {
    namespace fs = std::filesystem;
    const fs::path out = cli->out;
    const fs::path state_path = out / "sweep.json";
    sweep::SweepState state;
    if (fs::exists(state_path)) {
      state = sweep::load_state(state_path);
      if (!cli->base.empty()) {
        const auto differences = sweep::config_differences(state.config, config_from(*cli));
        if (!differences.empty()) {
          std::string message = state_path.string() + " holds a different sweep (use another --out, or leave out --base to continue it):";
          for (const auto& line : differences) message += "\n  " + line;
          throw Error(ErrorCategory::usage, message);
        }
      }
      std::fprintf(stderr, "continuing the sweep in %s\n", out.c_str());
    } else {
      if (cli->base.empty()) throw Error(ErrorCategory::usage, "--base is required to start a sweep (" + state_path.string() + " does not exist)");
      state = new_sweep(config_from(*cli));
      std::error_code ec;
      fs::create_directories(out, ec);
      if (ec) throw Error(ErrorCategory::io, out.string() + ": cannot create the sweep folder: " + ec.message());
    }
    sweep::RunnerOptions options;
    options.out = out;
    options.mhub = fs::read_symlink("/proc/self/exe");
    options.parallel = cli->parallel;
    options.threads = cli->threads;
    options.report = [](const std::string& line) { std::fprintf(stderr, "sweep: %s\n", line.c_str()); };
    sweep::run_sweep(state, options);
    if (cli->json) std::cout << sweep::results_json(state, out).dump(2) << "\n";
    else print_summary(state, out);
    if (!sweep::best_trial(state)) throw Error(ErrorCategory::unsupported, "no trial of the sweep finished; see the errors in " + (out / "results.csv").string());
  });
}

}  // namespace mhub::cli
