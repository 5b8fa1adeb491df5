#include "tests/testing/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>
#include <string>

namespace quotad::testing {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

FaultProxy::FaultProxy() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  accept_thread_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : open_fds_) ::close(fd);
}

void FaultProxy::SetPartitioned(bool partitioned) {
  partitioned_ = partitioned;
  if (!partitioned) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int target = target_port_.load();
    if (partitioned_ || target == 0 || stopping_) {
      ::close(client);
      continue;
    }
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(target));
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(upstream);
      ::close(client);
      continue;
    }
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.push_back(client);
    open_fds_.push_back(upstream);
    threads_.emplace_back([this, client, upstream] { Forward(client, upstream); });
    threads_.emplace_back([this, client, upstream] { Forward(upstream, client); });
  }
}

// Copies bytes from `from` to `to`, each chunk delivered `delay` after it was
// read (order preserved). Ends both directions on EOF, error, reset or
// partition.
void FaultProxy::Forward(int from, int to) {
  std::mt19937 rng(static_cast<uint32_t>(from * 7919 + to));
  std::deque<std::pair<int64_t, std::string>> queue;
  bool eof = false;
  char buf[16384];
  while (!stopping_ && !partitioned_) {
    int timeout_ms = 20;
    if (!queue.empty()) {
      const int64_t wait = queue.front().first - NowMicros();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(wait / 1000, 0, 20));
    }
    if (!eof) {
      pollfd pfd{from, POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) > 0) {
        ssize_t n = ::recv(from, buf, sizeof(buf), 0);
        if (n <= 0) {
          eof = true;
        } else {
          if (static_cast<int>(rng() % 1000000) < reset_per_million_.load()) break;
          queue.emplace_back(NowMicros() + delay_us_.load(), std::string(buf, static_cast<size_t>(n)));
        }
      }
    } else if (queue.empty()) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    }
    const int64_t now = NowMicros();
    bool failed = false;
    while (!queue.empty() && queue.front().first <= now) {
      if (!WriteAll(to, queue.front().second.data(), queue.front().second.size())) {
        failed = true;
        break;
      }
      queue.pop_front();
    }
    if (failed) break;
  }
  ::shutdown(from, SHUT_RDWR);
  ::shutdown(to, SHUT_RDWR);
}

}  // namespace quotad::testing
