#pragma once

// A TCP or TLS connection (private to the transport). Owned by its WorkerTransport's table; the
// bufferevent's callbacks get a non-owning pointer (STYLE S10); a closed connection is handed to
// the worker's deferred delete, never freed inside its own callback (S11).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sipedge/loop/worker.h"
#include "sipedge/sip/stream_framer.h"
#include "sipedge/transport/sender.h"
#include "sipedge/transport/tls.h"

struct bufferevent;

namespace sipedge::transport {

class WorkerTransport;

class Connection final : public loop::Deletable {
 public:
  enum class State : std::uint8_t { Connecting, Handshaking, Open, Closing, Closed };

  struct Params {
    std::uint64_t id = 0;
    bool inbound = true;
    Endpoint remote;
    Address local;
    Side side = Side::External;
    std::uint64_t listener = 0;
    std::string tls_server_name;  // outbound TLS: SNI and the name to verify
    TlsContextsSharedPtr tls;     // TLS: the contexts the handshake uses (kept alive)
  };

  Connection(WorkerTransport& owner, Params params, bufferevent* bev);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts an outbound connect (bufferevent created with fd -1).
  [[nodiscard]] bool connect();
  // Starts reading (inbound) and the timers.
  void start();

  // Queues a whole message. Before the connection is open, `on_error` is kept and called if it
  // never opens; afterwards the bytes belong to the socket.
  [[nodiscard]] Result<void, SendError> send(std::string_view bytes,
                                             Sender::ErrorCallback on_error);
  // Writes what is queued, then closes (STYLE S10's FlushThenClose).
  void closeAfterFlush();
  // Closes now; pending senders get `why`.
  void close(const SendError& why);

  std::uint64_t id() const { return params_.id; }
  State state() const { return state_; }
  bool usable() const { return state_ != State::Closing && state_ != State::Closed; }
  bool inbound() const { return params_.inbound; }
  const Endpoint& remote() const { return params_.remote; }
  const Address& local() const { return params_.local; }
  Side side() const { return params_.side; }
  std::uint64_t listener() const { return params_.listener; }
  const std::string& tlsServerName() const { return params_.tls_server_name; }
  const std::shared_ptr<const PeerIdentity>& peer() const { return peer_; }

 private:
  static void onRead(bufferevent* bev, void* self);
  static void onWrite(bufferevent* bev, void* self);
  static void onEvent(bufferevent* bev, short what, void* self);
  void onOpen();
  void readFrames();
  void onTimer();
  void armTimer(Duration after);
  std::string tlsErrors();

  WorkerTransport& owner_;
  Params params_;
  bufferevent* bev_;
  State state_;
  sip::StreamFramer framer_;
  std::shared_ptr<const PeerIdentity> peer_;
  TimerPtr timer_;  // connect/handshake deadline, then idle checks
  MonoTime last_activity_{};
  struct PendingSend {
    Sender::ErrorCallback on_error;
  };
  static constexpr std::size_t kMaxPendingCallbacks = 64;
  // Outbound: error callbacks of the sends made before the peer sent anything.
  std::vector<PendingSend> pending_;
  bool received_any_ = false;
  bool read_paused_ = false;  // backpressure: the peer's answers are piling up
};

}  // namespace sipedge::transport
