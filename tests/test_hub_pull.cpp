// Pulls against a real nginx (tests/hub/nginx_harness.h): protocol, cache layout, offline,
// tokens, TLS, parallel ranges, and every fault through the fault proxy.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "hub/cache.h"
#include "hub/pull.h"
#include "tests/hub/nginx_harness.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace mhub;
using test::Fault;
using test::HubServer;

namespace {

hub::PullOptions options_for(const fs::path& cache_dir) {
  hub::PullOptions options;
  options.http.endpoint = HubServer::get().endpoint();
  options.http.backoff_initial_s = 0.05;
  options.http.stall_timeout_s = 2;
  options.cache_dir = cache_dir;
  options.download.chunk_bytes = 256 << 10;
  return options;
}

ErrorCategory category_of(const std::function<void()>& action, std::string* message = nullptr) {
  try {
    action();
  } catch (const Error& error) {
    if (message) *message = error.what();
    return error.category();
  }
  FAIL("no error thrown");
  return ErrorCategory::internal;
}

// Nothing but verified blobs and links to them: no partial files, every link resolves.
void check_cache_clean(const fs::path& root) {
  hub::HubCache cache(root);
  CHECK(cache.verify().empty());
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string name = it->path().filename().string();
    CHECK_MESSAGE(name.find(".incomplete") == std::string::npos, it->path());
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_SUITE("hub") {

TEST_CASE("a pull writes exactly the huggingface_hub cache layout") {
  auto& server = HubServer::get();
  const auto& repo = server.repo("acme/tiny");
  auto root = test::scratch_dir("hub-layout");
  auto result = hub::pull_hf(options_for(root), "acme/tiny", "main", {"*"});
  CHECK(result.commit == repo.commit);
  REQUIRE(result.files.size() == 4);
  fs::path folder = root / "models--acme--tiny";
  CHECK(read_whole_file(folder / "refs" / "main") == repo.commit);
  for (const auto& [path, file] : repo.files) {
    CAPTURE(path);
    fs::path link = folder / "snapshots" / repo.commit / path;
    REQUIRE(fs::is_symlink(link));
    std::string ups = "../../";
    for (char c : path) if (c == '/') ups += "../";
    CHECK(fs::read_symlink(link).string() == ups + "blobs/" + file.etag);
    CHECK(read_whole_file(folder / "blobs" / file.etag) == file.content);
    CHECK(file.etag.size() == (file.lfs ? 64u : 40u));
  }
  std::set<std::string> top;
  for (const auto& entry : fs::directory_iterator(folder)) top.insert(entry.path().filename().string());
  CHECK(top == std::set<std::string>{"blobs", "refs", "snapshots"});
  size_t blobs = 0;
  for (const auto& entry : fs::directory_iterator(folder / "blobs")) blobs += entry.is_regular_file();
  CHECK(blobs == 4);
  check_cache_clean(root);

  // A file the Hub says is absent leaves a .no_exist marker and a clear error.
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options_for(root), "acme/tiny", "main", {"missing.txt"}); }, &message) ==
        ErrorCategory::not_found);
  CHECK(message.find("'missing.txt' does not exist in 'acme/tiny'") != std::string::npos);
  CHECK(fs::is_regular_file(folder / ".no_exist" / repo.commit / "missing.txt"));
  CHECK(fs::file_size(folder / ".no_exist" / repo.commit / "missing.txt") == 0);
}

TEST_CASE("Hub error codes become clear errors") {
  auto root = test::scratch_dir("hub-errors");
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options_for(root), "acme/nothing", "main", {"x.bin"}); }, &message) ==
        ErrorCategory::not_found);
  CHECK(message.find("repository 'acme/nothing' not found") != std::string::npos);
  CHECK(message.find("'x.bin'") != std::string::npos);
  CHECK(message.find("Repository not found") != std::string::npos);
  CHECK(category_of([&] { hub::pull_hf(options_for(root), "acme/tiny", "nosuchrev", {"config.json"}); }, &message) ==
        ErrorCategory::not_found);
  CHECK(message.find("revision 'nosuchrev' not found") != std::string::npos);
  CHECK(category_of([&] { hub::pull_hf(options_for(root), "acme/huge", "main", {"huge.bin"}); }, &message) ==
        ErrorCategory::io);
  CHECK(message.find("free") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "models--acme--huge" / "snapshots"));
}

TEST_CASE("a same-host redirect (renamed repo) is followed") {
  auto root = test::scratch_dir("hub-renamed");
  auto result = hub::pull_hf(options_for(root), "acme/old-name", "main", {"config.json"});
  CHECK(read_whole_file(result.files.at(0).local) == HubServer::get().repo("acme/tiny").files.at("config.json").content);
}

TEST_CASE("a mirror's absolute 302 to its own host: metadata from the 302, the body from its Location") {
  auto& server = HubServer::get();
  const auto& repo = server.repo("acme/mirror");
  auto root = test::scratch_dir("hub-mirror");
  auto result = hub::pull_hf(options_for(root), "acme/mirror", "main", {"model.bin", "config.json"});
  CHECK(result.commit == repo.commit);
  REQUIRE(result.files.size() == 2);
  CHECK(result.files[0].sha256 == repo.files.at("model.bin").etag);
  CHECK(read_whole_file(result.files[0].local) == repo.files.at("model.bin").content);
  CHECK(read_whole_file(result.files[1].local) == repo.files.at("config.json").content);
  CHECK(read_whole_file(root / "models--acme--mirror" / "refs" / "main") == repo.commit);
  int blob_gets = 0;
  for (const auto& line : server.access_log())
    blob_gets += line.find("\"GET /mirror-blobs/" + repo.files.at("model.bin").etag) != std::string::npos;
  CHECK(blob_gets >= 1);
  check_cache_clean(root);
}

TEST_CASE("every 404 is not_found and names repo, revision and file, with or without X-Error-Code") {
  auto root = test::scratch_dir("hub-not-found");
  std::string message;
  // A mirror's plain 404.
  CHECK(category_of([&] { hub::pull_hf(options_for(root), "acme/mirror", "main", {"missing.bin"}); }, &message) ==
        ErrorCategory::not_found);
  CHECK(message.find("'missing.bin'") != std::string::npos);
  CHECK(message.find("'acme/mirror'") != std::string::npos);
  CHECK(message.find("revision 'main'") != std::string::npos);
  CHECK(message.find("try again") == std::string::npos);
  // The Hub's EntryNotFound.
  CHECK(category_of([&] { hub::pull_hf(options_for(root), "acme/tiny", "main", {"missing.bin"}); }, &message) ==
        ErrorCategory::not_found);
  CHECK(message.find("'missing.bin' does not exist in 'acme/tiny' at revision 'main'") != std::string::npos);
  CHECK(exit_code_for(ErrorCategory::not_found) == 8);
}

TEST_CASE("401 and 403 say to set HF_TOKEN, or that the token lacks access") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-auth");
  auto options = options_for(root);
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options, "acme/private", "main", {"model.bin"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find("HTTP 401") != std::string::npos);
  CHECK(message.find("set HF_TOKEN") != std::string::npos);
  CHECK(message.find("'model.bin' in 'acme/private' at revision 'main'") != std::string::npos);
  options.http.token = "hf_not_the_right_one";
  CHECK(category_of([&] { hub::pull_hf(options, "acme/private", "main", {"model.bin"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find("lacks access to 'acme/private'") != std::string::npos);
  CHECK(message.find("hf_not_the_right_one") == std::string::npos);
  options.http.token = server.token();
  CHECK(category_of([&] { hub::pull_hf(options, "acme/forbidden", "main", {"model.bin"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find("HTTP 403") != std::string::npos);
  CHECK(message.find("lacks access to 'acme/forbidden'") != std::string::npos);
}

TEST_CASE("429 with Retry-After: waits as told, retries, then succeeds") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-429");
  fs::remove(fs::path(server.prefix()) / "busy-open");
  auto count_429 = [&] {
    int count = 0;
    for (const auto& line : server.access_log())
      count += line.find("/acme/busy/resolve/main/config.json") != std::string::npos && line.find("\" 429 ") != std::string::npos;
    return count;
  };
  const int before = count_429();
  // Opens the door once nginx has answered 429 at least once.
  std::thread opener([&] {
    for (int i = 0; i < 400 && count_429() == before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    write_file_atomically(fs::path(server.prefix()) / "busy-open", "");
  });
  auto start = std::chrono::steady_clock::now();
  auto result = hub::pull_hf(options_for(root), "acme/busy", "main", {"config.json"});
  opener.join();
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/busy").files.at("config.json").content);
  CHECK(count_429() > before);
  CHECK(seconds_since(start) >= 0.9);  // Retry-After: 1 was honoured, not the 0.05 s backoff
}

TEST_CASE("a warm pull of a pinned commit makes zero requests; offline mode makes none at all") {
  auto& server = HubServer::get();
  const auto& repo = server.repo("acme/tiny");
  auto root = test::scratch_dir("hub-warm");
  hub::pull_hf(options_for(root), "acme/tiny", repo.commit, {"model.onnx", "config.json"});
  size_t requests = server.access_log().size();
  auto warm = hub::pull_hf(options_for(root), "acme/tiny", repo.commit, {"model.onnx", "config.json"});
  CHECK(warm.files.size() == 2);
  CHECK(warm.files[0].sha256 == repo.files.at("model.onnx").etag);
  CHECK(server.access_log().size() == requests);

  auto offline = options_for(root);
  offline.http.offline = true;
  CHECK(hub::pull_hf(offline, "acme/tiny", repo.commit, {"*.onnx"}).files.size() == 1);
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(offline, "acme/tiny", repo.commit, {"README.md"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find("'README.md' of 'acme/tiny'") != std::string::npos);
  CHECK(message.find("offline") != std::string::npos);
  CHECK(category_of([&] { hub::pull_hf(offline, "acme/tiny", "v2", {"config.json"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find("revision 'v2'") != std::string::npos);
  CHECK(server.access_log().size() == requests);
}

TEST_CASE("tokens go to the Hub only, never to the CDN, and never into messages") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-token");
  auto options = options_for(root);
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options, "acme/private", "main", {"model.bin"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find("HF_TOKEN") != std::string::npos);
  options.http.token = server.token();
  auto result = hub::pull_hf(options, "acme/private", "main", {"model.bin"});
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/private").files.at("model.bin").content);
  const std::string etag = server.repo("acme/private").files.at("model.bin").etag;
  int hub_lines = 0, cdn_lines = 0;
  for (const auto& line : server.access_log()) {
    if (line.find("/acme/private/resolve/") != std::string::npos && line.find(server.token()) != std::string::npos)
      ++hub_lines;
    if (line.find("/blobs/" + etag) != std::string::npos) {
      ++cdn_lines;
      CHECK(line.find(server.token()) == std::string::npos);
    }
  }
  CHECK(hub_lines >= 1);
  CHECK(cdn_lines >= 1);
  // A token in the endpoint URL (a user mistake) is masked in errors.
  options.http.endpoint = "http://127.0.0.1:1/" + server.token();
  options.http.max_attempts = 1;
  CHECK(category_of([&] { hub::pull_hf(options, "acme/private", "main", {"model.bin"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find(server.token()) == std::string::npos);
  CHECK(message.find("***") != std::string::npos);
}

TEST_CASE("HTTPS with the test CA works; an untrusted certificate is refused") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-tls");
  auto options = options_for(root);
  options.http.endpoint = server.tls_endpoint();
  options.http.cacert = server.ca_file();
  auto result = hub::pull_hf(options, "acme/tiny", "main", {"config.json", "model.onnx"});
  CHECK(result.files.size() == 2);
  options.http.endpoint = server.bad_tls_endpoint();
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options, "acme/tiny", "main", {"README.md"}); }, &message) ==
        ErrorCategory::network);
  CHECK(message.find("--cacert") != std::string::npos);
  CHECK_FALSE(fs::exists(hub::HubCache(root).snapshot_path("acme/tiny", server.repo("acme/tiny").commit, "README.md")));
}

TEST_CASE("8 connections beat 1 on a per-connection throttled server") {
  auto& server = HubServer::get();
  auto timed_pull = [&](int connections) {
    auto options = options_for(test::scratch_dir("hub-parallel-" + std::to_string(connections)));
    options.download.connections = connections;
    options.download.chunk_bytes = 512 << 10;
    auto start = std::chrono::steady_clock::now();
    auto result = hub::pull_hf(options, "acme/slow", "main", {"big.bin"});
    CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/slow").files.at("big.bin").content);
    return seconds_since(start);
  };
  double eight = timed_pull(8);
  double one = timed_pull(1);
  MESSAGE("throttled 4 MiB at 2 MB/s per connection: 1 connection " << one << " s, 8 connections " << eight
                                                                      << " s, ratio " << one / eight);
  CHECK(one / eight >= 3.0);
}

TEST_CASE("faults: cut connections are resumed by range and the file is right") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-fault-cut");
  server.proxy().arm(Fault::cut, 3);
  auto result = hub::pull_hf(options_for(root), "acme/faulty", "main", {"data.bin"});
  server.proxy().arm(Fault::none, 0);
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/faulty").files.at("data.bin").content);
  check_cache_clean(root);
}

TEST_CASE("faults: 503 with Retry-After is waited out and retried") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-fault-503");
  auto options = options_for(root);
  options.download.connections = 1;
  server.proxy().arm(Fault::status503, 2);
  auto start = std::chrono::steady_clock::now();
  auto result = hub::pull_hf(options, "acme/faulty", "main", {"data.bin"});
  server.proxy().arm(Fault::none, 0);
  CHECK(seconds_since(start) >= 1.9);  // two Retry-After: 1 waits
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/faulty").files.at("data.bin").content);
}

TEST_CASE("faults: persistent 500s give a network error after the retries, nothing in the cache") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-fault-500");
  auto options = options_for(root);
  options.http.max_attempts = 3;
  server.proxy().arm(Fault::status500, 1000);
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options, "acme/faulty", "main", {"data.bin"}); }, &message) ==
        ErrorCategory::network);
  server.proxy().arm(Fault::none, 0);
  CHECK(message.find("HTTP 500") != std::string::npos);
  CHECK(message.find("gave up after 3 attempts") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "models--acme--faulty" / "snapshots"));
  // The next pull resumes and finishes.
  auto result = hub::pull_hf(options, "acme/faulty", "main", {"data.bin"});
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/faulty").files.at("data.bin").content);
  check_cache_clean(root);
}

TEST_CASE("faults: wrong bytes are an integrity error and never reach the cache") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-fault-corrupt");
  server.proxy().arm(Fault::corrupt, 1000);
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options_for(root), "acme/faulty", "main", {"data.bin"}); }, &message) ==
        ErrorCategory::integrity);
  server.proxy().arm(Fault::none, 0);
  CHECK(message.find("expected " + server.repo("acme/faulty").files.at("data.bin").etag) != std::string::npos);
  fs::path folder = root / "models--acme--faulty";
  CHECK_FALSE(fs::exists(folder / "snapshots"));
  CHECK(fs::is_empty(folder / "blobs"));
}

TEST_CASE("faults: a stalled connection is detected, cut and retried") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-fault-stall");
  auto options = options_for(root);
  options.http.stall_timeout_s = 1;
  options.download.connections = 2;
  server.proxy().arm(Fault::stall, 1);
  auto start = std::chrono::steady_clock::now();
  auto result = hub::pull_hf(options, "acme/faulty", "main", {"data.bin"});
  server.proxy().arm(Fault::none, 0);
  CHECK(seconds_since(start) < 10);
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/faulty").files.at("data.bin").content);
}

TEST_CASE("faults: a full disk (RLIMIT_FSIZE) is an io error; the partial file resumes later") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-fault-disk");
  auto options = options_for(root);
  options.download.connections = 1;
  HubServer::get();  // started before fork, so the child does not start its own
  pid_t child = ::fork();
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{1 << 20, 1 << 20};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 0;
    try {
      hub::pull_hf(options, "acme/faulty", "main", {"data.bin"});
    } catch (const Error& error) {
      code = exit_code_for(error.category());
    }
    ::_exit(code);
  }
  CHECK(test::wait_exit_status(child) == exit_code_for(ErrorCategory::io));
  CHECK_FALSE(fs::exists(root / "models--acme--faulty" / "snapshots"));
  auto result = hub::pull_hf(options, "acme/faulty", "main", {"data.bin"});
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/faulty").files.at("data.bin").content);
  check_cache_clean(root);
}

TEST_CASE("a partial file left by huggingface_hub (a plain prefix) is resumed, not refetched") {
  auto& server = HubServer::get();
  const auto& file = server.repo("acme/faulty").files.at("data.bin");
  auto root = test::scratch_dir("hub-python-partial");
  fs::path blobs = root / "models--acme--faulty" / "blobs";
  fs::create_directories(blobs);
  write_file_atomically(blobs / (file.etag + ".incomplete"), file.content.substr(0, 1 << 20));
  uint64_t before = server.body_bytes_for("/blobs/" + file.etag);
  auto result = hub::pull_hf(options_for(root), "acme/faulty", "main", {"data.bin"});
  CHECK(read_whole_file(result.files.at(0).local) == file.content);
  CHECK(server.body_bytes_for("/blobs/" + file.etag) - before == file.content.size() - (1 << 20));
}

}  // TEST_SUITE

TEST_SUITE("hub") {

TEST_CASE("faults at the hub: a 503 with Retry-After on the HEAD is waited out; persistent 500s fail clearly") {
  auto& server = HubServer::get();
  auto root = test::scratch_dir("hub-fault-head");
  auto options = options_for(root);
  options.http.endpoint = server.proxied_endpoint();
  server.hub_proxy().arm(Fault::status503, 2);
  auto start = std::chrono::steady_clock::now();
  auto result = hub::pull_hf(options, "acme/tiny", "main", {"config.json"});
  server.hub_proxy().arm(Fault::none, 0);
  CHECK(seconds_since(start) >= 1.9);
  CHECK(read_whole_file(result.files.at(0).local) == server.repo("acme/tiny").files.at("config.json").content);

  options.http.max_attempts = 2;
  server.hub_proxy().arm(Fault::status500, 1000);
  std::string message;
  CHECK(category_of([&] { hub::pull_hf(options, "acme/tiny", "main", {"README.md"}); }, &message) ==
        ErrorCategory::network);
  server.hub_proxy().arm(Fault::none, 0);
  CHECK(message.find("HEAD " + server.proxied_endpoint() + "/acme/tiny/resolve/main/README.md: HTTP 500 (gave up after 2 attempts)") !=
        std::string::npos);
}

}  // TEST_SUITE
