// `mhub board`: a local HTTP server (cpp-httplib) for one page that shows the runs and sweeps
// under a log folder and the ONNX models there and in the model cache.
//
// Routes: GET / (the page), /assets/NAME (embedded files), /api/runs, /api/metrics?run=ID,
// /api/models, /api/model?root=logdir|cache&path=REL. Files are only ever read under the log
// folder and the cache, by paths checked with safe_path.h; anything else answers 404 (403 for
// a request path holding "..", or a Host header that is not the loopback address the server
// is bound to, which keeps other web sites' pages from reading it through DNS rebinding).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace mhub::board {

struct BoardOptions {
  std::filesystem::path logdir;
  std::filesystem::path cache;   // the model cache (may not exist)
  std::string host = "127.0.0.1";
  int port = 6006;               // 0: any free port
};

class BoardServer {
 public:
  explicit BoardServer(BoardOptions options);
  ~BoardServer();
  BoardServer(const BoardServer&) = delete;
  BoardServer& operator=(const BoardServer&) = delete;

  // Binds host:port and returns the port. Throws mhub::Error (io) when it cannot.
  int bind();
  // Answers requests until stop() (from another thread or a signal handler's thread).
  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mhub::board
