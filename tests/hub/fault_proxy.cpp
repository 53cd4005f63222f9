#include "tests/hub/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

namespace mhub::test {

namespace {

int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<size_t>(sent);
  }
  return true;
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int yes = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(listener_, 64) != 0)
    throw std::runtime_error("fault proxy: cannot listen");
  socklen_t length = sizeof(address);
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  acceptor_.join();
  ::close(listener_);
  std::lock_guard<std::mutex> lock(workers_mutex_);
  for (auto& worker : workers_) worker.join();
}

void FaultProxy::arm(Fault fault, int faulty_connections) {
  fault_ = fault;
  faults_left_ = faulty_connections;
}

void FaultProxy::accept_loop() {
  std::mt19937 random(12345);
  while (!stop_) {
    pollfd waiting{listener_, POLLIN, 0};
    if (::poll(&waiting, 1, 50) <= 0) continue;
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ++connections_;
    Fault fault = Fault::none;
    if (faults_left_.fetch_sub(1) > 0) fault = fault_;
    unsigned seed = random();
    std::lock_guard<std::mutex> lock(workers_mutex_);
    workers_.emplace_back([this, client, fault, seed] { serve(client, fault, seed); });
  }
}

void FaultProxy::serve(int client, Fault fault, unsigned seed) {
  if (fault == Fault::status503 || fault == Fault::status500) {
    char request[4096];
    ::recv(client, request, sizeof(request), 0);
    std::string answer = fault == Fault::status503
                             ? "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                             : "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    send_all(client, answer.data(), answer.size());
    ::close(client);
    return;
  }
  int upstream = connect_local(upstream_port_);
  if (upstream < 0) {
    ::close(client);
    return;
  }
  std::mt19937 random(seed);
  uint64_t response_bytes = 0;
  uint64_t cut_at = 2000 + random() % 200000;  // response bytes, headers included
  bool corrupted = false;
  std::string head;  // response bytes until the end of the headers
  bool in_body = false;
  char buffer[65536];
  while (!stop_) {
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (::poll(fds, 2, 50) <= 0) continue;
    if (fds[0].revents) {
      ssize_t got = ::recv(client, buffer, sizeof(buffer), 0);
      if (got <= 0 || !send_all(upstream, buffer, static_cast<size_t>(got))) break;
    }
    if (fds[1].revents) {
      ssize_t got = ::recv(upstream, buffer, sizeof(buffer), 0);
      if (got <= 0) break;
      size_t size = static_cast<size_t>(got);
      size_t body_start = 0;  // where the body begins inside this buffer
      if (!in_body) {
        head.append(buffer, size);
        size_t end = head.find("\r\n\r\n");
        if (end != std::string::npos) {
          in_body = true;
          body_start = size - (head.size() - (end + 4));
        } else {
          body_start = size;
        }
      }
      if (fault == Fault::corrupt && in_body && !corrupted && body_start < size) {
        buffer[body_start] ^= 0x5a;
        corrupted = true;
      }
      if (fault == Fault::stall && in_body) {
        send_all(client, buffer, body_start);
        while (!stop_) ::usleep(20000);  // hold the connection open, send nothing more
        break;
      }
      if (fault == Fault::cut && response_bytes + size > cut_at) {
        send_all(client, buffer, static_cast<size_t>(cut_at - response_bytes));
        break;
      }
      if (!send_all(client, buffer, size)) break;
      response_bytes += size;
    }
  }
  ::close(upstream);
  ::close(client);
}

}  // namespace mhub::test
