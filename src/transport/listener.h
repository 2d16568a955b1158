#pragma once

// A listening socket of one worker (private to the transport): a UDP socket that receives
// datagrams and sends from the same address, or a TCP/TLS acceptor.

#include <cstdint>
#include <memory>
#include <string>

#include "sipedge/transport/worker_transport.h"

struct event;
struct evconnlistener;
struct sockaddr;

namespace sipedge::transport {

class Listener {
 public:
  Listener(WorkerTransport& owner, std::uint64_t id, ListenerSettings settings);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  [[nodiscard]] Result<Address, std::string> open();
  void close();

  std::uint64_t id() const { return id_; }
  const ListenerSettings& settings() const { return settings_; }
  Transport transport() const { return settings_.endpoint.transport; }
  Side side() const { return settings_.side; }
  const Address& bound() const { return bound_; }
  bool isOpen() const { return fd_ >= 0; }
  // The host a Via or Contact should carry for messages that leave through this listener.
  std::string advertisedHost(const Address& toward) const;

  // UDP: sends one datagram from this socket.
  [[nodiscard]] Result<void, SendError> sendTo(const Address& to, std::string_view bytes);

 private:
  static void onReadable(int fd, short what, void* self);
  static void onAccept(evconnlistener* l, int fd, ::sockaddr* sa, int len, void* self);
  void readDatagrams();
  void accept(int fd, const Address& peer);

  WorkerTransport& owner_;
  std::uint64_t id_;
  ListenerSettings settings_;
  Address bound_;
  int fd_ = -1;
  event* read_event_ = nullptr;         // UDP
  evconnlistener* acceptor_ = nullptr;  // TCP/TLS
  // UDP: one recvmmsg takes up to kDatagramBatch datagrams, each into its own 64 KiB slot. Left
  // uninitialised: only the pages datagrams are written to become resident.
  static constexpr std::size_t kDatagramBatch = 8;
  static constexpr std::size_t kDatagramSlot = 65536;
  std::unique_ptr<char[]> buffer_;
};

}  // namespace sipedge::transport
