#include "sweep/sweep_state.h"

#include "common/atomic_file.h"
#include "common/error.h"

namespace mhub::sweep {

bool higher_is_better(const std::string& metric) { return metric != "eval_loss"; }

const EpochResult* Trial::at_epoch(int epoch) const {
  for (const auto& e : history)
    if (e.epoch == epoch) return &e;
  return nullptr;
}

std::vector<int> make_rungs(int min_epochs, int max_epochs, int halving) {
  std::vector<int> rungs;
  if (halving >= 2)
    for (int64_t r = std::max(1, min_epochs); r < max_epochs; r *= halving) rungs.push_back(static_cast<int>(r));
  rungs.push_back(max_epochs);
  return rungs;
}

nlohmann::json to_json(const SweepState& state) {
  const SweepConfig& c = state.config;
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& t : state.trials) {
    nlohmann::json settings = nlohmann::json::array();
    for (const auto& [name, value] : t.settings) settings.push_back({name, value});
    nlohmann::json history = nlohmann::json::array();
    for (const auto& e : t.history)
      history.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
                         {"eval_loss", e.eval_loss}, {"eval_accuracy", e.eval_accuracy}});
    trials.push_back({{"id", t.id}, {"settings", settings}, {"status", t.status}, {"epochs", t.epochs}, {"halted_at", t.halted_at},
                      {"history", history}, {"wall_seconds", t.wall_seconds}, {"error", t.error}, {"log_bytes", t.log_bytes},
                      {"event_files", t.event_files}});
  }
  return {{"format", "mhub-sweep"}, {"version", 1},
          {"config", {{"base", c.base}, {"params", c.params}, {"method", c.method}, {"trials", c.trials}, {"seed", c.seed},
                      {"halving", c.halving}, {"async", c.asynchronous}, {"min_epochs", c.min_epochs}, {"metric", c.metric}, {"max_epochs", c.max_epochs}}},
          {"rungs", state.rungs}, {"decided_rungs", state.decided_rungs}, {"trials", trials}};
}

SweepState state_from_json(const nlohmann::json& json, const std::string& origin) {
  try {
    if (json.value("format", "") != "mhub-sweep" || json.value("version", 0) != 1)
      throw Error(ErrorCategory::format, origin + ": not an mhub sweep state (format mhub-sweep, version 1)");
    SweepState state;
    const auto& c = json.at("config");
    SweepConfig& config = state.config;
    config.base = c.at("base").get<std::vector<std::string>>();
    config.params = c.at("params").get<std::vector<std::string>>();
    config.method = c.at("method").get<std::string>();
    config.trials = c.at("trials").get<int>();
    config.seed = c.at("seed").get<uint64_t>();
    config.halving = c.at("halving").get<int>();
    config.asynchronous = c.value("async", false);  // absent in sweeps written before --async
    config.min_epochs = c.at("min_epochs").get<int>();
    config.metric = c.at("metric").get<std::string>();
    config.max_epochs = c.at("max_epochs").get<int>();
    state.rungs = json.at("rungs").get<std::vector<int>>();
    state.decided_rungs = json.at("decided_rungs").get<int>();
    for (const auto& t : json.at("trials")) {
      Trial trial;
      trial.id = t.at("id").get<std::string>();
      for (const auto& pair : t.at("settings")) trial.settings.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
      trial.status = t.at("status").get<std::string>();
      trial.epochs = t.at("epochs").get<int>();
      trial.halted_at = t.at("halted_at").get<int>();
      for (const auto& e : t.at("history"))
        trial.history.push_back({e.at("epoch").get<int>(), e.at("train_loss").get<double>(), e.at("train_accuracy").get<double>(),
                                 e.at("eval_loss").get<double>(), e.at("eval_accuracy").get<double>()});
      trial.wall_seconds = t.at("wall_seconds").get<double>();
      trial.error = t.at("error").get<std::string>();
      trial.log_bytes = t.at("log_bytes").get<uint64_t>();
      trial.event_files = t.at("event_files").get<std::vector<std::string>>();
      state.trials.push_back(std::move(trial));
    }
    if (state.rungs.empty() || state.decided_rungs < 0 || state.decided_rungs > static_cast<int>(state.rungs.size()))
      throw Error(ErrorCategory::format, origin + ": rungs / decided_rungs out of range");
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCategory::format, origin + ": " + e.what());
  }
}

SweepState load_state(const std::filesystem::path& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_whole_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCategory::format, path.string() + ": not JSON: " + e.what());
  }
  return state_from_json(json, path.string());
}

void save_state(const std::filesystem::path& path, const SweepState& state) {
  write_file_atomically(path, to_json(state).dump(1) + "\n");
}

std::vector<std::string> config_differences(const SweepConfig& stored, const SweepConfig& asked) {
  std::vector<std::string> lines;
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  auto check = [&](const std::string& what, const std::string& was, const std::string& now) {
    if (was != now) lines.push_back(what + ": '" + was + "' before, '" + now + "' now");
  };
  check("--base", join(stored.base), join(asked.base));
  check("--param", join(stored.params), join(asked.params));
  check("--method", stored.method, asked.method);
  check("--trials", std::to_string(stored.trials), std::to_string(asked.trials));
  check("--seed", std::to_string(stored.seed), std::to_string(asked.seed));
  check("--halving", std::to_string(stored.halving), std::to_string(asked.halving));
  check("--async", stored.asynchronous ? "on" : "off", asked.asynchronous ? "on" : "off");
  check("--min-epochs", std::to_string(stored.min_epochs), std::to_string(asked.min_epochs));
  check("--metric", stored.metric, asked.metric);
  return lines;
}

}  // namespace mhub::sweep
