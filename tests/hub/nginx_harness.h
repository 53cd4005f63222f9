// A real nginx for the hub tests, started once per test process with its own prefix in the
// build tree, random free ports, `daemon off`, and killed at exit (also if the tests die:
// PR_SET_PDEATHSIG). It serves Hugging Face style repos (resolve URLs with X-Repo-Commit,
// ETag / X-Linked-Etag / X-Linked-Size, 302 to a CDN server, X-Error-Code on 404s, the
// /api/models listing; a mirror repo `acme/mirror` with absolute same-host 302s and plain
// 404s; `acme/busy` answering 429 until the file PREFIX/busy-open exists; `acme/forbidden`
// answering 403; `acme/tiny-llama`, a tiny causal LM checkpoint
// with config.json, tokenizer.json and model.safetensors), over HTTP, HTTPS with a CA made at start (tests/hub/make_ca.sh) and HTTPS with
// an untrusted certificate. LFS files of some repos go through a FaultProxy.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/hub/fault_proxy.h"

namespace mhub::test {

struct ServedFile {
  std::string content;
  std::string etag;  // sha256 (LFS) or git sha1
  bool lfs = false;
};

struct ServedRepo {
  std::string repo;
  std::string commit;
  std::map<std::string, ServedFile> files;
};

class HubServer {
 public:
  // The process-wide server, started on first use. Throws std::runtime_error if nginx fails.
  static HubServer& get();
  ~HubServer();

  std::string endpoint() const;          // http://127.0.0.1:PORT
  std::string tls_endpoint() const;      // https with a certificate signed by ca_file()
  std::string bad_tls_endpoint() const;  // https with an untrusted self-signed certificate
  std::string ca_file() const;
  std::string cdn_endpoint() const;      // http://127.0.0.1:PORT serving /blobs/<sha256>
  std::string prefix() const { return prefix_; }
  FaultProxy& proxy() { return *proxy_; }          // in front of the CDN (LFS downloads of some repos)
  FaultProxy& hub_proxy() { return *hub_proxy_; }  // in front of the hub itself
  std::string proxied_endpoint() const;            // the hub through hub_proxy()
  const ServedRepo& repo(const std::string& name) const { return repos_.at(name); }
  std::string token() const { return "hf_testsecret42"; }

  std::vector<std::string> access_log() const;
  // Sum of $body_bytes_sent over log lines whose request contains `needle`.
  uint64_t body_bytes_for(const std::string& needle) const;

 private:
  HubServer();
  void add_repo(const std::string& name, const std::string& commit, const std::vector<std::pair<std::string, ServedFile>>& files);
  std::string locations_for(const ServedRepo& repo, const std::string& cdn_path, int cdn_port, bool needs_token) const;
  std::string mirror_locations(const ServedRepo& repo) const;
  std::string prefix_;
  int hub_port_ = 0, tls_port_ = 0, bad_tls_port_ = 0, cdn_port_ = 0, slow_port_ = 0;
  int nginx_pid_ = -1;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<FaultProxy> hub_proxy_;
  std::map<std::string, ServedRepo> repos_;
};

// Deterministic pseudo-random bytes.
std::string random_bytes(size_t size, unsigned seed);

// Runs build/cli/mhub with `args`; extra environment as "NAME=value". Returns the exit status;
// stdout/stderr text go to `out` / `err` when given.
int run_mhub(const std::vector<std::string>& args, const std::vector<std::string>& env, std::string* out = nullptr,
             std::string* err = nullptr);
// Starts it without waiting; output discarded. Returns the pid.
int spawn_mhub(const std::vector<std::string>& args, const std::vector<std::string>& env);
int wait_exit_status(int pid);

}  // namespace mhub::test
