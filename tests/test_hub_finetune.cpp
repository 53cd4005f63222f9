// A new user's fine-tuning run from a registry: the bundled fashion-cnn published on the test
// nginx as a Hugging Face repo, named by a user catalogue, `mhub pull`ed into a fresh cache,
// fine-tuned on Fashion-MNIST by that name and evaluated (>= 90% test accuracy). Skips when
// Debian's dataset-fashion-mnist is not installed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "tests/hub/nginx_harness.h"
#include "tests/test_skip.h"
#include "tests/test_support.h"
#include "tests/test_paths.h"

namespace fs = std::filesystem;
using namespace mhub;
using test::HubServer;

TEST_SUITE("hub_finetune") {

TEST_CASE("pull a published fashion-cnn, finetune it by catalogue name, eval >= 90%") {
  const fs::path data = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(data)) MHUB_SKIP(data.string() + " is missing (Debian package dataset-fashion-mnist)");
  auto& server = HubServer::get();
  const auto& model = server.repo("acme/fashion-cnn").files.at("model.onnx");
  const auto work = test::scratch_dir("hub-finetune");
  // The shipped entry with its source moved to the registry (files, io ports and normalisation kept).
  nlohmann::json shipped = nlohmann::json::parse(read_whole_file(mhub::test::source_dir() + "/models.json"));
  nlohmann::json entry;
  for (const auto& e : shipped["models"])
    if (e["name"] == "fashion-cnn") entry = e;
  REQUIRE(entry.is_object());
  entry["name"] = "fashion-cnn-local";
  entry.erase("aliases");
  entry["source"] = {{"kind", "hf"}, {"repo", "acme/fashion-cnn"}, {"revision", "main"}, {"path", "model.onnx"},
                     {"endpoint", server.endpoint()}};
  entry["files"] = {{{"path", "model.onnx"}, {"sha256", model.etag}, {"size", model.content.size()}, {"lfs", true}}};
  const fs::path catalogue = work / "catalogue.json";
  write_file_atomically(catalogue, nlohmann::json{{"schema_version", 1}, {"models", {entry}}}.dump(2));
  const std::vector<std::string> env = {"HF_HUB_CACHE=" + (work / "cache").string()};
  auto mhub = [&](std::vector<std::string> args, std::string* out) {
    std::string err;
    args.insert(args.begin(), {"--catalogue", catalogue.string()});
    const int status = test::run_mhub(args, env, out, &err);
    CAPTURE(err);
    CHECK(status == 0);
    return status;
  };
  std::string out;
  REQUIRE(mhub({"pull", "fashion-cnn-local", "--json"}, &out) == 0);
  CHECK(read_whole_file(nlohmann::json::parse(out)["files"][0]["path"].get<std::string>()) == model.content);
  const fs::path tuned = work / "tuned.onnx";
  REQUIRE(mhub({"finetune", "fashion-cnn-local", "--data", data.string(), "--epochs", "2", "--optimizer", "sgd", "--lr", "0.01",
                "--schedule", "cosine", "--threads", "2", "--out", tuned.string(), "--json"},
               &out) == 0);
  // The model says who made it and how: producer mhub, the parent, the training settings.
  REQUIRE(mhub({"inspect", tuned.string(), "--json"}, &out) == 0);
  const auto summary = nlohmann::json::parse(out);
  CHECK(summary["producer"].get<std::string>().rfind("mhub ", 0) == 0);
  const auto& metadata = summary["metadata"];
  CHECK(metadata.value("mhub.parent", "") == "fashion-cnn-local");
  CHECK(metadata.value("mhub.train.optimizer", "") == "sgd");
  CHECK(metadata.value("mhub.train.lr", "") == "0.01");
  CHECK(metadata.value("mhub.train.schedule", "") == "cosine");
  CHECK(metadata.value("mhub.train.epochs", "") == "2");
  CHECK(metadata.value("mhub.train.loss", "") == "cross-entropy");
  CHECK(metadata.value("mhub.train.seed", "") == "0");
  CHECK(metadata.contains("mhub.train.batch_size"));
  REQUIRE(mhub({"eval", tuned.string(), "--data", data.string(), "--threads", "2", "--json"}, &out) == 0);
  const double accuracy = nlohmann::json::parse(out)["accuracy"];
  MESSAGE("fine-tuned from the registry: test accuracy " << accuracy);
  CHECK(accuracy >= 0.90);
}

}  // TEST_SUITE
