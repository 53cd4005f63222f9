// A cache written by mhub, read by another implementation of the Hugging Face cache: the
// scanCacheDir of huggingface.js (@huggingface/hub, a port of huggingface_hub's
// scan_cache_dir). ctest runs this suite only where the package is installed (exit 77 otherwise).
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "hub/pull.h"
#include "tests/hub/nginx_harness.h"
#include "tests/test_support.h"
#include "tests/test_paths.h"

namespace fs = std::filesystem;
using namespace mhub;
using test::HubServer;

namespace {

// What huggingface.js sees in `cache`: tests/hub/scan_cache.js's JSON.
nlohmann::json scan_with_huggingface_js(const fs::path& cache) {
  const char* modules = std::getenv("MHUB_HFJS_NODE_PATH");
  REQUIRE_MESSAGE(modules, "MHUB_HFJS_NODE_PATH (the node_modules holding @huggingface/hub) is not set");
  std::string command = "NODE_PATH='" + std::string(modules) + "' node '" + mhub::test::source_dir() + "/tests/hub/scan_cache.js' '" +
                        cache.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  REQUIRE(::pclose(pipe) == 0);
  return nlohmann::json::parse(text);
}

hub::PullOptions hfjs_pull_options(const fs::path& cache) {
  hub::PullOptions options;
  options.http.endpoint = HubServer::get().endpoint();
  options.cache_dir = cache;
  return options;
}

}  // namespace

TEST_SUITE("hub_hfjs") {

TEST_CASE("huggingface.js's scanCacheDir reads mhub's cache: repo, commit, refs, every file and blob") {
  auto& server = HubServer::get();
  const auto& repo = server.repo("acme/tiny");
  auto root = test::scratch_dir("hfjs-scan");
  hub::pull_hf(hfjs_pull_options(root), "acme/tiny", "main", {"*"});

  auto scan = scan_with_huggingface_js(root);
  INFO(scan.dump());
  CHECK(scan["warnings"].empty());
  REQUIRE(scan["repos"].size() == 1);
  const auto& found = scan["repos"][0];
  CHECK(found["id"] == "acme/tiny");
  CHECK(found["type"] == "model");
  REQUIRE(found["revisions"].size() == 1);
  const auto& revision = found["revisions"][0];
  CHECK(revision["commit"] == repo.commit);
  CHECK(revision["refs"] == nlohmann::json::array({"main"}));

  // huggingface.js 2.17.5 lists a snapshot's top-level files only (its scanSnapshotDir skips
  // folders, where Python's scan_cache_dir recurses), so files in sub-folders are checked on
  // disk below: a relative link that resolves to the same blob layout.
  std::set<std::string> top_level, listed;
  size_t total = 0;
  for (const auto& [path, served] : repo.files)
    if (path.find('/') == std::string::npos) {
      top_level.insert(path);
      total += served.content.size();
    }
  REQUIRE_MESSAGE(top_level.size() < repo.files.size(), "the test repo should hold a file in a sub-folder");
  for (const auto& file : revision["files"]) {
    const auto path = file["path"].get<std::string>();
    listed.insert(path);
    const auto& served = repo.files.at(path);
    CHECK(file["blob"] == "blobs/" + served.etag);
    CHECK(file["size"] == served.content.size());
  }
  CHECK(listed == top_level);
  CHECK(found["files"] == top_level.size());
  CHECK(found["size"] == total);

  const fs::path repo_dir = root / "models--acme--tiny";
  for (const auto& [path, served] : repo.files) {
    if (path.find('/') == std::string::npos) continue;
    const fs::path link = repo_dir / "snapshots" / repo.commit / path;
    INFO(link.string());
    REQUIRE(fs::is_symlink(link));
    CHECK(fs::read_symlink(link).is_relative());
    CHECK(fs::equivalent(link, repo_dir / "blobs" / served.etag));
    CHECK(fs::file_size(link) == served.content.size());
  }
}

TEST_CASE("pulls by branch and by commit hash land in one snapshot with one ref, as huggingface.js reads it") {
  auto& server = HubServer::get();
  const auto& repo = server.repo("acme/tiny");
  auto root = test::scratch_dir("hfjs-two-revisions");
  hub::pull_hf(hfjs_pull_options(root), "acme/tiny", "main", {"config.json"});
  // The same commit asked for by hash: no new snapshot, no new ref.
  hub::pull_hf(hfjs_pull_options(root), "acme/tiny", repo.commit, {"README.md"});
  auto scan = scan_with_huggingface_js(root);
  INFO(scan.dump());
  REQUIRE(scan["repos"].size() == 1);
  REQUIRE(scan["repos"][0]["revisions"].size() == 1);
  const auto& revision = scan["repos"][0]["revisions"][0];
  CHECK(revision["refs"] == nlohmann::json::array({"main"}));
  std::set<std::string> paths;
  for (const auto& file : revision["files"]) paths.insert(file["path"].get<std::string>());
  CHECK(paths == std::set<std::string>{"README.md", "config.json"});
}

}  // TEST_SUITE
