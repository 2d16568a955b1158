// The admin listener over real loopback HTTP: the server on a worker thread, the client a plain
// blocking socket. Responses are checked by status line, headers and exact body.

#include "sipedge/ops/admin_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "running_worker.h"
#include "sipedge/ops/collect.h"
#include "sipedge/ops/metrics.h"

namespace sipedge::ops {
namespace {

using testing::RunningWorker;

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

config::SocketAddress loopback(std::uint16_t port = 0) {
  return config::SocketAddress{"127.0.0.1", port, false};
}

// A blocking TCP client with a receive timeout, so that a broken server fails the test instead
// of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~Client() { close(); }
  bool connected() const { return connected_; }

  bool send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Everything until the server closes (or the timeout).
  std::string readAll() {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

struct Response {
  std::string status_line;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::optional<Response> parseResponse(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return std::nullopt;
  }
  Response r;
  std::size_t pos = raw.find("\r\n");
  r.status_line = raw.substr(0, pos);
  while (pos < head_end) {
    const std::size_t next = raw.find("\r\n", pos + 2);
    const std::string line = raw.substr(pos + 2, next - pos - 2);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    pos = next;
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

std::string request(const std::string& method, const std::string& target,
                    const std::string& extra = "") {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra +
         "\r\n";
}

std::optional<Response> httpExchange(std::uint16_t port, const std::string& req) {
  Client c(port);
  if (!c.connected() || !c.send(req)) {
    return std::nullopt;
  }
  return parseResponse(c.readAll());
}

// Replies the handler has not given yet, shared between the admin thread (which adds them) and
// the test (which waits for them and hands them back to the admin thread to call).
class ReplyBox {
 public:
  void add(MetricsReply reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    replies_.push_back(std::move(reply));
    cv_.notify_all();
  }
  bool waitFor(std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return replies_.size() >= count; });
  }
  MetricsReply at(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex_);
    return replies_.at(i);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<MetricsReply> replies_;
};

// The server on its own running worker; created and destroyed on that worker's thread.
class AdminHarness {
 public:
  explicit AdminHarness(MetricsHandler handler, AdminLimits limits = {},
                        config::SocketAddress at = loopback())
      : admin_("admin") {
    admin_.call([&] {
      auto started = AdminServer::start(admin_.worker(), at, std::move(handler), limits);
      if (started) {
        server_ = std::move(*started);
      } else {
        error_ = started.error();
      }
    });
  }
  ~AdminHarness() { destroyServer(); }

  bool ok() const { return server_ != nullptr; }
  const std::string& error() const { return error_; }
  std::uint16_t port() const { return server_->address().port; }
  AdminServer& server() { return *server_; }
  RunningWorker& admin() { return admin_; }
  std::size_t pending() {
    return admin_.call([&] { return server_->pendingScrapes(); });
  }
  void destroyServer() {
    admin_.call([&] { server_.reset(); });
  }

 private:
  RunningWorker admin_;
  std::unique_ptr<AdminServer> server_;
  std::string error_;
};

MetricsHandler replyWith(std::string body) {
  return [body](MetricsReply reply) { reply(body); };
}

TEST(AdminServerTest, StartsBeforeTheLoopRunsOnAnEphemeralPort) {
  loop::Worker admin("admin");
  auto started = AdminServer::start(admin, loopback(0), replyWith("m 1\n"));
  ASSERT_TRUE(started.has_value()) << started.error();
  std::unique_ptr<AdminServer> server = std::move(*started);
  EXPECT_EQ(server->address().ip, "127.0.0.1");
  EXPECT_FALSE(server->address().ipv6);
  EXPECT_NE(server->address().port, 0);
  std::thread t([&] { admin.run(); });
  auto r = httpExchange(server->address().port, request("GET", "/health"));
  admin.post([&] { server.reset(); });
  admin.exit();
  t.join();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->body, "ok\n");
}

TEST(AdminServerTest, MetricsReturnsExactlyTheHandlersTextWithTheExpositionContentType) {
  MetricsText text;
  text.gauge("sipedge_dialogs", "Dialogs in progress.", 2, {{"worker", "0"}});
  text.counter("sipedge_requests_total", "Requests.", 17, {{"method", "INVITE"}});
  const std::string body = text.str();
  AdminHarness h(replyWith(body));
  ASSERT_TRUE(h.ok()) << h.error();
  auto r = httpExchange(h.port(), request("GET", "/metrics"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->headers["content-type"], kMetricsType);
  EXPECT_EQ(r->headers["content-length"], std::to_string(body.size()));
  EXPECT_EQ(r->headers["cache-control"], "no-store");
  EXPECT_EQ(r->body, body);
  EXPECT_EQ(h.pending(), 0u);
}

TEST(AdminServerTest, AQueryStringDoesNotChangeTheRoute) {
  AdminHarness h(replyWith("x 1\n"));
  ASSERT_TRUE(h.ok()) << h.error();
  auto r = httpExchange(h.port(), request("GET", "/metrics?name=x"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->body, "x 1\n");
}

TEST(AdminServerTest, HandlerRepliesAfterCollectingFromTwoRunningWorkers) {
  RunningWorker w0("w0");
  RunningWorker w1("w1");
  // Per-worker counters, plain and non-atomic: each is touched only on its worker's thread.
  struct Counts {
    std::uint64_t dialogs = 0;
    std::uint64_t transactions = 0;
  };
  std::vector<Counts> counts(2);
  w0.call([&] { counts[0] = {3, 10}; });
  w1.call([&] { counts[1] = {4, 12}; });
  std::vector<loop::Worker*> workers{&w0.worker(), &w1.worker()};

  std::atomic<int> sampled_off_thread{0};
  std::thread::id w0_thread = w0.threadId();
  std::thread::id w1_thread = w1.threadId();
  loop::Worker* home = nullptr;
  MetricsHandler handler = [&](MetricsReply reply) {
    collect<Counts>(
        *home, workers,
        [&](unsigned i) {
          if (std::this_thread::get_id() != (i == 0 ? w0_thread : w1_thread)) {
            ++sampled_off_thread;
          }
          return counts[i];
        },
        [reply](std::vector<Counts> all) {
          MetricsText m;
          for (unsigned i = 0; i < all.size(); ++i) {
            m.gauge("sipedge_dialogs", "Dialogs in progress.", static_cast<double>(all[i].dialogs),
                    {{"worker", std::to_string(i)}});
            m.gauge("sipedge_transactions", "Transactions in progress.",
                    static_cast<double>(all[i].transactions), {{"worker", std::to_string(i)}});
          }
          reply(m.str());
        });
  };
  AdminHarness h(handler);
  ASSERT_TRUE(h.ok()) << h.error();
  home = &h.admin().worker();

  auto r = httpExchange(h.port(), request("GET", "/metrics"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->headers["content-type"], kMetricsType);
  EXPECT_EQ(r->body,
            "# HELP sipedge_dialogs Dialogs in progress.\n"
            "# TYPE sipedge_dialogs gauge\n"
            "sipedge_dialogs{worker=\"0\"} 3\n"
            "sipedge_dialogs{worker=\"1\"} 4\n"
            "# HELP sipedge_transactions Transactions in progress.\n"
            "# TYPE sipedge_transactions gauge\n"
            "sipedge_transactions{worker=\"0\"} 10\n"
            "sipedge_transactions{worker=\"1\"} 12\n");
  EXPECT_EQ(sampled_off_thread.load(), 0);

  // The counters move on their workers; the next scrape sees the new values.
  w1.call([&] { counts[1].dialogs = 9; });
  r = httpExchange(h.port(), request("GET", "/metrics"));
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->body.find("sipedge_dialogs{worker=\"1\"} 9\n"), std::string::npos) << r->body;
}

TEST(AdminServerTest, HealthAnswersOk) {
  AdminHarness h(replyWith(""));
  ASSERT_TRUE(h.ok()) << h.error();
  auto r = httpExchange(h.port(), request("GET", "/health"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(r->headers["content-length"], "3");
  EXPECT_EQ(r->body, "ok\n");
}

TEST(AdminServerTest, HeadAnswersLikeGetWithoutTheBody) {
  AdminHarness h(replyWith("m 1\n"));
  ASSERT_TRUE(h.ok()) << h.error();
  auto r = httpExchange(h.port(), request("HEAD", "/health"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->headers["content-length"], "3");
  EXPECT_EQ(r->body, "");
  r = httpExchange(h.port(), request("HEAD", "/metrics"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->headers["content-type"], kMetricsType);
  EXPECT_EQ(r->headers["content-length"], "4");
  EXPECT_EQ(r->body, "");
}

TEST(AdminServerTest, UnknownPathsAre404) {
  AdminHarness h(replyWith("m 1\n"));
  ASSERT_TRUE(h.ok()) << h.error();
  for (const char* path : {"/", "/metricsx", "/metrics/", "/health/x", "/nope"}) {
    auto r = httpExchange(h.port(), request("GET", path));
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->status_line, "HTTP/1.1 404 Not Found") << path;
    EXPECT_EQ(r->body, "not found\n") << path;
    EXPECT_EQ(r->headers.count("allow"), 0u) << path;
  }
  // An unknown path is 404 whatever the method.
  auto r = httpExchange(h.port(), request("POST", "/nope", "Content-Length: 0\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 404 Not Found");
}

TEST(AdminServerTest, OtherMethodsOnKnownPathsAre405WithAllow) {
  int handler_calls = 0;
  AdminHarness h([&](MetricsReply reply) {
    ++handler_calls;
    reply("m 1\n");
  });
  ASSERT_TRUE(h.ok()) << h.error();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"POST", "/metrics"}, {"PUT", "/metrics"},    {"DELETE", "/metrics"},
      {"POST", "/health"},  {"OPTIONS", "/health"}, {"PATCH", "/health"}};
  for (const auto& [method, path] : cases) {
    auto r = httpExchange(h.port(), request(method, path, "Content-Length: 0\r\n"));
    ASSERT_TRUE(r.has_value()) << method << " " << path;
    EXPECT_EQ(r->status_line, "HTTP/1.1 405 Method Not Allowed") << method << " " << path;
    EXPECT_EQ(r->headers["allow"], "GET, HEAD") << method << " " << path;
    EXPECT_EQ(r->body, "method not allowed\n") << method << " " << path;
  }
  EXPECT_EQ(h.admin().call([&] { return handler_calls; }), 0);
}

TEST(AdminServerTest, AClientThatLeavesBeforeTheReplyCostsNothing) {
  ReplyBox box;
  AdminHarness h([&](MetricsReply reply) { box.add(std::move(reply)); });
  ASSERT_TRUE(h.ok()) << h.error();
  {
    Client c(h.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(request("GET", "/metrics")));
    ASSERT_TRUE(box.waitFor(1));
    c.close();
  }
  EXPECT_EQ(h.pending(), 1u);
  // The late reply goes to a closed socket; libevent frees the request.
  MetricsReply late = box.at(0);
  h.admin().call([&] { late(std::string(64 * 1024, 'x')); });
  EXPECT_EQ(h.pending(), 0u);
  // The server is still well.
  auto r = httpExchange(h.port(), request("GET", "/health"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
}

TEST(AdminServerTest, AReplyAfterTheServerIsDestroyedIsDropped) {
  ReplyBox box;
  AdminHarness h([&](MetricsReply reply) { box.add(std::move(reply)); });
  ASSERT_TRUE(h.ok()) << h.error();
  Client c(h.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(request("GET", "/metrics")));
  ASSERT_TRUE(box.waitFor(1));
  h.destroyServer();
  MetricsReply late = box.at(0);
  h.admin().call([&] { late("too late\n"); });
  // The connection was closed with the server, unanswered.
  EXPECT_EQ(c.readAll(), "");
}

TEST(AdminServerTest, OnlyTheFirstReplyCounts) {
  AdminHarness h([](MetricsReply reply) {
    reply("first 1\n");
    reply("second 2\n");
  });
  ASSERT_TRUE(h.ok()) << h.error();
  auto r = httpExchange(h.port(), request("GET", "/metrics"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "first 1\n");
}

TEST(AdminServerTest, AHandlerThatNeverRepliesGets503AfterTheReplyTimeout) {
  ReplyBox box;
  AdminLimits limits;
  limits.reply_timeout = std::chrono::milliseconds(50);
  AdminHarness h([&](MetricsReply reply) { box.add(std::move(reply)); }, limits);
  ASSERT_TRUE(h.ok()) << h.error();
  auto r = httpExchange(h.port(), request("GET", "/metrics"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(r->body, "metrics timed out\n");
  EXPECT_EQ(h.pending(), 0u);
  // The late reply is dropped.
  MetricsReply late = box.at(0);
  h.admin().call([&] { late("late 1\n"); });
  EXPECT_EQ(h.pending(), 0u);
}

TEST(AdminServerTest, AStoppedWorkerCostsOneScrapeNotAHang) {
  // collect() requires running workers; with a stopped one `done` never runs, and the reply
  // timeout answers the scrape.
  loop::Worker stopped("stopped");
  loop::Worker* home = nullptr;
  AdminLimits limits;
  limits.reply_timeout = std::chrono::milliseconds(50);
  AdminHarness h(
      [&](MetricsReply reply) {
        collect<int>(
            *home, {&stopped}, [](unsigned) { return 1; },
            [reply](std::vector<int>) { reply("never\n"); });
      },
      limits);
  ASSERT_TRUE(h.ok()) << h.error();
  home = &h.admin().worker();
  auto r = httpExchange(h.port(), request("GET", "/metrics"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(r->body, "metrics timed out\n");
}

TEST(AdminServerTest, ScrapesBeyondThePendingCapGet503AtOnce) {
  ReplyBox box;
  AdminLimits limits;
  limits.max_pending_scrapes = 1;
  AdminHarness h([&](MetricsReply reply) { box.add(std::move(reply)); }, limits);
  ASSERT_TRUE(h.ok()) << h.error();
  Client first(h.port());
  ASSERT_TRUE(first.send(request("GET", "/metrics")));
  ASSERT_TRUE(box.waitFor(1));

  auto busy = httpExchange(h.port(), request("GET", "/metrics"));
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(busy->headers["retry-after"], "1");
  EXPECT_EQ(busy->body, "busy\n");
  // /health does not wait for the handler and is never refused for it.
  auto health = httpExchange(h.port(), request("GET", "/health"));
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status_line, "HTTP/1.1 200 OK");

  MetricsReply reply = box.at(0);
  h.admin().call([&] { reply("m 1\n"); });
  auto r = parseResponse(first.readAll());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->body, "m 1\n");
}

TEST(AdminServerTest, OversizedRequestsAreRefused) {
  AdminLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 16;
  AdminHarness h(replyWith("m 1\n"), limits);
  ASSERT_TRUE(h.ok()) << h.error();
  // libevent 2.1 answers 400 to headers over the limit, 413 to a body over it.
  auto r = httpExchange(h.port(),
                        request("GET", "/metrics", "X-Filler: " + std::string(2048, 'a') + "\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
  r = httpExchange(h.port(),
                   request("POST", "/metrics", "Content-Length: 100\r\n") + std::string(100, 'b'));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 413 Request Entity Too Large");
  // Still serving.
  r = httpExchange(h.port(), request("GET", "/health"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
}

TEST(AdminServerTest, AnAddressInUseIsAnError) {
  AdminHarness first(replyWith(""));
  ASSERT_TRUE(first.ok()) << first.error();
  AdminHarness second(replyWith(""), {}, loopback(first.port()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(),
            "bind 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use");
}

TEST(AdminServerTest, ServesOnIpv6Loopback) {
  AdminHarness h(replyWith("m 1\n"), {}, config::SocketAddress{"::1", 0, true});
  if (!h.ok()) {
    GTEST_SKIP() << "no IPv6 loopback here: " << h.error();
  }
  EXPECT_EQ(h.server().address().ip, "::1");
  EXPECT_NE(h.port(), 0);
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(h.port());
  sa.sin6_addr = in6addr_loopback;
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  const std::string req = request("GET", "/metrics");
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[1024];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto r = parseResponse(raw);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->body, "m 1\n");
}

TEST(AdminServerTest, AnAddressThatIsNotALiteralIsAnError) {
  loop::Worker admin("admin");
  auto started =
      AdminServer::start(admin, config::SocketAddress{"localhost", 0, false}, replyWith(""));
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error(), "admin listener localhost:0: not an IPv4 address: localhost");
}

}  // namespace
}  // namespace sipedge::ops
