#include "sipedge/transport/worker_transport.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include <csignal>
#include <mutex>

#include "connection.h"
#include "listener.h"
#include "sipedge/loop/worker.h"
#include "sipedge/sip/response.h"
#include "sipedge/transport/received.h"

namespace sipedge::transport {

// ---- ConnectionBudget ----

bool ConnectionBudget::acquire(const Address& peer, bool inbound) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (total_ >= max_total_) {
    return false;
  }
  if (inbound) {
    std::size_t& n = per_ip_[peer.withoutPort()];
    if (n >= max_per_ip_) {
      if (n == 0) {
        per_ip_.erase(peer.withoutPort());
      }
      return false;
    }
    ++n;
  }
  ++total_;
  return true;
}

void ConnectionBudget::release(const Address& peer, bool inbound) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (total_ > 0) {
    --total_;
  }
  if (inbound) {
    auto it = per_ip_.find(peer.withoutPort());
    if (it != per_ip_.end() && --it->second == 0) {
      per_ip_.erase(it);
    }
  }
}

std::size_t ConnectionBudget::total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

// ---- WorkerTransport ----

std::size_t WorkerTransport::ReuseKeyHash::operator()(const ReuseKey& k) const noexcept {
  return k.peer.hash() ^ (static_cast<std::size_t>(k.transport) << 1) ^
         (std::hash<std::string>()(k.tls_name) << 3);
}

WorkerTransport::WorkerTransport(loop::Worker& worker, unsigned worker_index, const Limits& limits,
                                 ConnectionBudget& budget, const TlsContextStore& tls,
                                 MessageHandler& handler)
    : worker_(worker),
      worker_index_(worker_index),
      limits_(limits),
      budget_(budget),
      tls_(tls),
      handler_(handler) {
  // A write to a peer that has gone (OpenSSL's socket BIO, libevent's writev) must fail with
  // EPIPE, not kill the process: sockets cannot all use MSG_NOSIGNAL, so ignore SIGPIPE once.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
}

WorkerTransport::~WorkerTransport() {
  listeners_.clear();
  for (auto& [id, c] : connections_) {
    budget_.release(c->remote().address, c->inbound());
  }
  connections_.clear();
}

std::uint64_t WorkerTransport::nextId() {
  // The owning worker is in the top byte (DESIGN.md: minted ids encode their worker).
  return (static_cast<std::uint64_t>(worker_index_) << 56) | next_id_++;
}

Result<Address, std::string> WorkerTransport::listen(const ListenerSettings& settings) {
  if (settings.endpoint.transport == Transport::Tls) {
    auto contexts = tls_.get(settings.tls_profile);
    if (!contexts || contexts->server() == nullptr) {
      return fail("TLS listener " + settings.endpoint.toString() +
                  ": no server certificate in TLS profile '" + settings.tls_profile + "'");
    }
  }
  auto l = std::make_unique<Listener>(*this, nextId(), settings);
  auto bound = l->open();
  if (!bound) {
    return fail(bound.error());
  }
  listeners_.push_back(std::move(l));
  if (settings.worker_port && settings.endpoint.transport == Transport::Udp) {
    ListenerSettings own = settings;
    own.endpoint.address = bound->withoutPort();  // port 0: the kernel picks
    own.worker_port = false;
    own.is_worker_port = true;
    auto w = std::make_unique<Listener>(*this, nextId(), own);
    auto at = w->open();
    if (!at) {
      return fail("the worker's own port beside " + settings.endpoint.toString() + ": " +
                  at.error());
    }
    listeners_.push_back(std::move(w));
  }
  return *bound;
}

void WorkerTransport::closeListeners() {
  for (auto& l : listeners_) {
    l->close();
  }
}

Listener* WorkerTransport::findListener(Side side, Transport transport, bool v6) {
  // The side's own worker port first (ListenerSettings::worker_port), then the side's first
  // listener, then any.
  Listener* same_side = nullptr;
  Listener* any_side = nullptr;
  for (auto& l : listeners_) {
    if (!l->isOpen() || l->transport() != transport || l->bound().isV6() != v6) {
      continue;
    }
    if (l->side() == side) {
      if (l->settings().is_worker_port) {
        return l.get();
      }
      if (same_side == nullptr) {
        same_side = l.get();
      }
    }
    if (any_side == nullptr) {
      any_side = l.get();
    }
  }
  return same_side != nullptr ? same_side : any_side;
}

Result<ViaAddress, SendError> WorkerTransport::viaFor(const Destination& d) {
  const Address& to = d.endpoint.address;
  Listener* l = findListener(d.side, d.endpoint.transport, to.isV6());
  if (l == nullptr && d.endpoint.transport != Transport::Udp) {
    // A client-only process (sipedge probe) may have no TCP/TLS listener: a response comes back
    // over the connection anyway, so the UDP listener's address serves for the Via.
    l = findListener(d.side, Transport::Udp, to.isV6());
  }
  if (l == nullptr) {
    return fail(SendError{SendError::Kind::NoListener,
                          "no " + std::string(sideName(d.side)) + " listener for " +
                              std::string(transportName(d.endpoint.transport)) +
                              (to.isV6() ? " over IPv6" : " over IPv4")});
  }
  return ViaAddress{l->advertisedHost(to), l->bound().port(), d.endpoint.transport};
}

Result<void, SendError> WorkerTransport::send(const Destination& d, std::string bytes,
                                              ErrorCallback on_error) {
  ++counters_.messages_out;
  if (d.endpoint.transport == Transport::Udp) {
    Listener* l = nullptr;
    if (d.flow.listener != 0) {
      for (auto& candidate : listeners_) {
        if (candidate->id() == d.flow.listener && candidate->isOpen() &&
            candidate->transport() == Transport::Udp &&
            candidate->bound().isV6() == d.endpoint.address.isV6()) {
          l = candidate.get();
          break;
        }
      }
    }
    if (l == nullptr) {
      l = findListener(d.side, Transport::Udp, d.endpoint.address.isV6());
    }
    if (l == nullptr) {
      return fail(SendError{SendError::Kind::NoListener, "no UDP listener"});
    }
    return l->sendTo(d.endpoint.address, bytes);
  }
  Connection* c = connectionFor(d);
  if (c == nullptr) {
    auto opened = openConnection(d);
    if (!opened) {
      return fail(opened.error());
    }
    c = *opened;
  }
  return c->send(bytes, std::move(on_error));
}

Connection* WorkerTransport::connectionFor(const Destination& d) {
  if (d.flow.connection != 0) {
    auto it = connections_.find(d.flow.connection);
    if (it != connections_.end() && it->second->usable()) {
      return it->second.get();
    }
  }
  auto lookup = [&](const ReuseKey& key) -> Connection* {
    auto it = reuse_.find(key);
    if (it == reuse_.end()) {
      return nullptr;
    }
    auto c = connections_.find(it->second);
    return (c != connections_.end() && c->second->usable()) ? c->second.get() : nullptr;
  };
  if (Connection* c =
          lookup(ReuseKey{d.endpoint.address, d.endpoint.transport, d.tls_server_name})) {
    return c;
  }
  if (!d.tls_server_name.empty()) {
    // An inbound connection from the peer serves when its certificate covers the name.
    Connection* c = lookup(ReuseKey{d.endpoint.address, d.endpoint.transport, {}});
    if (c != nullptr && c->peer() && c->peer()->covers(d.tls_server_name)) {
      return c;
    }
    return nullptr;
  }
  return nullptr;
}

Result<Connection*, SendError> WorkerTransport::openConnection(const Destination& d) {
  const Address& to = d.endpoint.address;
  if (to.isUnspecified() || to.port() == 0) {
    return fail(SendError{SendError::Kind::Refused, "cannot connect to " + to.toString()});
  }
  if (!budget_.acquire(to, /*inbound=*/false)) {
    ++counters_.connections_refused_by_limit;
    return fail(
        SendError{SendError::Kind::Overloaded,
                  "connection limit reached (" + std::to_string(limits_.max_connections) + ")"});
  }
  Connection::Params p;
  p.id = nextId();
  p.inbound = false;
  p.remote = d.endpoint;
  p.side = d.side;
  p.tls_server_name = d.tls_server_name;
  int options = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  bufferevent* bev = nullptr;
  if (d.endpoint.transport == Transport::Tls) {
    p.tls = tls_.get("default");
    if (!p.tls || p.tls->client() == nullptr) {
      budget_.release(to, false);
      return fail(SendError{SendError::Kind::TlsHandshake, "no TLS client context"});
    }
    SSL* ssl = SSL_new(p.tls->client());
    if (ssl == nullptr) {
      budget_.release(to, false);
      return fail(SendError{SendError::Kind::TlsHandshake, "SSL_new failed"});
    }
    if (!d.tls_server_name.empty() && !Address::parseIp(d.tls_server_name, 0)) {
      SSL_set_tlsext_host_name(ssl, d.tls_server_name.c_str());
    }
    bev = bufferevent_openssl_socket_new(worker_.base(), -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                         options);
  } else {
    bev = bufferevent_socket_new(worker_.base(), -1, options);
  }
  if (bev == nullptr) {
    budget_.release(to, false);
    return fail(SendError{SendError::Kind::Refused, "cannot create a connection"});
  }
  auto c = std::make_unique<Connection>(*this, std::move(p), bev);
  Connection* raw = c.get();
  adopt(std::move(c));
  indexConnection(*raw, ReuseKey{to, d.endpoint.transport, d.tls_server_name});
  if (!raw->connect()) {
    SendError why{SendError::Kind::Refused, "connect to " + to.toString() + " failed"};
    raw->close(why);
    return fail(why);
  }
  ++counters_.connections_opened;
  return raw;
}

void WorkerTransport::adopt(std::unique_ptr<Connection> c) {
  Connection* raw = c.get();
  if (raw->inbound()) {
    ++counters_.connections_opened;
    indexConnection(*raw, ReuseKey{raw->remote().address, raw->remote().transport, {}});
  }
  connections_.emplace(raw->id(), std::move(c));
}

void WorkerTransport::indexConnection(Connection& c, const ReuseKey& key) {
  reuse_[key] = c.id();
}

void WorkerTransport::onConnectionClosed(Connection& c) {
  budget_.release(c.remote().address, c.inbound());
  for (auto it = reuse_.begin(); it != reuse_.end();) {
    it = it->second == c.id() ? reuse_.erase(it) : std::next(it);
  }
  auto it = connections_.find(c.id());
  if (it != connections_.end()) {
    worker_.deferredDelete(std::move(it->second));
    connections_.erase(it);
  }
}

std::shared_ptr<const PeerIdentity> WorkerTransport::peerOf(std::uint64_t connection_id) const {
  auto it = connections_.find(connection_id);
  return it == connections_.end() ? nullptr : it->second->peer();
}

void WorkerTransport::receiveBytes(std::string_view bytes, const Endpoint& source,
                                   const Address& local, Side side, Flow flow,
                                   const std::shared_ptr<const PeerIdentity>& peer, Listener*,
                                   Connection* connection, bool datagram) {
  if (datagram && (bytes == "\r\n\r\n" || bytes == "\r\n")) {
    return;  // a UDP keep-alive: nothing to answer
  }
  ++counters_.messages_in;
  sip::ParseOptions options;
  options.limits = limits_.parse;
  options.datagram = datagram;
  auto parsed = sip::parseMessage(bytes, options);
  if (!parsed) {
    answerBadMessage(bytes, parsed.error(), datagram, source, side, flow);
    return;
  }
  if (auto valid = sip::validate(*parsed); !valid) {
    answerBadMessage(bytes, valid.error(), datagram, source, side, flow);
    return;
  }
  if (parsed->isRequest()) {
    if (!stampReceived(*parsed, source.address)) {
      ++counters_.bad_messages_dropped;
      return;
    }
    // RFC 5923: a request asking for an alias makes this connection the way back to the
    // sent-by address as well.
    if (connection != nullptr && !parsed->vias().empty()) {
      const sip::Via& top = parsed->vias().front();
      if (top.params.has("alias")) {
        Address alias = source.address;
        alias.setPort(top.port.value_or(source.transport == Transport::Tls ? 5061 : 5060));
        indexConnection(*connection, ReuseKey{alias, source.transport, {}});
      }
    }
  }
  Inbound in{std::move(*parsed), source, local, side, flow, peer, worker_.now()};
  handler_.onMessage(std::move(in));
}

void WorkerTransport::answerBadMessage(std::string_view bytes, const sip::ParseError& error,
                                       bool datagram, const Endpoint& source, Side side,
                                       Flow flow) {
  if (!error.addressable) {
    ++counters_.bad_messages_dropped;
    return;
  }
  sip::ParseOptions options;
  options.limits = limits_.parse;
  options.tolerant = true;
  options.datagram = datagram;
  auto request = sip::parseMessage(bytes, options);
  if (!request || !request->isRequest() || request->method() == sip::Method::Ack ||
      request->vias().empty()) {
    ++counters_.bad_messages_dropped;  // responses and ACKs are never answered
    return;
  }
  (void)stampReceived(*request, source.address);
  std::string tag = "e" + std::to_string(nextId());
  std::string text = sip::responseText(*request, 400, error.reason(), tag);
  Destination d = responseDestination(request->vias().front(), source, side, flow);
  ++counters_.bad_messages_answered;
  (void)send(d, std::move(text), {});
}

}  // namespace sipedge::transport
