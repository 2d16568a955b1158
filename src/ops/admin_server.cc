#include "sipedge/ops/admin_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "sipedge/base/assert.h"

namespace sipedge::ops {
namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextContentType = "text/plain; charset=utf-8";
constexpr const char* kAllow = "GET, HEAD";

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

timeval toTimeval(Duration d) {
  const auto ms = d.count() < 0 ? 0 : d.count();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

void ignoreSigpipe() {
  // A write to a client that has gone must fail with EPIPE, not kill the process.
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

// Answers `request` with a complete text response. The answer to HEAD has the headers of the
// answer to GET and no body (libevent 2.1 would send the body).
void sendText(evhttp_request* request, int code, const char* reason, const char* content_type,
              std::string_view body, const char* allow = nullptr) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", content_type);
  evhttp_add_header(headers, "Content-Length", std::to_string(body.size()).c_str());
  evhttp_add_header(headers, "Cache-Control", "no-store");
  if (allow != nullptr) {
    evhttp_add_header(headers, "Allow", allow);
  }
  if (evhttp_request_get_command(request) != EVHTTP_REQ_HEAD) {
    evbuffer_add(evhttp_request_get_output_buffer(request), body.data(), body.size());
  }
  evhttp_send_reply(request, code, reason, nullptr);
}

// A request-owned socket address in the sockaddr form that bind() wants.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

Result<SockAddr, std::string> toSockAddr(const config::SocketAddress& at) {
  SockAddr sa;
  if (at.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(at.port);
    if (inet_pton(AF_INET6, at.ip.c_str(), &in6->sin6_addr) != 1) {
      return fail("not an IPv6 address: " + at.ip);
    }
    sa.length = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&sa.storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(at.port);
    if (inet_pton(AF_INET, at.ip.c_str(), &in4->sin_addr) != 1) {
      return fail("not an IPv4 address: " + at.ip);
    }
    sa.length = sizeof(sockaddr_in);
  }
  return sa;
}

}  // namespace

void AdminServer::EvhttpDeleter::operator()(evhttp* http) const {
  evhttp_free(http);  // closes the listening socket and every connection, frees their requests
}

Result<std::unique_ptr<AdminServer>, std::string> AdminServer::start(
    loop::Worker& loop, const config::SocketAddress& listen, MetricsHandler metrics,
    const AdminLimits& limits) {
  SIPEDGE_RELEASE_ASSERT(metrics != nullptr);  // a program error, not a runtime condition
  ignoreSigpipe();
  std::unique_ptr<AdminServer> server(new AdminServer(loop, std::move(metrics), limits));
  if (auto bound = server->listen(listen); !bound) {
    return fail(bound.error());
  }
  return server;
}

AdminServer::AdminServer(loop::Worker& loop, MetricsHandler metrics, const AdminLimits& limits)
    : loop_(loop), metrics_(std::move(metrics)), limits_(limits) {}

AdminServer::~AdminServer() {
  alive_.reset();  // replies still on their way find nothing
  // A request whose connection libevent already dropped is ours to free; evhttp_free frees the
  // others with their connections.
  for (auto& [id, pending] : pending_) {
    if (evhttp_request_get_connection(pending.request) == nullptr) {
      evhttp_request_free(pending.request);
    }
  }
  pending_.clear();
  http_.reset();
}

Result<void, std::string> AdminServer::listen(const config::SocketAddress& at) {
  const std::string where = config::toString(at);
  auto sa = toSockAddr(at);
  if (!sa) {
    return fail("admin listener " + where + ": " + sa.error());
  }
  const int fd = ::socket(sa->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(errnoText("socket for " + where));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (at.ipv6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (::bind(fd, sa->get(), sa->length) != 0) {
    std::string e = errnoText("bind " + where);
    ::close(fd);
    return fail(e);
  }
  if (::listen(fd, limits_.listen_backlog) != 0) {
    std::string e = errnoText("listen " + where);
    ::close(fd);
    return fail(e);
  }
  SockAddr bound;
  bound.length = sizeof bound.storage;
  if (::getsockname(fd, bound.get(), &bound.length) != 0) {
    std::string e = errnoText("getsockname " + where);
    ::close(fd);
    return fail(e);
  }
  address_ = at;
  address_.port = at.ipv6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound.storage)->sin6_port)
                          : ntohs(reinterpret_cast<sockaddr_in*>(&bound.storage)->sin_port);

  http_.reset(evhttp_new(loop_.base()));
  if (!http_) {
    ::close(fd);
    return fail(std::string("evhttp_new failed"));
  }
  evhttp_set_max_headers_size(http_.get(), static_cast<ev_ssize_t>(limits_.max_header_bytes));
  evhttp_set_max_body_size(http_.get(), static_cast<ev_ssize_t>(limits_.max_body_bytes));
  const timeval io = toTimeval(limits_.io_timeout);
  evhttp_set_timeout_tv(http_.get(), &io);
  // Every method evhttp knows reaches onRequest, which answers 405 with Allow (evhttp's own
  // answer to a method not allowed here would be 501, without Allow).
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                              EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  evhttp_set_gencb(http_.get(), &AdminServer::onRequest, this);
  // From here on evhttp owns the socket (it closes it in evhttp_free).
  if (evhttp_accept_socket_with_handle(http_.get(), fd) == nullptr) {
    ::close(fd);
    return fail("evhttp_accept_socket failed for " + where);
  }
  return {};
}

void AdminServer::onRequest(evhttp_request* request, void* self) {
  static_cast<AdminServer*>(self)->handle(request);
}

void AdminServer::handle(evhttp_request* request) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* raw_path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  const std::string_view path = raw_path != nullptr ? raw_path : "";
  const bool metrics = path == "/metrics";
  const bool health = path == "/health";
  if (!metrics && !health) {
    sendText(request, HTTP_NOTFOUND, "Not Found", kTextContentType, "not found\n");
    return;
  }
  const evhttp_cmd_type method = evhttp_request_get_command(request);
  if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
    sendText(request, 405, "Method Not Allowed", kTextContentType, "method not allowed\n", kAllow);
    return;
  }
  if (health) {
    sendText(request, HTTP_OK, "OK", kTextContentType, "ok\n");
    return;
  }
  startScrape(request);
}

void AdminServer::startScrape(evhttp_request* request) {
  if (pending_.size() >= limits_.max_pending_scrapes) {
    evhttp_add_header(evhttp_request_get_output_headers(request), "Retry-After", "1");
    sendText(request, HTTP_SERVUNAVAIL, "Service Unavailable", kTextContentType, "busy\n");
    return;
  }
  const std::uint64_t id = next_id_++;
  Pending& pending = pending_[id];
  pending.request = request;
  pending.connection = evhttp_request_get_connection(request);
  if (pending.connection != nullptr) {
    evhttp_connection_set_closecb(pending.connection, &AdminServer::onConnectionClosed, this);
  }
  pending.timeout = loop_.createTimer([this, id] { onReplyTimeout(id); });
  pending.timeout->enable(limits_.reply_timeout);

  std::weak_ptr<int> alive = alive_;
  // The handler may call this at once, later, twice or never; only the first call on a live
  // request answers it.
  metrics_([this, alive, id](std::string body) {
    if (alive.expired()) {
      return;
    }
    onReply(id, std::move(body));
  });
}

void AdminServer::onReply(std::uint64_t id, std::string body) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    return;  // answered, timed out, or the client went away
  }
  evhttp_request* request = it->second.request;
  pending_.erase(it);  // also cancels the timeout
  // A request whose connection is gone is freed by evhttp_send_reply.
  sendText(request, HTTP_OK, "OK", kMetricsContentType, body);
}

void AdminServer::onReplyTimeout(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    return;
  }
  evhttp_request* request = it->second.request;
  // The timer is running its own callback: it must not be destroyed here (STYLE S11).
  struct Doomed final : loop::Deletable {
    TimerPtr timer;
  };
  auto doomed = std::make_unique<Doomed>();
  doomed->timer = std::move(it->second.timeout);
  loop_.deferredDelete(std::move(doomed));
  pending_.erase(it);
  sendText(request, HTTP_SERVUNAVAIL, "Service Unavailable", kTextContentType,
           "metrics timed out\n");
}

void AdminServer::onConnectionClosed(evhttp_connection* connection, void* self) {
  auto* server = static_cast<AdminServer*>(self);
  for (auto it = server->pending_.begin(); it != server->pending_.end();) {
    if (it->second.connection != connection) {
      ++it;
      continue;
    }
    // Detached from its connection (libevent noticed the client leave while we were waiting):
    // ours to free. Otherwise libevent frees it with the connection.
    if (evhttp_request_get_connection(it->second.request) == nullptr) {
      evhttp_request_free(it->second.request);
    }
    it = server->pending_.erase(it);
  }
}

}  // namespace sipedge::ops
