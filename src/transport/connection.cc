#include "connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "sipedge/transport/worker_transport.h"
#include "socket_address.h"

namespace sipedge::transport {

Connection::Connection(WorkerTransport& owner, Params params, bufferevent* bev)
    : owner_(owner),
      params_(std::move(params)),
      bev_(bev),
      state_(params_.inbound
                 ? (params_.remote.transport == Transport::Tls ? State::Handshaking : State::Open)
                 : State::Connecting),
      framer_(owner.limits_.parse) {
  bufferevent_setcb(bev_, &Connection::onRead, &Connection::onWrite, &Connection::onEvent, this);
  if (params_.remote.transport == Transport::Tls) {
    bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  }
  timer_ = owner_.worker_.createTimer([this] { onTimer(); });
  last_activity_ = owner_.worker_.now();
}

Connection::~Connection() {
  if (bev_ != nullptr) {
    bufferevent_free(bev_);  // CLOSE_ON_FREE: closes the socket and frees the SSL
  }
}

bool Connection::connect() {
  SocketAddress sa = toSocketAddress(params_.remote.address);
  armTimer(owner_.limits_.connect_timeout + (params_.remote.transport == Transport::Tls
                                                 ? owner_.limits_.tls_handshake_timeout
                                                 : Duration{0}));
  if (bufferevent_socket_connect(bev_, sa.get(), static_cast<int>(sa.length)) != 0) {
    return false;
  }
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  return true;
}

void Connection::start() {
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  if (state_ == State::Handshaking) {
    armTimer(owner_.limits_.tls_handshake_timeout);
  } else {
    armTimer(owner_.limits_.idle_timeout);
  }
}

Result<void, SendError> Connection::send(std::string_view bytes, Sender::ErrorCallback on_error) {
  if (!usable()) {
    return fail(SendError{SendError::Kind::Closed, "connection " + params_.remote.toString()});
  }
  evbuffer* out = bufferevent_get_output(bev_);
  if (evbuffer_get_length(out) + bytes.size() > owner_.limits_.max_pending_bytes) {
    ++owner_.counters_.connections_closed_pending_bytes;
    SendError why{SendError::Kind::Overloaded,
                  "more than " + std::to_string(owner_.limits_.max_pending_bytes) +
                      " bytes unsent to " + params_.remote.toString()};
    close(why);
    return fail(why);
  }
  if (bufferevent_write(bev_, bytes.data(), bytes.size()) != 0) {
    return fail(SendError{SendError::Kind::Closed, "write to " + params_.remote.toString()});
  }
  // Backpressure (STYLE S10): a peer that does not read its answers stops being read from at
  // half the limit, and is read again once its output has drained to a quarter; only a peer
  // that still lets its output reach the limit is disconnected.
  if (!read_paused_ && state_ == State::Open &&
      evbuffer_get_length(out) > owner_.limits_.max_pending_bytes / 2) {
    read_paused_ = true;
    ++owner_.counters_.reads_paused;
    bufferevent_disable(bev_, EV_READ);
    bufferevent_setwatermark(bev_, EV_WRITE, owner_.limits_.max_pending_bytes / 4, 0);
  }
  // Until the peer has said anything, a failure of the connection is still news for the
  // sender: a TLS 1.3 server rejects a client certificate after the client's handshake is done.
  if (!params_.inbound && !received_any_ && on_error && pending_.size() < kMaxPendingCallbacks) {
    pending_.push_back(PendingSend{std::move(on_error)});
  }
  last_activity_ = owner_.worker_.now();
  return {};
}

void Connection::closeAfterFlush() {
  if (!usable()) {
    return;
  }
  if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) {
    close(SendError{SendError::Kind::Closed, "closed"});
    return;
  }
  state_ = State::Closing;
  bufferevent_disable(bev_, EV_READ);
  armTimer(owner_.limits_.connect_timeout);  // a peer that never reads does not keep it
}

void Connection::close(const SendError& why) {
  if (state_ == State::Closed) {
    return;
  }
  state_ = State::Closed;
  bufferevent_disable(bev_, EV_READ | EV_WRITE);
  bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
  timer_->disable();
  std::vector<PendingSend> pending;
  pending.swap(pending_);
  // Bookkeeping first (the table forgets this connection and defers its deletion), so that a
  // sender's error callback may send again and find a fresh connection.
  owner_.onConnectionClosed(*this);
  for (auto& p : pending) {
    p.on_error(why);
  }
}

void Connection::onRead(bufferevent*, void* self) {
  static_cast<Connection*>(self)->readFrames();
}

void Connection::readFrames() {
  evbuffer* in = bufferevent_get_input(bev_);
  last_activity_ = owner_.worker_.now();
  if (!received_any_ && evbuffer_get_length(in) > 0) {
    received_any_ = true;
    pending_.clear();
  }
  // Feed every chunk the buffer holds without copying it into one block first.
  std::size_t length = evbuffer_get_length(in);
  while (length > 0) {
    evbuffer_iovec chunks[8];
    int n = evbuffer_peek(in, -1, nullptr, chunks, 8);
    std::size_t fed = 0;
    for (int i = 0; i < n && i < 8; ++i) {
      framer_.feed(
          std::string_view(static_cast<const char*>(chunks[i].iov_base), chunks[i].iov_len));
      fed += chunks[i].iov_len;
    }
    evbuffer_drain(in, fed);
    length = evbuffer_get_length(in);
  }
  while (state_ == State::Open) {
    auto frame = framer_.next();
    if (!frame) {
      // The stream cannot be resynchronised: answer when the request can be addressed, close.
      // When the header section is complete (a bad, missing or oversized Content-Length), it
      // still addresses a 400.
      sip::ParseError error = frame.error();
      std::string_view rest = framer_.unconsumed();
      std::size_t end = rest.find("\r\n\r\n");
      if (end != std::string_view::npos) {
        error.addressable = true;
        rest = rest.substr(0, end + 4);
      }
      owner_.answerBadMessage(rest, error, /*datagram=*/true, params_.remote, params_.side,
                              Flow{params_.id, params_.listener});
      closeAfterFlush();
      return;
    }
    if (!frame->has_value()) {
      return;
    }
    const sip::Frame& f = **frame;
    switch (f.kind) {
      case sip::Frame::Kind::Ping:
        ++owner_.counters_.keepalive_pongs;
        bufferevent_write(bev_, "\r\n", 2);
        break;
      case sip::Frame::Kind::Pong: break;
      case sip::Frame::Kind::Message:
        owner_.receiveBytes(f.bytes, params_.remote, params_.local, params_.side,
                            Flow{params_.id, params_.listener}, peer_, nullptr, this,
                            /*datagram=*/false);
        break;
    }
  }
}

void Connection::onWrite(bufferevent*, void* self) {
  auto* c = static_cast<Connection*>(self);
  // libevent may call this before the output has drained (a deferred callback queued earlier).
  const std::size_t pending = evbuffer_get_length(bufferevent_get_output(c->bev_));
  if (c->state_ == State::Closing && pending == 0) {
    c->close(SendError{SendError::Kind::Closed, "closed after flush"});
    return;
  }
  if (c->read_paused_ && c->state_ == State::Open &&
      pending <= c->owner_.limits_.max_pending_bytes / 4) {
    c->read_paused_ = false;
    bufferevent_setwatermark(c->bev_, EV_WRITE, 0, 0);
    bufferevent_enable(c->bev_, EV_READ);
  }
}

void Connection::onOpen() {
  if (params_.remote.transport == Transport::Tls) {
    SSL* ssl = bufferevent_openssl_get_ssl(bev_);
    peer_ = std::make_shared<const PeerIdentity>(identityOf(ssl));
    if (!params_.inbound && !params_.tls_server_name.empty() &&
        !peer_->covers(params_.tls_server_name)) {
      ++owner_.counters_.tls_handshake_failures;
      std::string names;
      for (const std::string& d : peer_->sipDomains()) {
        names += names.empty() ? d : ", " + d;
      }
      close(SendError{SendError::Kind::TlsIdentity,
                      "certificate of " + params_.remote.toString() + " does not cover '" +
                          params_.tls_server_name + "' (it names: " +
                          (names.empty() ? std::string("nothing usable") : names) + ")"});
      return;
    }
  }
  state_ = State::Open;
  if (auto local = localAddressOf(bufferevent_getfd(bev_)); local && !params_.inbound) {
    params_.local = *local;
  }
  armTimer(owner_.limits_.idle_timeout);
  // Bytes may have arrived with the end of the handshake.
  if (evbuffer_get_length(bufferevent_get_input(bev_)) > 0) {
    readFrames();
  }
}

void Connection::onEvent(bufferevent*, short what, void* self) {
  auto* c = static_cast<Connection*>(self);
  if (what & BEV_EVENT_CONNECTED) {
    c->onOpen();
    return;
  }
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
    return;
  }
  const std::string remote = c->params_.remote.toString();
  const std::string tls = c->tlsErrors();  // drains the queue: read it once
  const bool opening = c->state_ == State::Connecting || c->state_ == State::Handshaking;
  if (opening && !tls.empty()) {
    ++c->owner_.counters_.tls_handshake_failures;
    c->close(SendError{SendError::Kind::TlsHandshake, remote + ": " + tls});
    return;
  }
  if (c->state_ == State::Connecting) {
    // The TCP connect itself failed (an OpenSSL bufferevent reports a refused connect as EOF).
    int err = EVUTIL_SOCKET_ERROR();
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (getsockopt(bufferevent_getfd(c->bev_), SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 &&
        so_error != 0) {
      err = so_error;
    }
    ++c->owner_.counters_.connect_failures;
    c->close(SendError{
        SendError::Kind::Refused,
        remote + ": " +
            (err != 0 ? evutil_socket_error_to_string(err) : "the peer closed the connection")});
    return;
  }
  if (c->state_ == State::Handshaking) {
    ++c->owner_.counters_.tls_handshake_failures;
    c->close(SendError{SendError::Kind::Closed, remote + ": closed during the TLS handshake"});
    return;
  }
  c->close(SendError{SendError::Kind::Closed,
                     ((what & BEV_EVENT_EOF) ? "closed by " : "connection error with ") + remote +
                         (tls.empty() ? "" : ": " + tls)});
}

std::string Connection::tlsErrors() {
  if (params_.remote.transport != Transport::Tls) {
    return {};
  }
  std::string out;
  while (unsigned long e = bufferevent_get_openssl_error(bev_)) {
    if (ERR_GET_LIB(e) == 0) {
      continue;  // libevent's placeholder entries say nothing
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  SSL* ssl = bufferevent_openssl_get_ssl(bev_);
  long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    out += out.empty() ? "" : "; ";
    out += "certificate verification: ";
    out += X509_verify_cert_error_string(verify);
  }
  return out;
}

void Connection::armTimer(Duration after) {
  timer_->enable(after);
}

void Connection::onTimer() {
  switch (state_) {
    case State::Connecting:
    case State::Handshaking:
      if (state_ == State::Handshaking || params_.remote.transport == Transport::Tls) {
        ++owner_.counters_.tls_handshake_failures;
      }
      close(SendError{SendError::Kind::Timeout,
                      (state_ == State::Connecting ? "connect to " : "TLS handshake with ") +
                          params_.remote.toString() + " took too long"});
      return;
    case State::Open: {
      auto idle = owner_.worker_.now() - last_activity_;
      if (idle >= owner_.limits_.idle_timeout) {
        ++owner_.counters_.connections_closed_idle;
        closeAfterFlush();
        return;
      }
      armTimer(std::chrono::duration_cast<Duration>(owner_.limits_.idle_timeout - idle) +
               Duration{1});
      return;
    }
    case State::Closing: close(SendError{SendError::Kind::Closed, "flush timed out"}); return;
    case State::Closed: return;
  }
}

}  // namespace sipedge::transport
