// Unit tests of the sweep's search space and state file and of the board's path checks and run
// index (mhub_sweep_board_tests; ctest unit.sweep_board). The processes and the web page are
// tested end to end by tests/e2e/sweep_fashion.sh and tests/board/board_browser.sh.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "board/run_index.h"
#include "board/safe_path.h"
#include "common/error.h"
#include "sweep/search_space.h"
#include "sweep/sweep_runner.h"
#include "sweep/sweep_state.h"

namespace fs = std::filesystem;
using namespace mhub;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("mhub-sweep-board-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

}  // namespace

TEST_SUITE("sweep_board") {
  TEST_CASE("parameters: lists and ranges; bad ones name the argument") {
    auto lr = sweep::parse_param("lr=log:1e-4:1e-1");
    CHECK(lr.kind == sweep::ParamSpec::Kind::log_uniform);
    CHECK(lr.low == doctest::Approx(1e-4));
    auto opt = sweep::parse_param("optimizer=sgd,adamw");
    CHECK(opt.choices == std::vector<std::string>{"sgd", "adamw"});
    for (const char* bad : {"lr", "LR=1", "lr=log:0:1", "lr=uniform:2:1", "lr=a,,b", "lr=log:x:1", "batch-size=int:1.5:4", "--lr=1"})
      CHECK_THROWS_AS(sweep::parse_param(bad), Error);
  }

  TEST_CASE("grid: every combination, first parameter slowest; ranges refused") {
    const std::vector<sweep::ParamSpec> params{sweep::parse_param("a=1,2"), sweep::parse_param("b=x,y,z")};
    const auto trials = sweep::grid_trials(params, 0);
    REQUIRE(trials.size() == 6);
    CHECK(trials[1] == sweep::Settings{{"a", "1"}, {"b", "y"}});
    CHECK(sweep::grid_trials(params, 4).size() == 4);
    CHECK_THROWS_AS(sweep::grid_trials({sweep::parse_param("lr=log:1e-3:1")}, 0), Error);
  }

  TEST_CASE("random: inside the ranges, the same for the same seed") {
    const std::vector<sweep::ParamSpec> params{sweep::parse_param("lr=log:1e-4:1e-1"), sweep::parse_param("n=int:2:5"),
                                               sweep::parse_param("o=sgd,adamw")};
    const auto a = sweep::random_trials(params, 50, 3);
    CHECK(a == sweep::random_trials(params, 50, 3));
    CHECK(a != sweep::random_trials(params, 50, 4));
    std::set<std::string> ints;
    for (const auto& t : a) {
      const double lr = std::stod(t[0].second);
      CHECK(lr >= 1e-4 * 0.999);
      CHECK(lr <= 1e-1 * 1.001);
      ints.insert(t[1].second);
    }
    CHECK(ints == std::set<std::string>{"2", "3", "4", "5"});
  }

  TEST_CASE("rungs of successive halving") {
    CHECK(sweep::make_rungs(1, 4, 2) == std::vector<int>{1, 2, 4});
    CHECK(sweep::make_rungs(1, 10, 3) == std::vector<int>{1, 3, 9, 10});
    CHECK(sweep::make_rungs(2, 5, 0) == std::vector<int>{5});
    CHECK(sweep::make_rungs(4, 4, 2) == std::vector<int>{4});
  }

  TEST_CASE("base command: split as a shell would, the sweep's own flags refused") {
    CHECK(sweep::parse_base("finetune m.onnx --data 'a b' --freeze 'conv*'") ==
          std::vector<std::string>{"m.onnx", "--data", "a b", "--freeze", "conv*"});
    CHECK(sweep::base_epochs(sweep::parse_base("finetune m --epochs=7")) == 7);
    CHECK(sweep::base_epochs(sweep::parse_base("finetune m")) == 1);
    CHECK_THROWS_AS(sweep::parse_base("finetune m --out x.onnx"), Error);
    CHECK_THROWS_AS(sweep::parse_base("finetune m --data 'open"), Error);
    CHECK_THROWS_AS(sweep::parse_base("finetune m $(rm -rf /)"), Error);
    CHECK_THROWS_AS(sweep::base_epochs(sweep::parse_base("finetune m --epochs 0")), Error);
  }

  TEST_CASE("state file: round trip, and a different sweep is told apart") {
    sweep::SweepState s;
    s.config.base = {"fashion-cnn", "--epochs", "4"};
    s.config.params = {"lr=log:1e-3:1e-1"};
    s.config.halving = 2;
    s.config.max_epochs = 4;
    s.rungs = sweep::make_rungs(1, 4, 2);
    sweep::Trial t;
    t.id = "t000";
    t.settings = {{"lr", "0.01"}};
    t.status = "halted";
    t.epochs = 1;
    t.halted_at = 1;
    t.history.push_back({1, 0.9, 0.7, 0.8, 0.75});
    s.trials.push_back(t);
    const fs::path dir = fresh_dir("state");
    sweep::save_state(dir / "sweep.json", s);
    const auto back = sweep::load_state(dir / "sweep.json");
    CHECK(sweep::to_json(back) == sweep::to_json(s));
    sweep::SweepConfig other = s.config;
    other.halving = 3;
    CHECK(sweep::config_differences(s.config, other).size() == 1);
    write(dir / "bad.json", "{\"format\": \"mhub-sweep\", \"version\": 1, \"config\": {}}");
    CHECK_THROWS_AS(sweep::load_state(dir / "bad.json"), Error);
  }

  TEST_CASE("results: halted trials marked, the best finished trial chosen") {
    sweep::SweepState s;
    s.config.metric = "eval_accuracy";
    for (int i = 0; i < 3; ++i) {
      sweep::Trial t;
      t.id = "t00" + std::to_string(i);
      t.settings = {{"lr", std::to_string(i)}};
      t.status = i == 0 ? "halted" : "done";
      t.halted_at = i == 0 ? 1 : 0;
      t.epochs = i == 0 ? 1 : 2;
      t.history.push_back({1, 0, 0, 0, i == 0 ? 0.99 : 0.5 + 0.1 * i});
      s.trials.push_back(t);
    }
    REQUIRE(sweep::best_trial(s));
    CHECK(sweep::best_trial(s)->id == "t002");  // t000 scored higher but was halted
    const std::string csv = sweep::results_csv(s);
    CHECK(csv.find("t000,halted,0,1,1,") != std::string::npos);
    CHECK(csv.find("trials/t002/model.onnx,yes,") != std::string::npos);
  }

  TEST_CASE("board paths: strict grammar, and the resolved file must stay under the root") {
    for (const char* ok : {"a.onnx", "sweep/trials/t000/model.onnx", "models--org--name/snapshots/abc/m.onnx", "x@1+y=z"})
      CHECK(board::valid_relative_path(ok));
    for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", ".hidden", "a/.", "a\\b", "%2e%2e", "a/b/", "a b"})
      CHECK_FALSE(board::valid_relative_path(bad));
    const fs::path root = fresh_dir("root");
    const fs::path outside = fresh_dir("outside");
    write(root / "in.onnx", "x");
    write(outside / "secret.onnx", "x");
    fs::create_symlink(outside / "secret.onnx", root / "link.onnx");
    fs::create_directory_symlink(outside, root / "dirlink");
    CHECK(board::resolve_under(root, "in.onnx").has_value());
    CHECK_FALSE(board::resolve_under(root, "link.onnx").has_value());
    CHECK_FALSE(board::resolve_under(root, "dirlink/secret.onnx").has_value());
    CHECK_FALSE(board::resolve_under(root, "missing.onnx").has_value());
  }

  TEST_CASE("models: the log folder's and the cache's (snapshot symlinks into blobs), nothing that leaves its root") {
    const fs::path logdir = fresh_dir("models-logs");
    const fs::path cache = fresh_dir("models-cache");
    const fs::path outside = fresh_dir("models-outside");
    write(logdir / "run" / "model.onnx", "logdir model");
    write(cache / "models--acme--net" / "blobs" / "0123abcd", "cached model");
    const fs::path snapshot = cache / "models--acme--net" / "snapshots" / "c0ffee";
    fs::create_directories(snapshot);
    fs::create_symlink("../../blobs/0123abcd", snapshot / "model.onnx");
    write(outside / "secret.onnx", "outside");
    fs::create_symlink(outside / "secret.onnx", snapshot / "escape.onnx");
    const auto models = board::list_models(logdir, cache)["models"];
    std::set<std::string> listed;
    for (const auto& m : models) listed.insert(m["root"].get<std::string>() + ":" + m["path"].get<std::string>());
    CHECK(listed == std::set<std::string>{"logdir:run/model.onnx", "cache:models--acme--net/snapshots/c0ffee/model.onnx"});
    CHECK(board::resolve_under(cache, "models--acme--net/snapshots/c0ffee/model.onnx").has_value());
    CHECK_FALSE(board::resolve_under(cache, "models--acme--net/snapshots/c0ffee/escape.onnx").has_value());
  }

  TEST_CASE("run index: single runs, sweep trials (also failed ones without logs), metrics rows") {
    const fs::path logdir = fresh_dir("logs");
    write(logdir / "a" / "metrics.jsonl", "{\"step\":1,\"train/loss\":2.0}\n{\"step\":2,\"train/loss\":1.5}\n{\"step\":2,\"epoch/eval_accuracy\":0.5}\n{\"step\":3,");
    sweep::SweepState s;
    s.config.params = {"lr=0.1,0.2"};
    s.rungs = {1};
    for (const char* id : {"t000", "t001"}) {
      sweep::Trial t;
      t.id = id;
      t.settings = {{"lr", id[3] == '0' ? "0.1" : "0.2"}};
      t.status = id[3] == '0' ? "done" : "failed";
      t.error = id[3] == '0' ? "" : "mhub: error: bad";
      if (t.status == "done") t.history.push_back({1, 1, 0.5, 1, 0.6});
      s.trials.push_back(t);
    }
    fs::create_directories(logdir / "sw");
    sweep::save_state(logdir / "sw" / "sweep.json", s);
    write(logdir / "sw" / "trials" / "t000" / "metrics.jsonl", "{\"step\":1,\"train/loss\":2.0}\n");
    // A single run's settings come from the run.json `mhub finetune --logdir` writes; a malformed
    // one gives none, not an error.
    write(logdir / "a" / "run.json",
          "{\"model\": \"fashion-cnn\", \"started\": \"2026-12-06T12:00:00Z\", \"settings\": {\"lr\": \"0.003\", \"optimizer\": \"sgd\", \"nested\": {}}}\n");
    write(logdir / "b" / "metrics.jsonl", "{\"step\":1,\"train/loss\":2.0}\n");
    write(logdir / "b" / "run.json", "{\"settings\": [1, 2");
    const auto index = board::list_runs(logdir);
    REQUIRE(index["runs"].size() == 4);
    std::map<std::string, nlohmann::json> runs;
    for (const auto& r : index["runs"]) runs[r["id"]] = r;
    CHECK(runs["a"]["points"] == 2);  // the partial last line is skipped
    CHECK(runs["a"]["epochs"] == 1);
    CHECK(runs["a"]["settings"] == nlohmann::json{{"model", "fashion-cnn"}, {"lr", "0.003"}, {"optimizer", "sgd"}});
    CHECK(runs["b"]["settings"].empty());
    CHECK(runs["sw/trials/t000"]["settings"]["lr"] == "0.1");
    CHECK(runs["sw/trials/t001"]["status"] == "failed");
    CHECK(index["sweeps"][0]["best"] == "t000");
    CHECK(board::run_metrics(logdir, "a")->at("rows").size() == 3);
    CHECK_FALSE(board::run_metrics(logdir, "../logs/a").has_value());
    CHECK_FALSE(board::run_metrics(logdir, "sw").has_value());
  }
}
