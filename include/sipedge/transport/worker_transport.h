#pragma once

// The transport of one worker (DESIGN.md Concurrency): its listeners, its connections and the
// table that finds them again, all on the worker's libevent loop. Every worker of a process has
// one; they share listening addresses through SO_REUSEPORT (the kernel spreads UDP flows and TCP
// accepts across the workers' sockets), and a process-wide ConnectionBudget for the connection
// limits. Received messages go to a MessageHandler (the transaction layer); sending goes through
// the Sender interface.
//
// Bad input (STYLE S21): a message that fails to parse gets a 400 with the parser's reason when a
// response can be addressed (built from a tolerant parse), otherwise it is dropped and counted. A
// stream whose framing breaks is answered (when it can be) and closed.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/base/time.h"
#include "sipedge/sip/limits.h"
#include "sipedge/transport/endpoint.h"
#include "sipedge/transport/sender.h"
#include "sipedge/transport/tls.h"

namespace sipedge::loop {
class Worker;
}

namespace sipedge::transport {

// Every limit has a default here and a config key (issue 5 maps `limits.*` onto these).
struct Limits {
  std::size_t max_connections = 10000;       // per process, TCP and TLS, in and out
  std::size_t max_connections_per_ip = 100;  // per process, inbound, per source address
  // Unsent output per connection. Past half of it the peer is not read from until a quarter is
  // left (backpressure); a send that would pass it closes the connection.
  std::size_t max_pending_bytes = 1 << 20;
  Duration connect_timeout{5000};         // outbound TCP connect
  Duration tls_handshake_timeout{5000};   // both directions
  Duration idle_timeout{10 * 60 * 1000};  // a connection with no traffic is closed
  std::size_t udp_max_datagrams_per_wakeup = 64;
  sip::ParseLimits parse;
};

// Process-wide connection accounting, shared by the workers (locked only on connect, accept
// and close, never per message).
class ConnectionBudget {
 public:
  explicit ConnectionBudget(const Limits& limits)
      : max_total_(limits.max_connections), max_per_ip_(limits.max_connections_per_ip) {}
  // Takes a slot for a connection with `peer`; false when a limit is reached.
  [[nodiscard]] bool acquire(const Address& peer, bool inbound);
  void release(const Address& peer, bool inbound);
  std::size_t total() const;

 private:
  mutable std::mutex mutex_;
  std::size_t max_total_;
  std::size_t max_per_ip_;
  std::size_t total_ = 0;
  std::unordered_map<Address, std::size_t> per_ip_;  // inbound only, port 0
};

struct ListenerSettings {
  Endpoint endpoint;  // where to bind (port 0: the kernel picks; see WorkerTransport::listen)
  Side side = Side::External;
  std::string tls_profile = "default";  // TLS: the TlsContextStore entry used for handshakes
  std::string advertised_host;          // Via/Contact host; empty: the bound address
  // UDP: the worker also opens a socket of its own on an ephemeral port of the same address.
  // Requests it sends on this side leave from there, and their Via and Contact name that port,
  // so responses and in-dialog requests come back to this worker (no hand-over between
  // workers). Responses still leave from the socket their request arrived on.
  bool worker_port = false;
  bool is_worker_port = false;  // set by listen() on that socket itself
};

struct TransportCounters {
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bad_messages_answered = 0;  // 400 sent
  std::uint64_t bad_messages_dropped = 0;   // could not be addressed
  std::uint64_t udp_send_failures = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_refused_by_limit = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t connections_closed_idle = 0;
  std::uint64_t connections_closed_pending_bytes = 0;
  std::uint64_t reads_paused = 0;  // backpressure episodes (output past half the limit)
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t keepalive_pongs = 0;
};

class Connection;
class Listener;

class WorkerTransport final : public Sender {
 public:
  WorkerTransport(loop::Worker& worker, unsigned worker_index, const Limits& limits,
                  ConnectionBudget& budget, const TlsContextStore& tls, MessageHandler& handler);
  ~WorkerTransport() override;
  WorkerTransport(const WorkerTransport&) = delete;
  WorkerTransport& operator=(const WorkerTransport&) = delete;

  // Opens a listener on this worker (SO_REUSEPORT, so each worker may listen on the same
  // address). Returns the bound address (with the kernel's port when 0 was asked).
  [[nodiscard]] Result<Address, std::string> listen(const ListenerSettings& settings);
  // Stops accepting and receiving on every listener (first step of a graceful stop).
  void closeListeners();

  // Sender
  [[nodiscard]] Result<ViaAddress, SendError> viaFor(const Destination& destination) override;
  [[nodiscard]] Result<void, SendError> send(const Destination& destination, std::string bytes,
                                             ErrorCallback on_error) override;

  std::size_t connectionCount() const { return connections_.size(); }
  const TransportCounters& counters() const { return counters_; }
  unsigned workerIndex() const { return worker_index_; }
  loop::Worker& worker() { return worker_; }

  // The TLS identity of the peer on an open connection (null when not TLS or unknown id).
  std::shared_ptr<const PeerIdentity> peerOf(std::uint64_t connection_id) const;

 private:
  friend class Connection;
  friend class Listener;
  struct ReuseKey {
    Address peer;
    Transport transport;
    std::string tls_name;
    bool operator==(const ReuseKey&) const = default;
  };
  struct ReuseKeyHash {
    std::size_t operator()(const ReuseKey& k) const noexcept;
  };

  std::uint64_t nextId();
  Listener* findListener(Side side, Transport transport, bool v6);
  Connection* connectionFor(const Destination& d);
  Result<Connection*, SendError> openConnection(const Destination& d);
  void adopt(std::unique_ptr<Connection> c);
  void onConnectionClosed(Connection& c);  // called by the connection; defers its deletion
  void indexConnection(Connection& c, const ReuseKey& key);
  void deliver(Inbound&& in);
  void receiveBytes(std::string_view bytes, const Endpoint& source, const Address& local, Side side,
                    Flow flow, const std::shared_ptr<const PeerIdentity>& peer,
                    Listener* udp_listener, Connection* connection, bool datagram);
  void answerBadMessage(std::string_view bytes, const sip::ParseError& error, bool datagram,
                        const Endpoint& source, Side side, Flow flow);

  loop::Worker& worker_;
  unsigned worker_index_;
  Limits limits_;
  ConnectionBudget& budget_;
  const TlsContextStore& tls_;
  MessageHandler& handler_;
  std::uint64_t next_id_ = 1;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<ReuseKey, std::uint64_t, ReuseKeyHash> reuse_;
  TransportCounters counters_;
};

}  // namespace sipedge::transport
