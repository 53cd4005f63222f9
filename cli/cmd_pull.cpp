// mhub pull TARGET [--json] [--offline] [--endpoint URL] [--cacert FILE] [--connections N]
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/catalogue_option.h"
#include "cli/commands.h"
#include "common/error.h"
#include "hub/model_pull.h"
#include "hub/progress.h"
#include "hub/pull.h"

namespace mhub::cli {

namespace {

struct PullCommandOptions {
  std::string target;
  bool json = false;
  bool offline = false;
  std::string endpoint;
  std::string cacert;
  std::string cache_dir;
  int connections = 0;
};

void print_result(const std::string& name, const hub::PullResult& result, bool json) {
  if (!json) {
    for (const auto& file : result.files) std::cout << file.local.string() << "\n";
    return;
  }
  nlohmann::json out;
  out["name"] = name;
  out["repo"] = result.repo;
  out["revision"] = result.revision;
  out["commit"] = result.commit;
  out["files"] = nlohmann::json::array();
  for (const auto& file : result.files)
    out["files"].push_back({{"path", file.local.string()}, {"sha256", file.sha256}, {"size", file.size},
                            {"repo_path", file.path}, {"fetched_bytes", file.fetched_bytes}});
  std::cout << out.dump(2) << "\n";
}

}  // namespace

void add_pull(CLI::App& app) {
  auto options = std::make_shared<PullCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "pull", "Download a model into the Hugging Face cache (shared with Python's huggingface_hub) and print "
              "the local path of each file. Downloads resume after interruption, use several connections, "
              "and are verified (sha256 / git sha1) before they appear in the cache.");
  command->add_option("TARGET", options->target,
                      "What to pull: hf:ORG/REPO[@REVISION][:GLOB] for any Hugging Face repo (GLOB e.g. "
                      "'*.onnx'; without it every file), or a catalogue NAME[@REVISION]")
      ->required();
  command->add_flag("--json", options->json,
                    "Print {\"name\",\"repo\",\"commit\",\"files\":[{\"path\",\"sha256\",\"size\"}]} instead of paths");
  command->add_flag("--offline", options->offline,
                    "Make no network request; answer from the cache or fail naming what is missing "
                    "(also HF_HUB_OFFLINE=1)");
  command->add_option("--endpoint", options->endpoint,
                      "Hub URL (default $HF_ENDPOINT, else https://huggingface.co)");
  command->add_option("--cacert", options->cacert,
                      "PEM file of CA certificates to trust for HTTPS (default $SSL_CERT_FILE, else the system's)");
  command->add_option("--cache-dir", options->cache_dir,
                      "Cache folder (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)");
  command->add_option("--connections", options->connections,
                      "Parallel connections per file (default $MHUB_CONNECTIONS, else 8)")
      ->check(CLI::Range(1, 64));
  command->footer(
      "Token: $HF_TOKEN, else $HF_HOME/token; it is sent only to the endpoint's host and never printed.\n"
      "Proxies: http_proxy / https_proxy / no_proxy as usual.\n"
      "Examples:\n"
      "  mhub pull hf:timm/resnet50.a1_in1k:model.safetensors\n"
      "  mhub pull hf:onnx-community/bert-base-uncased@main:'onnx/*' --json\n" +
      std::string(kExitCodesHelp));
  command->callback([options] {
    hub::PullOptions pull = hub::pull_options_from_env();
    if (options->offline) pull.http.offline = true;
    if (!options->endpoint.empty()) pull.http.endpoint = options->endpoint;
    while (!pull.http.endpoint.empty() && pull.http.endpoint.back() == '/') pull.http.endpoint.pop_back();
    if (!options->cacert.empty()) pull.http.cacert = options->cacert;
    if (!options->cache_dir.empty()) pull.cache_dir = options->cache_dir;
    if (options->connections > 0) pull.download.connections = options->connections;
    std::unique_ptr<hub::ProgressSink> progress = hub::make_progress(stderr);
    pull.download.progress = progress.get();
    hub::PullResult result;
    if (options->target.rfind("hf:", 0) == 0) {
      hub::HfTarget target = hub::parse_hf_target(options->target);
      std::vector<std::string> patterns;
      if (!target.pattern.empty()) patterns.push_back(target.pattern);
      result = hub::pull_hf(pull, target.repo, target.revision, patterns);
    } else {
      registry::ResolvedModel model = registry::resolve(effective_catalogue(), options->target);
      result = hub::pull_model(pull, model, !options->endpoint.empty());
    }
    print_result(options->target, result, options->json);
  });
}

}  // namespace mhub::cli
