#include "tests/hub/nginx_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/atomic_file.h"
#include "hub/hashing.h"
#include "tests/test_support.h"
#include "tests/test_paths.h"

namespace fs = std::filesystem;

namespace mhub::test {

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

std::string sha256_of(const std::string& content) {
  hub::BlobHasher hasher;
  hasher.update(content.data(), content.size());
  return hasher.sha256_hex();
}

std::string git_sha1_of(const std::string& content) {
  hub::BlobHasher hasher(static_cast<int64_t>(content.size()));
  hasher.update(content.data(), content.size());
  return hasher.git_sha1_hex();
}

ServedFile lfs_file(std::string content) {
  ServedFile file;
  file.etag = sha256_of(content);
  file.content = std::move(content);
  file.lfs = true;
  return file;
}

ServedFile git_file(std::string content) {
  ServedFile file;
  file.etag = git_sha1_of(content);
  file.content = std::move(content);
  return file;
}

std::string commit_for(const std::string& name) { return git_sha1_of("commit of " + name); }

// A tiny Llama checkpoint (hidden 16, 2 heads, 1 KV head, vocabulary 32, one layer) in the
// files `mhub convert hf:ORG/REPO x.gguf` reads: config.json, a byte-level BPE tokenizer.json and
// model.safetensors (F32, weights from a fixed seed), written as the safetensors format says: an
// 8-byte little-endian header length, the JSON header, the tensor bytes.
std::vector<std::pair<std::string, ServedFile>> tiny_llama_files() {
  const std::vector<std::pair<std::string, std::vector<int>>> tensors = {
      {"model.embed_tokens.weight", {32, 16}},
      {"model.layers.0.input_layernorm.weight", {16}},
      {"model.layers.0.self_attn.q_proj.weight", {16, 16}},
      {"model.layers.0.self_attn.k_proj.weight", {8, 16}},
      {"model.layers.0.self_attn.v_proj.weight", {8, 16}},
      {"model.layers.0.self_attn.o_proj.weight", {16, 16}},
      {"model.layers.0.post_attention_layernorm.weight", {16}},
      {"model.layers.0.mlp.gate_proj.weight", {32, 16}},
      {"model.layers.0.mlp.up_proj.weight", {32, 16}},
      {"model.layers.0.mlp.down_proj.weight", {16, 32}},
      {"model.norm.weight", {16}},
      {"lm_head.weight", {32, 16}}};
  std::string header = "{", data;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  for (const auto& [name, shape] : tensors) {
    size_t count = 1;
    for (int dim : shape) count *= static_cast<size_t>(dim);
    size_t begin = data.size();
    for (size_t i = 0; i < count; ++i) {
      float value = uniform(rng);
      data.append(reinterpret_cast<const char*>(&value), sizeof value);
    }
    std::string dims;
    for (int dim : shape) dims += (dims.empty() ? "" : ",") + std::to_string(dim);
    header += (header.size() > 1 ? "," : "") + std::string("\"") + name + "\":{\"dtype\":\"F32\",\"shape\":[" + dims +
              "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  file += header + data;
  // Tokens: the 26 lower-case letters, 'Ġ' (a byte-level space) and two merges; config.json's
  // vocabulary (32) is larger, as in real checkpoints, and the GGUF pads it.
  std::string vocab, merges = "\"a b\",\"Ġ a\"";
  for (int i = 0; i < 26; ++i) vocab += "\"" + std::string(1, static_cast<char>('a' + i)) + "\":" + std::to_string(i) + ",";
  vocab += "\"\\u0120\":26,\"ab\":27,\"\\u0120a\":28";
  std::string tokenizer = "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":29,\"content\":\"<|end|>\",\"special\":true}],"
                          "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,"
                          "\"use_regex\":true},\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab + "},\"merges\":[" +
                          merges + "]}}\n";
  std::string config = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":16,"
                       "\"intermediate_size\":32,\"num_attention_heads\":2,\"num_key_value_heads\":1,"
                       "\"num_hidden_layers\":1,\"max_position_embeddings\":64,\"rms_norm_eps\":1e-5,"
                       "\"rope_theta\":10000.0,\"vocab_size\":32,\"eos_token_id\":29,\"torch_dtype\":\"float32\"}\n";
  return {{"config.json", git_file(config)}, {"tokenizer.json", git_file(tokenizer)}, {"model.safetensors", lfs_file(file)},
          {"README.md", git_file("# tiny-llama\n")}};
}

}  // namespace

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t value = random();
    std::memcpy(&bytes[i], &value, std::min<size_t>(8, size - i));
  }
  return bytes;
}

HubServer& HubServer::get() {
  static HubServer server;
  return server;
}

void HubServer::add_repo(const std::string& name, const std::string& commit,
                         const std::vector<std::pair<std::string, ServedFile>>& files) {
  ServedRepo repo{name, commit, {}};
  for (const auto& [path, file] : files) {
    repo.files[path] = file;
    fs::path stored = file.lfs ? fs::path(prefix_) / "cdn" / file.etag : fs::path(prefix_) / "git" / name / path;
    fs::create_directories(stored.parent_path());
    write_file_atomically(stored, file.content);
  }
  std::string listing = "{\"id\":\"" + name + "\",\"sha\":\"" + commit + "\",\"siblings\":[";
  bool first = true;
  for (const auto& [path, file] : repo.files) {
    listing += std::string(first ? "" : ",") + "{\"rfilename\":\"" + path + "\"}";
    first = false;
  }
  listing += "]}";
  fs::path api = fs::path(prefix_) / "api" / name / "listing.json";
  fs::create_directories(api.parent_path());
  write_file_atomically(api, listing);
  repos_[name] = repo;
}

std::string HubServer::locations_for(const ServedRepo& repo, const std::string& cdn_path, int cdn_port,
                                     bool needs_token) const {
  std::ostringstream out;
  for (const std::string& revision : {std::string("main"), repo.commit}) {
    out << "location = /api/models/" << repo.repo << "/revision/" << revision << " {\n"
        << "  default_type application/json;\n  alias " << prefix_ << "/api/" << repo.repo << "/listing.json;\n}\n";
    for (const auto& [path, file] : repo.files) {
      out << "location = /" << repo.repo << "/resolve/" << revision << "/" << path << " {\n";
      if (needs_token) out << "  if ($http_authorization != \"Bearer " << token() << "\") { return 401; }\n";
      out << "  add_header X-Repo-Commit " << repo.commit << " always;\n";
      if (file.lfs) {
        out << "  add_header X-Linked-Etag '\"" << file.etag << "\"';\n"
            << "  add_header X-Linked-Size " << file.content.size() << ";\n"
            << "  return 302 http://127.0.0.1:" << cdn_port << "/" << cdn_path << "/" << file.etag << ";\n";
      } else {
        out << "  etag off;\n  add_header ETag '\"" << file.etag << "\"';\n"
            << "  alias " << prefix_ << "/git/" << repo.repo << "/" << path << ";\n";
      }
      out << "}\n";
    }
  }
  out << "location /" << repo.repo << "/resolve/nosuchrev/ {\n  add_header X-Error-Code RevisionNotFound always;\n"
      << "  add_header X-Error-Message \"Invalid rev id: nosuchrev\" always;\n  return 404;\n}\n";
  out << "location /" << repo.repo << "/ {\n  add_header X-Repo-Commit " << repo.commit << " always;\n"
      << "  add_header X-Error-Code EntryNotFound always;\n  return 404;\n}\n";
  return out.str();
}

std::string HubServer::mirror_locations(const ServedRepo& repo) const {
  // As a mirror serving its own blobs writes it: absolute Locations to the same host, blobs
  // without X-Repo-Commit (and with nginx's own ETag), plain 404s for anything else.
  std::string hub = "http://127.0.0.1:" + std::to_string(hub_port_);
  std::ostringstream out;
  for (const std::string& revision : {std::string("main"), repo.commit}) {
    for (const auto& [path, file] : repo.files) {
      out << "location = /" << repo.repo << "/resolve/" << revision << "/" << path << " {\n"
          << "  add_header X-Repo-Commit " << repo.commit << " always;\n";
      if (file.lfs)
        out << "  add_header X-Linked-Etag '\"" << file.etag << "\"';\n"
            << "  add_header X-Linked-Size " << file.content.size() << ";\n"
            << "  return 302 " << hub << "/mirror-blobs/" << file.etag << ";\n";
      else
        out << "  etag off;\n  add_header ETag '\"" << file.etag << "\"';\n  alias " << prefix_ << "/git/" << repo.repo
            << "/" << path << ";\n";
      out << "}\n";
    }
  }
  out << "location /mirror-blobs/ {\n  alias " << prefix_ << "/cdn/;\n}\n"
      << "location /" << repo.repo << "/ {\n  return 404;\n}\n";
  return out.str();
}

HubServer::HubServer() {
  // One folder per process: ctest -j runs several hub suites at once, each with its own nginx.
  prefix_ = scratch_dir("hub-nginx-" + std::to_string(::getpid())).string();
  for (const char* folder : {"tmp", "cdn", "git", "api", "tls"}) fs::create_directories(fs::path(prefix_) / folder);
  hub_port_ = free_port();
  tls_port_ = free_port();
  bad_tls_port_ = free_port();
  cdn_port_ = free_port();
  slow_port_ = free_port();
  proxy_ = std::make_unique<FaultProxy>(cdn_port_);
  hub_proxy_ = std::make_unique<FaultProxy>(hub_port_);

  std::string source = mhub::test::source_dir() + "/tests/hub/";
  std::string make_ca = source + "make_ca.sh '" + prefix_ + "/tls'";
  if (std::system(make_ca.c_str()) != 0) throw std::runtime_error("tests/hub/make_ca.sh failed (is openssl installed?)");

  add_repo("acme/tiny", commit_for("acme/tiny"),
           {{"config.json", git_file("{\"architectures\": [\"TinyNet\"], \"hidden\": 16}\n")},
            {"README.md", git_file("# tiny\nA test repo.\n")},
            {"model.onnx", lfs_file(random_bytes(3 << 20, 1))},
            {"sub/dir/weights.bin", lfs_file(random_bytes(100 << 10, 2))}});
  add_repo("acme/slow", commit_for("acme/slow"), {{"big.bin", lfs_file(random_bytes(4 << 20, 3))}});
  add_repo("acme/private", commit_for("acme/private"), {{"model.bin", lfs_file(random_bytes(200 << 10, 4))}});
  add_repo("acme/faulty", commit_for("acme/faulty"), {{"data.bin", lfs_file(random_bytes(2 << 20, 5))}});
  // A self-hosted mirror: absolute 302s to its own host, plain 404s (no X-Error-Code).
  add_repo("acme/mirror", commit_for("acme/mirror"),
           {{"model.bin", lfs_file(random_bytes(150 << 10, 6))}, {"config.json", git_file("{\"mirror\": true}\n")}});
  // Answers 429 (Retry-After: 1) until the file busy-open exists in the prefix.
  add_repo("acme/busy", commit_for("acme/busy"), {{"config.json", git_file("{\"busy\": true}\n")}});
  // The bundled fashion-cnn published as a Hub repo (tests/test_hub_finetune.cpp trains it).
  add_repo("acme/fashion-cnn", commit_for("acme/fashion-cnn"),
           {{"model.onnx", lfs_file(read_whole_file(mhub::test::source_dir() + "/models/fashion-cnn/model.onnx"))}});

  // A causal LM checkpoint for `mhub convert hf:acme/tiny-llama x.gguf`.
  add_repo("acme/tiny-llama", commit_for("acme/tiny-llama"), tiny_llama_files());

  std::string locations;
  locations += locations_for(repos_["acme/tiny"], "blobs", proxy_->port(), false);
  locations += locations_for(repos_["acme/faulty"], "blobs", proxy_->port(), false);
  locations += locations_for(repos_["acme/slow"], "slow", slow_port_, false);
  locations += locations_for(repos_["acme/private"], "blobs", cdn_port_, true);
  locations += locations_for(repos_["acme/fashion-cnn"], "blobs", cdn_port_, false);
  locations += locations_for(repos_["acme/tiny-llama"], "blobs", cdn_port_, false);
  locations += mirror_locations(repos_["acme/mirror"]);
  {
    const ServedRepo& busy = repos_["acme/busy"];
    locations += "location = /acme/busy/resolve/main/config.json {\n  if (!-f " + prefix_ +
                 "/busy-open) {\n    add_header Retry-After 1 always;\n    return 429;\n  }\n"
                 "  add_header X-Repo-Commit " + busy.commit + " always;\n  etag off;\n  add_header ETag '\"" +
                 busy.files.at("config.json").etag + "\"';\n  alias " + prefix_ + "/git/acme/busy/config.json;\n}\n";
  }
  // A repo the token gives no access to.
  locations += "location /acme/forbidden/ {\n  return 403;\n}\n";
  // A renamed repo: a relative (same-host) redirect, as the Hub sends.
  locations += "location ~ ^/acme/old-name/(resolve/.*)$ {\n  return 307 /acme/tiny/$1;\n}\n";
  // A file larger than any disk: the free-space check must refuse it before downloading.
  locations += "location = /acme/huge/resolve/main/huge.bin {\n  add_header X-Repo-Commit " + commit_for("acme/huge") +
               " always;\n  add_header X-Linked-Etag '\"" + std::string(64, 'a') +
               "\"';\n  add_header X-Linked-Size 1125899906842624;\n  return 302 http://127.0.0.1:" +
               std::to_string(cdn_port_) + "/blobs/nothing;\n}\n";
  locations += "location / {\n  add_header X-Error-Code RepoNotFound always;\n"
               "  add_header X-Error-Message \"Repository not found\" always;\n  return 404;\n}\n";
  write_file_atomically(fs::path(prefix_) / "hub_locations.conf", locations);

  std::string conf = read_whole_file(source + "nginx.conf.in");
  replace_all(conf, "@PREFIX@", prefix_);
  replace_all(conf, "@HUB_PORT@", std::to_string(hub_port_));
  replace_all(conf, "@TLS_PORT@", std::to_string(tls_port_));
  replace_all(conf, "@BAD_TLS_PORT@", std::to_string(bad_tls_port_));
  replace_all(conf, "@CDN_PORT@", std::to_string(cdn_port_));
  replace_all(conf, "@SLOW_PORT@", std::to_string(slow_port_));
  replace_all(conf, "@SLOW_RATE@", "2m");
  write_file_atomically(fs::path(prefix_) / "nginx.conf", conf);

  pid_t parent = ::getpid();
  nginx_pid_ = ::fork();
  if (nginx_pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::string error_log = prefix_ + "/error.log";
    std::string conf_path = prefix_ + "/nginx.conf";
    ::execlp("nginx", "nginx", "-p", prefix_.c_str(), "-c", conf_path.c_str(), "-e", error_log.c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (port_accepts(hub_port_) && port_accepts(cdn_port_) && port_accepts(tls_port_) && port_accepts(slow_port_)) return;
    int status = 0;
    if (::waitpid(nginx_pid_, &status, WNOHANG) == nginx_pid_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::string log;
  try {
    log = read_whole_file(fs::path(prefix_) / "error.log");
  } catch (...) {
  }
  throw std::runtime_error("nginx did not start (is nginx installed?): " + log);
}

HubServer::~HubServer() {
  if (nginx_pid_ > 0) {
    ::kill(nginx_pid_, SIGTERM);
    int status = 0;
    ::waitpid(nginx_pid_, &status, 0);
  }
  std::error_code ignored;  // per-process folders would pile up otherwise
  fs::remove_all(prefix_, ignored);
}

std::string HubServer::endpoint() const { return "http://127.0.0.1:" + std::to_string(hub_port_); }
std::string HubServer::tls_endpoint() const { return "https://127.0.0.1:" + std::to_string(tls_port_); }
std::string HubServer::bad_tls_endpoint() const { return "https://127.0.0.1:" + std::to_string(bad_tls_port_); }
std::string HubServer::proxied_endpoint() const { return "http://127.0.0.1:" + std::to_string(hub_proxy_->port()); }
std::string HubServer::cdn_endpoint() const { return "http://127.0.0.1:" + std::to_string(cdn_port_); }
std::string HubServer::ca_file() const { return prefix_ + "/tls/ca.crt"; }

std::vector<std::string> HubServer::access_log() const {
  std::vector<std::string> lines;
  std::ifstream in(prefix_ + "/access.log");
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

uint64_t HubServer::body_bytes_for(const std::string& needle) const {
  uint64_t total = 0;
  for (const auto& line : access_log()) {
    if (line.find(needle) == std::string::npos) continue;
    // port "request" status bytes "auth" "range"
    size_t close_quote = line.find("\" ", line.find('"') + 1);
    std::istringstream rest(line.substr(close_quote + 2));
    int status = 0;
    uint64_t bytes = 0;
    rest >> status >> bytes;
    total += bytes;
  }
  return total;
}

namespace {
pid_t start_mhub(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& out_file,
                 const std::string& err_file) {
  std::string binary = mhub::test::binary_dir() + "/cli/mhub";
  pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& setting : env) ::putenv(const_cast<char*>(setting.c_str()));
    int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}
}  // namespace

int wait_exit_status(int pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

int run_mhub(const std::vector<std::string>& args, const std::vector<std::string>& env, std::string* out,
             std::string* err) {
  static int counter = 0;
  std::string base = HubServer::get().prefix() + "/run-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  int status = wait_exit_status(start_mhub(args, env, base + ".out", base + ".err"));
  if (out) *out = read_whole_file(base + ".out");
  if (err) *err = read_whole_file(base + ".err");
  return status;
}

int spawn_mhub(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return start_mhub(args, env, "/dev/null", "/dev/null");
}

}  // namespace mhub::test
