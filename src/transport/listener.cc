#include "listener.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "connection.h"
#include "sipedge/loop/worker.h"
#include "socket_address.h"

namespace sipedge::transport {

namespace {

std::string errnoText(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

Listener::Listener(WorkerTransport& owner, std::uint64_t id, ListenerSettings settings)
    : owner_(owner), id_(id), settings_(std::move(settings)) {}

Listener::~Listener() {
  close();
}

Result<Address, std::string> Listener::open() {
  const Address& want = settings_.endpoint.address;
  bool udp = transport() == Transport::Udp;
  int fd = socket(want.isV6() ? AF_INET6 : AF_INET,
                  (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(errnoText("socket"));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Every worker binds the same address; the kernel spreads UDP flows and TCP accepts.
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    std::string e = errnoText("SO_REUSEPORT");
    ::close(fd);
    return fail(e);
  }
  if (want.isV6()) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (udp) {
    int size = 4 << 20;  // absorb bursts while the loop is busy
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  SocketAddress sa = toSocketAddress(want);
  if (bind(fd, sa.get(), sa.length) != 0) {
    std::string e = errnoText(("bind " + settings_.endpoint.toString()).c_str());
    ::close(fd);
    return fail(e);
  }
  auto bound = localAddressOf(fd);
  if (!bound) {
    ::close(fd);
    return fail(errnoText("getsockname"));
  }
  bound_ = *bound;
  fd_ = fd;
  event_base* base = owner_.worker_.base();
  if (udp) {
    buffer_.reset(new char[kDatagramBatch * kDatagramSlot]);  // NOLINT: uninitialised on purpose
    read_event_ = event_new(base, fd_, EV_READ | EV_PERSIST, &Listener::onReadable, this);
    event_add(read_event_, nullptr);
  } else {
    if (::listen(fd_, 1024) != 0) {
      std::string e = errnoText("listen");
      ::close(fd_);
      fd_ = -1;
      return fail(e);
    }
    acceptor_ = evconnlistener_new(base, &Listener::onAccept, this, LEV_OPT_CLOSE_ON_FREE, -1, fd_);
    if (acceptor_ == nullptr) {
      ::close(fd_);
      fd_ = -1;
      return fail(std::string("evconnlistener_new failed"));
    }
  }
  return bound_;
}

void Listener::close() {
  if (read_event_ != nullptr) {
    event_free(read_event_);
    read_event_ = nullptr;
  }
  if (acceptor_ != nullptr) {
    evconnlistener_free(acceptor_);  // closes fd_
    acceptor_ = nullptr;
    fd_ = -1;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

std::string Listener::advertisedHost(const Address& toward) const {
  if (!settings_.advertised_host.empty()) {
    return settings_.advertised_host;
  }
  if (!bound_.isUnspecified()) {
    return bound_.ipForUri();
  }
  if (auto source = sourceAddressFor(toward)) {
    return source->ipForUri();
  }
  return bound_.isV6() ? "[::1]" : "127.0.0.1";
}

Result<void, SendError> Listener::sendTo(const Address& to, std::string_view bytes) {
  if (fd_ < 0) {
    return fail(SendError{SendError::Kind::NoListener, "listener closed"});
  }
  SocketAddress sa = toSocketAddress(to);
  ssize_t n = sendto(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT, sa.get(), sa.length);
  if (n < 0) {
    if (errno == EMSGSIZE) {
      return fail(SendError{SendError::Kind::TooLarge,
                            std::to_string(bytes.size()) + " bytes over UDP to " + to.toString()});
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      ++owner_.counters_.udp_send_failures;  // as if the network lost it: timers retransmit
      return {};
    }
    return fail(SendError{SendError::Kind::Refused,
                          "UDP to " + to.toString() + ": " + std::strerror(errno)});
  }
  return {};
}

void Listener::onReadable(int, short, void* self) {
  static_cast<Listener*>(self)->readDatagrams();
}

void Listener::readDatagrams() {
  // Batches of datagrams, at most udp_max_datagrams_per_wakeup per wake-up (the loop's other
  // events get their turn). A batch shorter than asked for means the socket is drained: no
  // further system call only to hear EAGAIN.
  std::array<SocketAddress, kDatagramBatch> from;
  std::array<iovec, kDatagramBatch> iov;
  std::array<mmsghdr, kDatagramBatch> msgs;
  std::size_t left = owner_.limits_.udp_max_datagrams_per_wakeup;
  while (left > 0) {
    const std::size_t want = std::min(left, kDatagramBatch);
    for (std::size_t i = 0; i < want; ++i) {
      iov[i] = iovec{buffer_.get() + i * kDatagramSlot, kDatagramSlot};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = from[i].get();
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i].storage);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = recvmmsg(fd_, msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (got <= 0) {
      return;  // EAGAIN, or an ICMP error reported on the socket: nothing to read
    }
    for (int i = 0; i < got; ++i) {
      const mmsghdr& m = msgs[static_cast<std::size_t>(i)];
      auto source =
          fromSocketAddress(from[static_cast<std::size_t>(i)].get(), m.msg_hdr.msg_namelen);
      if (!source || m.msg_len == 0) {
        continue;
      }
      std::string_view bytes(buffer_.get() + static_cast<std::size_t>(i) * kDatagramSlot,
                             m.msg_len);
      owner_.receiveBytes(bytes, Endpoint{*source, Transport::Udp}, bound_, settings_.side,
                          Flow{0, id_}, nullptr, this, nullptr, /*datagram=*/true);
    }
    if (static_cast<std::size_t>(got) < want) {
      return;
    }
    left -= static_cast<std::size_t>(got);
  }
}

void Listener::onAccept(evconnlistener*, int fd, ::sockaddr* sa, int len, void* self) {
  auto* l = static_cast<Listener*>(self);
  auto peer = fromSocketAddress(sa, static_cast<socklen_t>(len));
  if (!peer) {
    ::close(fd);
    return;
  }
  l->accept(fd, *peer);
}

void Listener::accept(int fd, const Address& peer) {
  if (!owner_.budget_.acquire(peer, /*inbound=*/true)) {
    ++owner_.counters_.connections_refused_by_limit;
    ::close(fd);
    return;
  }
  Connection::Params p;
  p.id = owner_.nextId();
  p.inbound = true;
  p.remote = Endpoint{peer, transport()};
  p.local = localAddressOf(fd).value_or(bound_);
  p.side = settings_.side;
  p.listener = id_;
  event_base* base = owner_.worker_.base();
  bufferevent* bev = nullptr;
  int options = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  if (transport() == Transport::Tls) {
    p.tls = owner_.tls_.get(settings_.tls_profile);
    SSL* ssl = (p.tls && p.tls->server() != nullptr) ? SSL_new(p.tls->server()) : nullptr;
    if (ssl == nullptr) {
      owner_.budget_.release(peer, true);
      ++owner_.counters_.tls_handshake_failures;
      ::close(fd);
      return;
    }
    bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, options);
  } else {
    bev = bufferevent_socket_new(base, fd, options);
  }
  if (bev == nullptr) {
    owner_.budget_.release(peer, true);
    ::close(fd);
    return;
  }
  auto c = std::make_unique<Connection>(owner_, std::move(p), bev);
  Connection* raw = c.get();
  owner_.adopt(std::move(c));
  raw->start();
}

}  // namespace sipedge::transport
