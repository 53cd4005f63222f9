// A TCP proxy for the hub tests that sits in front of nginx and misbehaves on purpose.
// Faults apply to the first `faulty_connections` connections after arm(), then it passes through.
//   cut        close both sides after a random number of response bytes (past the headers)
//   corrupt    flip one body byte of every response
//   stall      forward the headers, then nothing (the client's stall detection must fire)
//   status503  answer "503 Service Unavailable" with Retry-After: 1 without asking upstream
//   status500  answer "500 Internal Server Error" without asking upstream
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace mhub::test {

enum class Fault { none, cut, corrupt, stall, status503, status500 };

class FaultProxy {
 public:
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  int port() const { return port_; }
  void arm(Fault fault, int faulty_connections);
  int connections_seen() const { return connections_; }

 private:
  void accept_loop();
  void serve(int client, Fault fault, unsigned seed);
  int upstream_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<Fault> fault_{Fault::none};
  std::atomic<int> faults_left_{0};
  std::thread acceptor_;
  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;
};

}  // namespace mhub::test
