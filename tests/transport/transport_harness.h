#pragma once

// A WorkerTransport on a real loop in a background thread, with a handler that records what
// arrives and (optionally) answers requests with 200 OK, plus blocking loopback clients with
// bounded timeouts. Tests assert what crossed the wire, never durations.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sipedge/loop/worker.h"
#include "sipedge/sip/response.h"
#include "sipedge/transport/worker_transport.h"

namespace sipedge::transport::testing {

struct Received {
  std::string text;
  bool request = false;
  Endpoint source;
  Address local;
  Side side = Side::External;
  Flow flow;
  std::shared_ptr<const PeerIdentity> peer;
};

class Harness final : public MessageHandler {
 public:
  explicit Harness(Limits limits = {}, bool answer = true)
      : limits_(limits), budget_(limits_), answer_(answer) {
    transport_ = std::make_unique<WorkerTransport>(worker_, 0, limits_, budget_, tls_, *this);
  }
  ~Harness() override { stop(); }

  TlsContextStore& tls() { return tls_; }
  ConnectionBudget& budget() { return budget_; }

  Address listen(Transport t, const std::string& ip = "127.0.0.1", Side side = Side::External,
                 const std::string& profile = "default") {
    ListenerSettings s;
    s.endpoint = Endpoint{*Address::parseIp(ip, 0), t};
    s.side = side;
    s.tls_profile = profile;
    auto bound = transport_->listen(s);
    EXPECT_TRUE(bound.has_value()) << (bound ? "" : bound.error());
    return bound ? *bound : Address{};
  }

  void start() {
    thread_ = std::thread([this] { worker_.run(); });
  }
  void stop() {
    if (thread_.joinable()) {
      call([this] { transport_.reset(); });
      worker_.exit();
      thread_.join();
    }
  }

  // Runs `fn` on the worker thread and returns its result (bounded wait).
  template <typename F>
  auto call(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    auto future = task->get_future();
    worker_.post([task] { (*task)(); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }

  WorkerTransport& transport() { return *transport_; }

  // Waits (bounded) until `n` messages have arrived.
  bool waitFor(std::size_t n, std::chrono::milliseconds within = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, within, [&] { return received_.size() >= n; });
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }

  void onMessage(Inbound&& in) override {
    Received r{in.message.serialize(),
               in.message.isRequest(),
               in.source,
               in.local,
               in.side,
               in.flow,
               in.peer};
    if (answer_ && in.message.isRequest() && in.message.method() != sip::Method::Ack) {
      std::string text = sip::responseText(in.message, 200, {}, "h1");
      Destination d = responseDestination(in.message.vias().front(), in.source, in.side, in.flow);
      (void)transport_->send(d, std::move(text), {});
    }
    std::lock_guard<std::mutex> lock(mutex_);
    received_.push_back(std::move(r));
    cv_.notify_all();
  }

 private:
  loop::Worker worker_{"transport-test"};
  Limits limits_;
  TlsContextStore tls_;
  ConnectionBudget budget_;
  bool answer_;
  std::unique_ptr<WorkerTransport> transport_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Received> received_;
};

// A blocking loopback socket with a receive timeout.
class Client {
 public:
  Client(int type, bool v6 = false) {
    fd_ = socket(v6 ? AF_INET6 : AF_INET, type, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int fd() const { return fd_; }
  std::uint16_t port() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  bool connectTo(const Address& a) {
    sockaddr_storage ss = toStorage(a);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&ss),
                     a.isV6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in)) == 0;
  }
  void sendTo(const Address& a, const std::string& bytes) {
    sockaddr_storage ss = toStorage(a);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss),
             a.isV6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  }
  void write(const std::string& bytes) {
    (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  // One datagram, or what a stream has within the timeout; nullopt on timeout, "" on EOF.
  std::optional<std::string> read() {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      return std::nullopt;
    }
    return std::string(buf, static_cast<std::size_t>(n));
  }
  // Reads a stream until `needle` has been seen `count` times, or EOF / timeout.
  std::string readUntil(const std::string& needle, int count = 1) {
    std::string all;
    for (;;) {
      int seen = 0;
      for (std::size_t p = all.find(needle); p != std::string::npos; p = all.find(needle, p + 1)) {
        ++seen;
      }
      if (seen >= count) {
        return all;
      }
      auto chunk = read();
      if (!chunk || chunk->empty()) {
        return all;
      }
      all += *chunk;
    }
  }

 private:
  static sockaddr_storage toStorage(const Address& a) {
    sockaddr_storage ss{};
    if (a.isV6()) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(a.port());
      std::memcpy(&s6->sin6_addr, a.bytes().data(), 16);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(a.port());
      std::memcpy(&s4->sin_addr, a.bytes().data(), 4);
    }
    return ss;
  }
  int fd_ = -1;
};

inline std::string options(const std::string& via_host, std::uint16_t via_port,
                           const std::string& transport = "UDP", const std::string& via_params = "",
                           const std::string& call_id = "opt-1") {
  return "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/" +
         transport + " " + via_host + ":" + std::to_string(via_port) + ";branch=z9hG4bK" + call_id +
         via_params +
         "\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:probe@partner.example>;tag=f1\r\n"
         "To: <sip:edge@127.0.0.1>\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 1 OPTIONS\r\n"
         "Content-Length: 0\r\n\r\n";
}

}  // namespace sipedge::transport::testing
