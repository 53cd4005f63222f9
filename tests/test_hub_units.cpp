// hub/ pieces that need no server: target parsing, URL and header helpers, listing JSON,
// leases, hashing, cache paths.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "common/atomic_file.h"
#include "common/error.h"
#include "hub/cache.h"
#include "hub/hashing.h"
#include "hub/hf_protocol.h"
#include "hub/http.h"
#include "hub/lease.h"
#include "hub/pull.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace mhub;

TEST_SUITE("hub") {

TEST_CASE("hf: targets parse into repo, revision and pattern") {
  auto target = hub::parse_hf_target("hf:timm/resnet50.a1_in1k@v1.0:*.safetensors");
  CHECK(target.repo == "timm/resnet50.a1_in1k");
  CHECK(target.revision == "v1.0");
  CHECK(target.pattern == "*.safetensors");
  CHECK(hub::parse_hf_target("hf:gpt2").revision == "main");
  for (const char* bad : {"timm/x", "hf:", "hf:a/b/c", "hf:../x", "hf:a/b@", "hf:a/b:", "hf:a b/c"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(hub::parse_hf_target(bad), Error);
  }
}

TEST_CASE("URL, header and pattern helpers follow the Hub's conventions") {
  CHECK(hub::resolve_url("https://h", "a/b", "refs/pr/1", "dir/x y.bin") == "https://h/a/b/resolve/refs%2Fpr%2F1/dir/x%20y.bin");
  CHECK(hub::resolve_location("http://a:1/x/y?q", "/z") == "http://a:1/z");
  CHECK(hub::resolve_location("http://a:1/x/y", "z") == "http://a:1/x/z");
  CHECK(hub::resolve_location("http://a:1/x/y", "https://cdn/z") == "https://cdn/z");
  CHECK(hub::origin_of("HTTP://Host:8/p") == "http://host:8");
  CHECK(hub::normalize_etag("W/\"abc\"") == "abc");
  CHECK(hub::parse_retry_after("3") == 3);
  CHECK(hub::parse_retry_after("soon") < 0);
  CHECK(hub::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0);  // in the past
  CHECK(hub::pattern_matches("*.onnx", "onnx/model.onnx"));  // '*' crosses '/', as in huggingface_hub
  CHECK_FALSE(hub::pattern_matches("*.onnx", "model.bin"));
  hub::HttpConfig config;
  config.token = "hf_abcdef";
  CHECK(hub::mask_secrets("GET https://x/?t=hf_abcdef failed", config) == "GET https://x/?t=*** failed");
  CHECK(hub::is_retryable_status(429));
  CHECK(hub::is_retryable_status(503));
  CHECK_FALSE(hub::is_retryable_status(404));
  CHECK(hub::backoff_seconds(config, 1) == doctest::Approx(0.25));
  CHECK(hub::backoff_seconds(config, 3) == doctest::Approx(1.0));
  CHECK(hub::backoff_seconds(config, 20) == doctest::Approx(config.backoff_max_s));
}

TEST_CASE("repo listings: good JSON parses, malformed JSON names the problem") {
  auto listing = hub::parse_repo_listing(R"({"sha":"abc","siblings":[{"rfilename":"a"},{"rfilename":"b/c"}]})", "api");
  CHECK(listing.commit == "abc");
  CHECK(listing.files == std::vector<std::string>{"a", "b/c"});
  auto message = [](const std::string& json) {
    try {
      hub::parse_repo_listing(json, "api");
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(message("{") == "api: the repo listing is not a JSON object");
  CHECK(message(R"({"siblings":[]})") == "api: field 'sha' missing or not a string");
  CHECK(message(R"({"sha":"x","siblings":[{"name":1}]})") == "api: field 'siblings[0].rfilename' missing or not a string");
}

TEST_CASE("blob hashing: sha256 and git blob sha1") {
  hub::BlobHasher hasher(5);
  hasher.update("hello", 5);
  CHECK(hasher.sha256_hex() == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  CHECK(hasher.git_sha1_hex() == "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0");  // git hash-object of "hello"
  auto dir = test::scratch_dir("hub-hash");
  write_file_atomically(dir / "f", "hello");
  CHECK(hub::verify_blob_file(dir / "f", "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0").size() == 64);
  CHECK_THROWS_AS(hub::verify_blob_file(dir / "f", std::string(64, '0')), Error);
}

TEST_CASE("cache paths and links have the huggingface_hub layout") {
  auto root = test::scratch_dir("hub-layout-unit");
  hub::HubCache cache(root);
  CHECK(hub::HubCache::folder_name("org/name") == "models--org--name");
  CHECK(cache.blob_path("org/name", "e") == root / "models--org--name" / "blobs" / "e");
  CHECK_THROWS_AS(cache.snapshot_path("org/name", "c", "../evil"), Error);
  CHECK_THROWS_AS(cache.snapshot_path("org/name", "c", "/abs"), Error);
  CHECK_THROWS_AS(cache.snapshot_path("org/name", "c", "a//b"), Error);
  fs::create_directories(root / "models--org--name" / "blobs");
  write_file_atomically(cache.blob_path("org/name", "e1"), "x");
  cache.link_snapshot("org/name", "c1", "a/b/c.txt", "e1");
  CHECK(fs::read_symlink(cache.snapshot_path("org/name", "c1", "a/b/c.txt")) == "../../../../blobs/e1");
  CHECK(read_whole_file(cache.snapshot_path("org/name", "c1", "a/b/c.txt")) == "x");
  cache.write_ref("org/name", "main", "c1");
  CHECK(read_whole_file(root / "models--org--name" / "refs" / "main") == "c1");
}

TEST_CASE("leases: one holder at a time; dead holders are taken over") {
  auto dir = test::scratch_dir("hub-lease");
  hub::LeaseOptions options;
  auto first = hub::Lease::try_acquire(dir / "x.lease", options);
  REQUIRE(first);
  CHECK(first->still_owned());
  CHECK_FALSE(hub::Lease::try_acquire(dir / "x.lease", options));
  CHECK(hub::lease_is_live(dir / "x.lease", 30));
  first.reset();
  CHECK_FALSE(fs::exists(dir / "x.lease"));

  // A lease left by a process that died on this host.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  write_file_atomically(dir / "y.lease", std::to_string(child) + " " + host + " 1\n");
  CHECK_FALSE(hub::lease_is_live(dir / "y.lease", 30));
  auto taken = hub::Lease::try_acquire(dir / "y.lease", options);
  REQUIRE(taken);
  CHECK(taken->still_owned());

  // A lease from another host is only stale once its heartbeat is old.
  write_file_atomically(dir / "z.lease", "1 some-other-host 7\n");
  CHECK_FALSE(hub::Lease::try_acquire(dir / "z.lease", options));
  hub::LeaseOptions impatient;
  impatient.stale_after_s = 0.2;
  ::usleep(300000);
  CHECK(hub::Lease::try_acquire(dir / "z.lease", impatient));
}

}  // TEST_SUITE
