#include "board/run_index.h"

#include <chrono>
#include <fstream>
#include <map>

#include "board/safe_path.h"
#include "common/error.h"
#include "sweep/sweep_state.h"

namespace mhub::board {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxDepth = 10;
constexpr size_t kMaxEntries = 50000;
constexpr uintmax_t kMaxLogBytes = 64ull << 20;

// Folders under `root` (itself included) for which `wanted` holds; bounded, symlinks not followed.
template <typename Wanted>
std::vector<fs::path> find_folders(const fs::path& root, Wanted wanted) {
  std::vector<fs::path> found;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return found;
  if (wanted(root)) found.push_back(root);
  size_t seen = 0;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end && ++seen < kMaxEntries; it.increment(ec)) {
    if (it.depth() >= kMaxDepth) it.disable_recursion_pending();
    if (it->is_symlink(ec) || !it->is_directory(ec)) continue;
    if (it->path().filename().string().starts_with(".")) {
      it.disable_recursion_pending();
      continue;
    }
    if (wanted(it->path())) found.push_back(it->path());
  }
  return found;
}

std::string run_id(const fs::path& logdir, const fs::path& folder) {
  const std::string rel = relative_text(logdir, folder);
  return rel.empty() || rel == "." ? "." : rel;
}

std::vector<nlohmann::json> read_rows(const fs::path& jsonl) {
  std::vector<nlohmann::json> rows;
  std::error_code ec;
  if (fs::file_size(jsonl, ec) > kMaxLogBytes || ec) return rows;
  std::ifstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line, nullptr, false);
    if (!row.is_discarded() && row.is_object()) rows.push_back(std::move(row));
  }
  return rows;
}

// A single run's settings from the run.json `mhub finetune --logdir` writes (engine/train/metrics.h):
// {"model", "started", "settings": {NAME: text}}; anything else (too big, malformed, other value
// types) gives no settings rather than an error.
nlohmann::json run_settings(const fs::path& folder) {
  constexpr uintmax_t kMaxSettingsBytes = 256 << 10;
  constexpr size_t kMaxSettings = 200;
  nlohmann::json settings = nlohmann::json::object();
  std::error_code ec;
  const fs::path path = folder / "run.json";
  if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) > kMaxSettingsBytes || ec) return settings;
  std::ifstream in(path);
  auto run = nlohmann::json::parse(in, nullptr, false);
  if (run.is_discarded() || !run.is_object() || !run.contains("settings") || !run["settings"].is_object()) return settings;
  if (run.contains("model") && run["model"].is_string()) settings["model"] = run["model"];
  for (const auto& [name, value] : run["settings"].items()) {
    if (settings.size() >= kMaxSettings) break;
    if (value.is_string() || value.is_number() || value.is_boolean()) settings[name] = value;
  }
  return settings;
}

double seconds_since_modified(const fs::path& path) {
  std::error_code ec;
  const auto modified = fs::last_write_time(path, ec);
  if (ec) return -1;
  return std::chrono::duration<double>(fs::file_time_type::clock::now() - modified).count();
}

nlohmann::json settings_object(const sweep::Settings& settings) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : settings) object[name] = value;
  return object;
}

}  // namespace

nlohmann::json list_runs(const fs::path& logdir) {
  nlohmann::json runs = nlohmann::json::array(), sweeps = nlohmann::json::array();
  std::map<std::string, nlohmann::json> by_id;  // run id -> what the sweep knows of it
  for (const auto& folder : find_folders(logdir, [](const fs::path& p) { return fs::exists(p / "sweep.json"); })) {
    sweep::SweepState state;
    try {
      state = sweep::load_state(folder / "sweep.json");
    } catch (const Error&) {
      continue;  // being written for the first time, or not ours
    }
    const std::string id = run_id(logdir, folder);
    nlohmann::json trials = nlohmann::json::array();
    std::vector<std::string> params;
    for (const auto& p : state.config.params) params.push_back(p.substr(0, p.find('=')));
    std::string best;
    double best_value = 0;
    for (const auto& t : state.trials) {
      const std::string run = run_id(logdir, folder / "trials" / t.id);
      nlohmann::json row{{"trial", t.id}, {"run", run}, {"status", t.status}, {"settings", settings_object(t.settings)},
                         {"epochs", t.epochs}, {"halted_at", t.halted_at}, {"error", t.error}};
      if (const auto* last = t.last()) {
        row["final"] = last->metric(state.config.metric);
        const bool better = sweep::higher_is_better(state.config.metric) ? row["final"].get<double>() > best_value
                                                                          : row["final"].get<double>() < best_value;
        if (t.status == "done" && (best.empty() || better)) {
          best = t.id;
          best_value = row["final"];
        }
      }
      trials.push_back(row);
      by_id[run] = {{"sweep", id}, {"trial", t.id}, {"status", t.status}, {"halted_at", t.halted_at}, {"settings", settings_object(t.settings)},
                    {"error", t.error}};
    }
    sweeps.push_back({{"id", id}, {"metric", state.config.metric}, {"params", params}, {"param_specs", state.config.params},
                      {"rungs", state.rungs}, {"method", state.config.method}, {"best", best}, {"trials", trials}});
  }
  std::map<std::string, bool> listed;
  for (const auto& folder : find_folders(logdir, [](const fs::path& p) { return fs::exists(p / "metrics.jsonl"); })) {
    const std::string id = run_id(logdir, folder);
    const auto rows = read_rows(folder / "metrics.jsonl");
    nlohmann::json last = nlohmann::json::object();
    int64_t points = 0, epochs = 0;
    for (const auto& row : rows) {
      for (const auto& [key, value] : row.items())
        if (value.is_number() && key != "step" && key != "wall_time") last[key] = value;
      points += row.contains("train/loss");
      epochs += row.contains("epoch/eval_accuracy");
    }
    const double ago = seconds_since_modified(folder / "metrics.jsonl");
    nlohmann::json run{{"id", id}, {"rows", rows.size()}, {"points", points}, {"epochs", epochs}, {"last", last}, {"updated_ago", ago},
                       {"sweep", nullptr}, {"trial", nullptr}, {"settings", run_settings(folder)}, {"error", ""},
                       {"status", ago >= 0 && ago < 30 ? "live" : "finished"}};
    if (auto it = by_id.find(id); it != by_id.end()) run.update(it->second);
    runs.push_back(run);
    listed[id] = true;
  }
  for (const auto& [id, known] : by_id) {  // trials that failed before writing a log
    if (listed.count(id)) continue;
    nlohmann::json run{{"id", id}, {"rows", 0}, {"points", 0}, {"epochs", 0}, {"last", nlohmann::json::object()}, {"updated_ago", nullptr}};
    run.update(known);
    runs.push_back(run);
  }
  return {{"logdir", logdir.string()}, {"runs", runs}, {"sweeps", sweeps}};
}

std::optional<nlohmann::json> run_metrics(const fs::path& logdir, std::string_view run) {
  std::optional<fs::path> folder;
  if (run == ".") {
    std::error_code ec;
    folder = fs::canonical(logdir, ec);
    if (ec) return std::nullopt;
  } else {
    folder = resolve_under(logdir, run);
  }
  if (!folder || !fs::is_regular_file(*folder / "metrics.jsonl")) return std::nullopt;
  nlohmann::json rows = nlohmann::json::array();
  for (auto& row : read_rows(*folder / "metrics.jsonl")) rows.push_back(std::move(row));
  return nlohmann::json{{"run", std::string(run)}, {"rows", rows}};
}

nlohmann::json list_models(const fs::path& logdir, const fs::path& cache) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& [root_name, root] : {std::pair{"logdir", logdir}, std::pair{"cache", cache}}) {
    std::error_code ec;
    if (root.empty() || !fs::is_directory(root, ec)) continue;
    size_t count = 0, seen = 0;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end && ++seen < kMaxEntries && count < 500; it.increment(ec)) {
      if (it.depth() >= kMaxDepth) it.disable_recursion_pending();
      const std::string name = it->path().filename().string();
      if (name.starts_with(".")) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->path().extension() != ".onnx" || !it->is_regular_file(ec)) continue;
      const std::string rel = relative_text(root, it->path());
      // Listed only what can be asked for: the grammar, and (the cache's snapshot files are
      // symlinks into its blobs) a target that stays under the root.
      if (!valid_relative_path(rel) || !resolve_under(root, rel)) continue;
      models.push_back({{"root", root_name}, {"path", rel}, {"bytes", it->file_size(ec)}});
      ++count;
    }
  }
  return {{"models", models}};
}

}  // namespace mhub::board
