// mhub cache ls|verify|rm|prune [--json]
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "common/error.h"
#include "hub/cache.h"

namespace mhub::cli {

namespace {

struct CacheCommandOptions {
  std::string cache_dir;
  bool json = false;
  std::string repo;
  std::string revision;
};

hub::HubCache open_cache(const CacheCommandOptions& options) {
  return hub::HubCache(options.cache_dir.empty() ? hub::default_cache_dir() : std::filesystem::path(options.cache_dir));
}

void run_ls(const CacheCommandOptions& options) {
  hub::HubCache cache = open_cache(options);
  auto repos = cache.scan();
  if (options.json) {
    nlohmann::json out = {{"cache", cache.root().string()}, {"repos", nlohmann::json::array()}};
    for (const auto& repo : repos) {
      nlohmann::json entry = {{"repo", repo.repo}, {"size", repo.blob_bytes}, {"incomplete_bytes", repo.incomplete_bytes},
                              {"snapshots", nlohmann::json::array()}};
      for (const auto& snapshot : repo.snapshots) {
        nlohmann::json snap = {{"commit", snapshot.commit}, {"refs", snapshot.refs}, {"files", nlohmann::json::array()}};
        for (const auto& file : snapshot.files)
          snap["files"].push_back({{"path", file.path}, {"blob", file.etag}, {"size", file.size}, {"present", file.present}});
        entry["snapshots"].push_back(snap);
      }
      out["repos"].push_back(entry);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "cache " << cache.root().string() << "\n";
  if (repos.empty()) std::cout << "  (empty; fill it with 'mhub pull')\n";
  for (const auto& repo : repos) {
    std::cout << "  " << repo.repo << "  " << human_bytes(repo.blob_bytes);
    if (repo.incomplete_bytes) std::cout << " (+" << human_bytes(repo.incomplete_bytes) << " partial)";
    std::cout << "\n";
    for (const auto& snapshot : repo.snapshots) {
      std::cout << "    " << snapshot.commit.substr(0, 12);
      for (const auto& ref : snapshot.refs) std::cout << " " << ref;
      std::cout << "  " << snapshot.files.size() << " files\n";
    }
  }
}

void run_verify(const CacheCommandOptions& options) {
  hub::HubCache cache = open_cache(options);
  auto problems = cache.verify(options.repo);
  if (options.json) {
    nlohmann::json out = {{"cache", cache.root().string()}, {"ok", problems.empty()}, {"problems", nlohmann::json::array()}};
    for (const auto& problem : problems) out["problems"].push_back({{"repo", problem.repo}, {"problem", problem.what}});
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& problem : problems) std::cout << problem.repo << ": " << problem.what << "\n";
    if (problems.empty()) std::cout << "all blobs match their checksums\n";
  }
  if (!problems.empty())
    throw_error(ErrorCategory::integrity, std::to_string(problems.size()) +
                                              " problem(s) in the cache; 'mhub cache rm REPO' and pull again");
}

void print_report(const hub::PruneReport& report, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"freed_bytes", report.freed_bytes}, {"removed", report.removed}}.dump(2) << "\n";
    return;
  }
  for (const auto& path : report.removed) std::cout << "removed " << path << "\n";
  std::cout << "freed " << human_bytes(report.freed_bytes) << "\n";
}

}  // namespace

void add_cache(CLI::App& app) {
  auto options = std::make_shared<CacheCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "cache", "Look after the model cache (the Hugging Face layout that Python's huggingface_hub shares).");
  command->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    sub->add_option("--cache-dir", options->cache_dir,
                    "Cache folder (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)");
    sub->add_flag("--json", options->json, "Print one JSON object instead of text");
  };
  CLI::App* ls = command->add_subcommand("ls", "List cached repos, their revisions, files and sizes.");
  common(ls);
  ls->callback([options] { run_ls(*options); });
  CLI::App* verify = command->add_subcommand(
      "verify", "Re-hash every blob (sha256 for LFS files, git sha1 for others) and check every snapshot link; "
                "exit code 6 when something is wrong.");
  common(verify);
  verify->add_option("REPO", options->repo, "Only this repo (ORG/NAME)");
  verify->callback([options] { run_verify(*options); });
  CLI::App* rm = command->add_subcommand("rm", "Remove a cached repo, or one revision of it and the blobs only it used.");
  common(rm);
  rm->add_option("REPO", options->repo, "The repo (ORG/NAME) as 'mhub cache ls' shows it")->required();
  rm->add_option("--revision", options->revision, "Only this revision (branch, tag or commit)");
  rm->callback([options] {
    print_report(open_cache(*options).remove(options->repo, options->revision), options->json);
  });
  CLI::App* prune = command->add_subcommand(
      "prune", "Remove blobs no snapshot uses and abandoned partial downloads (never one in progress).");
  common(prune);
  prune->callback([options] { print_report(open_cache(*options).prune(), options->json); });
}

}  // namespace mhub::cli
