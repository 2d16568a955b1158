#pragma once

// The admin HTTP listener (libevent's evhttp) on its own loop::Worker. It serves
//   GET /metrics  200, `text/plain; version=0.0.4; charset=utf-8`, the body the handler replies;
//   GET /health   200, "ok\n";
// HEAD is answered like GET, without the body. Another method on those paths gets 405 with an
// Allow header; any other path gets 404.
//
// The metrics handler runs on the admin loop's thread. It never blocks: it asks the workers
// (ops::collect) and calls `reply` later, on the admin loop's thread. A reply that comes after
// the client went away, after the reply timeout (the client got a 503), a second reply, or a
// reply after the server was destroyed, is dropped: `reply` holds no pointer it does not check.
//
// Bounds (AdminLimits): request header and body sizes (evhttp 2.1 answers 400 to headers over
// the limit, 413 to a body over it), an inactivity timeout for reading and writing on every
// connection, a cap on /metrics requests waiting for their reply (503 beyond it), and a reply
// timeout (503). libevent 2.1 has no cap on the number of connections
// (evhttp_set_max_connections arrived in 2.2): connections are bounded by the inactivity
// timeout, the small listen backlog and the loopback address.
//
// libevent 2.1's evhttp stops reading a connection while its request is being answered, so a
// client that disconnects is noticed when the reply is written; libevent then frees the request.
// The connection's close callback covers libevent versions that notice earlier.
//
// Writing to a peer that has gone can raise SIGPIPE: start() ignores SIGPIPE once for the
// process, as transport::WorkerTransport does.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sipedge/base/result.h"
#include "sipedge/base/time.h"
#include "sipedge/config/values.h"
#include "sipedge/loop/worker.h"

struct evhttp;
struct evhttp_request;
struct evhttp_connection;

namespace sipedge::ops {

using MetricsReply = std::function<void(std::string body)>;
using MetricsHandler = std::function<void(MetricsReply reply)>;

// Every limit of the admin listener, with its default.
struct AdminLimits {
  // /metrics requests waiting for their handler's reply; more are answered 503 at once.
  std::size_t max_pending_scrapes = 8;
  // A handler that has not replied by then: the client gets 503 and the late reply is dropped.
  Duration reply_timeout = std::chrono::seconds(10);
  // Read and write inactivity on a connection (evhttp_set_timeout_tv); idle connections close.
  Duration io_timeout = std::chrono::seconds(10);
  // Request line and headers together (evhttp_set_max_headers_size).
  std::size_t max_header_bytes = 8 * 1024;
  // Admin requests carry no body; this only bounds what a client may send (413 beyond it).
  std::size_t max_body_bytes = 1024;
  int listen_backlog = 16;
  bool operator==(const AdminLimits&) const = default;
};

class AdminServer {
 public:
  // Binds `listen` (port 0: the kernel picks; see address()) and serves on `loop`. Call it on
  // `loop`'s thread, or before `loop` runs with nothing else using `loop` meanwhile. The server
  // must be destroyed on `loop`'s thread, or after `loop` stopped running, and before `loop` is
  // destroyed; not from inside the metrics handler. `metrics` must not be empty. Errors name the
  // step and the address ("bind 127.0.0.1:9100: Address already in use"). The listener has no
  // authentication: give it a loopback address.
  [[nodiscard]] static Result<std::unique_ptr<AdminServer>, std::string> start(
      loop::Worker& loop, const config::SocketAddress& listen, MetricsHandler metrics,
      const AdminLimits& limits = {});

  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // The bound address (with the kernel's port when 0 was asked).
  const config::SocketAddress& address() const { return address_; }
  // /metrics requests waiting for their handler's reply. Admin loop's thread only.
  std::size_t pendingScrapes() const { return pending_.size(); }

 private:
  struct EvhttpDeleter {
    void operator()(evhttp* http) const;
  };
  struct Pending {
    evhttp_request* request = nullptr;
    evhttp_connection* connection = nullptr;
    TimerPtr timeout;
  };

  AdminServer(loop::Worker& loop, MetricsHandler metrics, const AdminLimits& limits);
  [[nodiscard]] Result<void, std::string> listen(const config::SocketAddress& at);

  static void onRequest(evhttp_request* request, void* self);
  static void onConnectionClosed(evhttp_connection* connection, void* self);
  void handle(evhttp_request* request);
  void startScrape(evhttp_request* request);
  void onReply(std::uint64_t id, std::string body);
  void onReplyTimeout(std::uint64_t id);

  loop::Worker& loop_;
  MetricsHandler metrics_;
  AdminLimits limits_;
  config::SocketAddress address_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  // Replies hold a weak reference: once the server is gone, they do nothing.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::unique_ptr<evhttp, EvhttpDeleter> http_;  // last member: freed first
};

}  // namespace sipedge::ops
