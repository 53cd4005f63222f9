// The mhub binary against the test nginx: kill -9 and resume, several processes on one blob,
// stale leases, --json output, offline mode, and `mhub cache`.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/atomic_file.h"
#include "hub/cache.h"
#include "hub/hashing.h"
#include "tests/hub/nginx_harness.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace mhub;
using test::HubServer;

namespace {

std::vector<std::string> pull_args(const fs::path& cache, const std::string& target, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"pull", target, "--endpoint", HubServer::get().endpoint(), "--cache-dir", cache.string()};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// Chunks the .ranges record marks done ('1' characters in its last field).
int recorded_chunks(const fs::path& record) {
  std::ifstream in(record);
  std::string field, last;
  while (in >> field) last = field;
  return static_cast<int>(std::count(last.begin(), last.end(), '1'));
}

}  // namespace

TEST_SUITE("hub_cli") {

TEST_CASE("pull --json prints name and files with path, sha256, size; no progress in a pipe") {
  auto& server = HubServer::get();
  auto cache = test::scratch_dir("hub-cli-json");
  std::string out, err;
  REQUIRE(test::run_mhub(pull_args(cache, "hf:acme/tiny:*.onnx", {"--json"}), {}, &out, &err) == 0);
  auto json = nlohmann::json::parse(out);
  CHECK(json["name"] == "hf:acme/tiny:*.onnx");
  REQUIRE(json["files"].size() == 1);
  const auto& file = server.repo("acme/tiny").files.at("model.onnx");
  CHECK(json["files"][0]["sha256"] == file.etag);
  CHECK(json["files"][0]["size"] == file.content.size());
  CHECK(read_whole_file(json["files"][0]["path"].get<std::string>()) == file.content);
  CHECK(err.empty());
  // Plain output: one local path per line.
  REQUIRE(test::run_mhub(pull_args(cache, "hf:acme/tiny:config.json"), {}, &out, &err) == 0);
  CHECK(out == (cache / "models--acme--tiny" / "snapshots" / server.repo("acme/tiny").commit / "config.json").string() + "\n");
}

TEST_CASE("HF_HUB_OFFLINE=1: no request, exit code 5 and the missing file named") {
  auto& server = HubServer::get();
  auto cache = test::scratch_dir("hub-cli-offline");
  size_t requests = server.access_log().size();
  std::string out, err;
  CHECK(test::run_mhub(pull_args(cache, "hf:acme/tiny:config.json"), {"HF_HUB_OFFLINE=1"}, &out, &err) == 5);
  CHECK(err.find("offline") != std::string::npos);
  CHECK(err.find("acme/tiny") != std::string::npos);
  CHECK(server.access_log().size() == requests);
}

TEST_CASE("a file that is not there: exit code 8 and a message naming repo, revision and file") {
  auto cache = test::scratch_dir("hub-cli-not-found");
  std::string out, err;
  CHECK(test::run_mhub(pull_args(cache, "hf:acme/mirror:missing.bin"), {}, &out, &err) == 8);
  CHECK(err.find("'missing.bin' in 'acme/mirror' at revision 'main'") != std::string::npos);
  CHECK(test::run_mhub(pull_args(cache, "hf:acme/tiny@main:missing.bin"), {}, &out, &err) == 8);
  CHECK(err.find("'missing.bin' does not exist in 'acme/tiny'") != std::string::npos);
}

TEST_CASE("convert hf:ORG/REPO pulls the checkpoint's files into the cache and writes a GGUF llama.cpp's loader reads") {
  auto& server = HubServer::get();
  auto home = test::scratch_dir("hub-cli-convert-gguf");
  const std::vector<std::string> env{"HF_ENDPOINT=" + server.endpoint(), "HF_HOME=" + home.string()};
  const fs::path gguf = home / "tiny.gguf";
  std::string out, err;
  REQUIRE(test::run_mhub({"convert", "hf:acme/tiny-llama", gguf.string(), "--outtype", "f16", "--json"}, env, &out, &err) == 0);
  auto report = nlohmann::json::parse(out);
  CHECK(report["architecture"] == "llama");
  CHECK(report["tensors"] == 12);
  CHECK(report["tokenizer"]["model"] == "gpt2");
  CHECK(report["tokenizer"]["tokens"] == 32);  // config.json's vocabulary, padded beyond the tokenizer's 30

  // Only the files a conversion reads were pulled, into the snapshot of the resolved commit.
  const fs::path snapshot = home / "hub" / "models--acme--tiny-llama" / "snapshots" / server.repo("acme/tiny-llama").commit;
  for (const char* name : {"config.json", "tokenizer.json", "model.safetensors"}) {
    INFO(name);
    CHECK(fs::exists(snapshot / name));
  }
  CHECK_FALSE(fs::exists(snapshot / "README.md"));

  // The hyperparameters llama.cpp requires (a file without them is refused with "key not found"),
  // the tokenizer and llama.cpp's tensor names.
  REQUIRE(test::run_mhub({"inspect", gguf.string(), "--json"}, {}, &out, &err) == 0);
  auto inspected = nlohmann::json::parse(out);
  CHECK(inspected["architecture"] == "llama");
  CHECK(inspected["hyperparameters"]["context_length"] == 64);
  CHECK(inspected["hyperparameters"]["embedding_length"] == 16);
  CHECK(inspected["hyperparameters"]["attention.head_count_kv"] == 1);
  CHECK(inspected["hyperparameters"]["rope.dimension_count"] == 8);
  CHECK(inspected["tokenizer"]["model"] == "gpt2");
  CHECK(inspected["tokenizer"]["eos"]["token"] == "<|end|>");
  CHECK(inspected["tokenizer"]["merges"] == 2);
  std::vector<std::string> names;
  for (const auto& tensor : inspected["tensors"]) names.push_back(tensor["name"].get<std::string>());
  for (const char* name : {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_gate.weight", "output.weight"}) {
    INFO(name);
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  }

  // Offline, the cached snapshot is enough, and the result is the same file.
  const std::string first = read_whole_file(gguf);
  auto env_offline = env;
  env_offline.push_back("HF_HUB_OFFLINE=1");
  REQUIRE(test::run_mhub({"convert", "hf:acme/tiny-llama", gguf.string(), "--outtype", "f16"}, env_offline, &out, &err) == 0);
  CHECK(read_whole_file(gguf) == first);

  // A repository the hub does not have: not-found's exit code, the repo named, no output file.
  const fs::path missing = home / "missing.gguf";
  CHECK(test::run_mhub({"convert", "hf:acme/no-such-model", missing.string()}, env, &out, &err) == 8);
  CHECK(err.find("acme/no-such-model") != std::string::npos);
  CHECK_FALSE(fs::exists(missing));
}

TEST_CASE("kill -9 in the middle of a download, rerun: only the missing bytes are fetched") {
  auto& server = HubServer::get();
  const auto& file = server.repo("acme/slow").files.at("big.bin");
  auto cache = test::scratch_dir("hub-cli-kill");
  const uint64_t chunk = 256 << 10;
  std::vector<std::string> env{"MHUB_CHUNK_BYTES=" + std::to_string(chunk)};
  fs::path record = cache / "models--acme--slow" / "blobs" / (file.etag + ".incomplete.ranges");
  uint64_t before = server.body_bytes_for("/slow/" + file.etag);
  int pid = test::spawn_mhub(pull_args(cache, "hf:acme/slow:big.bin", {"--connections", "1"}), env);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (recorded_chunks(record) < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGKILL);
  test::wait_exit_status(pid);
  int done = recorded_chunks(record);
  REQUIRE(done >= 4);
  REQUIRE(done < static_cast<int>(file.content.size() / chunk));
  CHECK_FALSE(fs::exists(cache / "models--acme--slow" / "snapshots"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let nginx log the cut connection
  uint64_t after_kill = server.body_bytes_for("/slow/" + file.etag);
  std::string out;
  REQUIRE(test::run_mhub(pull_args(cache, "hf:acme/slow:big.bin"), env, &out) == 0);
  uint64_t second_run = server.body_bytes_for("/slow/" + file.etag) - after_kill;
  MESSAGE("killed after " << done << " chunks; first run sent " << after_kill - before << " bytes, rerun fetched "
                          << second_run << " of " << file.content.size());
  CHECK(second_run <= file.content.size() - done * chunk);
  CHECK(read_whole_file(out.substr(0, out.size() - 1)) == file.content);
  CHECK(hub::HubCache(cache).verify().empty());
}

TEST_CASE("three processes pulling the same blob: one transfer, all succeed") {
  auto& server = HubServer::get();
  const auto& file = server.repo("acme/slow").files.at("big.bin");
  auto cache = test::scratch_dir("hub-cli-concurrent");
  uint64_t before = server.body_bytes_for("/slow/" + file.etag);
  std::vector<int> pids;
  for (int i = 0; i < 3; ++i) pids.push_back(test::spawn_mhub(pull_args(cache, "hf:acme/slow:big.bin"), {}));
  for (int pid : pids) CHECK(test::wait_exit_status(pid) == 0);
  CHECK(server.body_bytes_for("/slow/" + file.etag) - before == file.content.size());
  auto path = cache / "models--acme--slow" / "snapshots" / server.repo("acme/slow").commit / "big.bin";
  CHECK(read_whole_file(path) == file.content);
}

TEST_CASE("a lease left by a dead process is taken over") {
  auto& server = HubServer::get();
  const auto& file = server.repo("acme/tiny").files.at("model.onnx");
  auto cache = test::scratch_dir("hub-cli-stale");
  hub::HubCache hub_cache(cache);
  fs::path lease = hub_cache.lease_path("acme/tiny", file.etag);
  fs::create_directories(lease.parent_path());
  int dead = test::spawn_mhub({"--version"}, {});
  test::wait_exit_status(dead);
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  write_file_atomically(lease, std::to_string(dead) + " " + host + " 99\n");
  auto start = std::chrono::steady_clock::now();
  CHECK(test::run_mhub(pull_args(cache, "hf:acme/tiny:model.onnx"), {}) == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK_FALSE(fs::exists(lease));
}

TEST_CASE("mhub cache ls / verify / rm / prune") {
  auto& server = HubServer::get();
  auto cache = test::scratch_dir("hub-cli-cache");
  REQUIRE(test::run_mhub(pull_args(cache, "hf:acme/tiny"), {}) == 0);
  std::string out, err;
  REQUIRE(test::run_mhub({"cache", "ls", "--json", "--cache-dir", cache.string()}, {}, &out) == 0);
  auto json = nlohmann::json::parse(out);
  REQUIRE(json["repos"].size() == 1);
  CHECK(json["repos"][0]["repo"] == "acme/tiny");
  CHECK(json["repos"][0]["snapshots"][0]["refs"][0] == "main");
  CHECK(json["repos"][0]["snapshots"][0]["files"].size() == 4);
  CHECK(test::run_mhub({"cache", "verify", "--cache-dir", cache.string()}, {}, &out) == 0);

  // A damaged blob is found.
  const auto& file = server.repo("acme/tiny").files.at("model.onnx");
  fs::path blob = cache / "models--acme--tiny" / "blobs" / file.etag;
  {
    std::fstream damage(blob, std::ios::in | std::ios::out | std::ios::binary);
    damage.seekp(1000);
    damage.put('\x00');
    damage.put('\x01');
  }
  CHECK(test::run_mhub({"cache", "verify", "--json", "--cache-dir", cache.string()}, {}, &out) == 6);
  CHECK(nlohmann::json::parse(out)["problems"][0]["problem"].get<std::string>().find(file.etag) != std::string::npos);

  // prune: an unlinked blob and an abandoned partial download go; linked blobs stay.
  write_file_atomically(cache / "models--acme--tiny" / "blobs" / std::string(64, 'b'), "orphan");
  write_file_atomically(cache / "models--acme--tiny" / "blobs" / (std::string(64, 'c') + ".incomplete"), "part");
  REQUIRE(test::run_mhub({"cache", "prune", "--json", "--cache-dir", cache.string()}, {}, &out) == 0);
  CHECK(nlohmann::json::parse(out)["removed"].size() == 2);
  CHECK(nlohmann::json::parse(out)["freed_bytes"] == 10);
  CHECK(fs::exists(blob));

  REQUIRE(test::run_mhub({"cache", "rm", "acme/tiny", "--cache-dir", cache.string()}, {}, &out) == 0);
  CHECK_FALSE(fs::exists(cache / "models--acme--tiny"));
  CHECK(test::run_mhub({"cache", "rm", "acme/tiny", "--cache-dir", cache.string()}, {}, &out, &err) == 2);
  CHECK(err.find("not in the cache") != std::string::npos);
}

}  // TEST_SUITE

TEST_SUITE("hub_cli") {

TEST_CASE("pull NAME: catalogue entries from a hub (sha256 checked before download), a URL, warm with zero requests") {
  auto& server = HubServer::get();
  const auto& tiny = server.repo("acme/tiny");
  const auto& model = tiny.files.at("model.onnx");
  const auto& weights = tiny.files.at("sub/dir/weights.bin");
  auto cache = test::scratch_dir("hub-cli-catalogue");
  nlohmann::json catalogue = {
      {"schema_version", 1},
      {"models",
       {{{"name", "tiny-net"},
         {"task", "image-classification"},
         {"format", "onnx"},
         {"source", {{"kind", "hf"}, {"repo", "acme/tiny"}, {"revision", "main"}, {"path", "model.onnx"},
                     {"endpoint", server.endpoint()}}},
         {"files", {{{"path", "model.onnx"}, {"sha256", model.etag}, {"size", model.content.size()}, {"lfs", true}},
                    {{"path", "config.json"}, {"sha256", hub::verify_blob_file(fs::path(server.prefix()) / "git" / "acme/tiny" / "config.json", "")}}}}},
        {{"name", "tiny-wrong"},
         {"format", "onnx"},
         {"source", {{"kind", "hf"}, {"repo", "acme/tiny"}, {"revision", "main"}, {"path", "sub/dir/weights.bin"},
                     {"endpoint", server.endpoint()}}},
         {"files", {{{"path", "sub/dir/weights.bin"}, {"sha256", std::string(64, 'e')}, {"lfs", true}}}}},
        {{"name", "tiny-url"},
         {"format", "onnx"},
         {"source", {{"kind", "url"}, {"url", server.cdn_endpoint() + "/blobs/" + weights.etag}}},
         {"files", {{{"path", weights.etag}, {"sha256", weights.etag}, {"size", weights.content.size()}}}}}}}};
  fs::path catalogue_file = cache / "catalogue.json";
  write_file_atomically(catalogue_file, catalogue.dump(2));
  auto pull = [&](const std::string& name, std::string* out, std::string* err) {
    return test::run_mhub({"--catalogue", catalogue_file.string(), "pull", name, "--json", "--cache-dir", cache.string()},
                          {}, out, err);
  };
  std::string out, err;
  REQUIRE_MESSAGE(pull("tiny-net", &out, &err) == 0, err);
  auto json = nlohmann::json::parse(out);
  CHECK(json["name"] == "tiny-net");
  REQUIRE(json["files"].size() == 2);
  CHECK(json["files"][0]["sha256"] == model.etag);
  CHECK(read_whole_file(json["files"][0]["path"].get<std::string>()) == model.content);

  // Warm: everything cached with the catalogue's sha256s, so not one request, even for "main".
  size_t requests = server.access_log().size();
  REQUIRE(pull("tiny-net", &out, &err) == 0);
  CHECK(server.access_log().size() == requests);

  // A sha256 that disagrees with the Hub's X-Linked-Etag: integrity error, nothing fetched.
  uint64_t fetched_before = server.body_bytes_for("/blobs/" + weights.etag);
  CHECK(pull("tiny-wrong", &out, &err) == 6);
  CHECK(err.find("catalogue expects") != std::string::npos);
  CHECK(server.body_bytes_for("/blobs/" + weights.etag) == fetched_before);

  // A plain URL source lands in the same layout under its own repo id.
  REQUIRE_MESSAGE(pull("tiny-url", &out, &err) == 0, err);
  json = nlohmann::json::parse(out);
  CHECK(json["repo"] == "mhub-url/tiny-url");
  std::string local = json["files"][0]["path"];
  CHECK(local.find("models--mhub-url--tiny-url/snapshots/") != std::string::npos);
  CHECK(read_whole_file(local) == weights.content);
  requests = server.access_log().size();
  REQUIRE(pull("tiny-url", &out, &err) == 0);
  CHECK(server.access_log().size() == requests);
  // `mhub info` sees it cached.
  REQUIRE(test::run_mhub({"--catalogue", catalogue_file.string(), "info", "tiny-url", "--json"},
                         {"HF_HUB_CACHE=" + cache.string()}, &out, &err) == 0);
  CHECK(nlohmann::json::parse(out)["files"][0]["cached"] == true);
}

}  // TEST_SUITE

TEST_SUITE("hub_cli") {

TEST_CASE("while huggingface_hub holds its flock on a blob, mhub waits for it") {
  auto& server = HubServer::get();
  const auto& file = server.repo("acme/tiny").files.at("sub/dir/weights.bin");
  auto cache = test::scratch_dir("hub-cli-python-lock");
  fs::path lock = cache / ".locks" / "models--acme--tiny" / (file.etag + ".lock");
  fs::create_directories(lock.parent_path());
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);  // not inherited by mhub
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  int pid = test::spawn_mhub(pull_args(cache, "hf:acme/tiny:sub/dir/weights.bin"), {});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  fs::path blob = cache / "models--acme--tiny" / "blobs" / file.etag;
  CHECK_FALSE(fs::exists(blob));
  ::close(fd);  // Python is done
  CHECK(test::wait_exit_status(pid) == 0);
  CHECK(read_whole_file(blob) == file.content);
}

}  // TEST_SUITE
