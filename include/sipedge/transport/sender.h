#pragma once

// The seam between the transaction layer and the transport (DESIGN.md: txn may use transport's
// Sender interface only). A received message arrives as an Inbound; the transaction layer sends
// through a Sender, which a test replaces with a recording fake.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sipedge/base/result.h"
#include "sipedge/base/time.h"
#include "sipedge/sip/message.h"
#include "sipedge/transport/endpoint.h"
#include "sipedge/transport/peer_identity.h"

namespace sipedge::transport {

// Where a message came in, so that an answer can leave the same way (RFC 3261 18.2.2: a response
// goes back over the connection the request arrived on; over UDP, from the socket it arrived on,
// which is what makes rport work through NAT). Ids encode the owning worker; 0 means none.
struct Flow {
  std::uint64_t connection = 0;  // TCP/TLS connection id
  std::uint64_t listener = 0;    // listener id (UDP socket or the TCP/TLS listener accepted on)
  bool operator==(const Flow&) const = default;
};

// A parsed message and everything the transport knows about how it arrived.
struct Inbound {
  sip::Message message;
  Endpoint source;  // the peer's address, port and transport
  Address local;    // the local address it arrived at
  Side side = Side::External;
  Flow flow;
  std::shared_ptr<const PeerIdentity> peer;  // TLS: the certificate's identity; else null
  MonoTime received_at{};
};

// The transaction layer (or any other consumer) implements this to receive messages.
class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  virtual void onMessage(Inbound&& in) = 0;
};

// Where to send a message.
struct Destination {
  Endpoint endpoint;
  Side side = Side::Internal;   // which side's listeners / source address to use
  Flow flow;                    // prefer this connection / UDP socket when it is still open
  std::string tls_server_name;  // TLS: SNI, and the SIP domain the certificate must cover
  bool operator==(const Destination&) const = default;
};

struct SendError {
  enum class Kind : std::uint8_t {
    NoListener,    // no local socket for this side and transport
    Refused,       // connect failed or was refused
    Timeout,       // connect or TLS handshake took too long
    TlsHandshake,  // handshake failed
    TlsIdentity,   // the certificate does not cover tls_server_name
    Closed,        // the connection closed with the message unsent
    Overloaded,    // a connection limit or the pending-bytes limit was reached
    TooLarge,      // over UDP's size and the caller may not switch transport
  };
  Kind kind = Kind::Refused;
  std::string detail;
  std::string describe() const;
};
std::string_view sendErrorKindName(SendError::Kind k);

// What a Via must say for a message sent to `destination` (RFC 3261 18.1.1).
struct ViaAddress {
  std::string host;  // the advertised address of the listener the message will leave from
  std::uint16_t port = 0;
  Transport transport = Transport::Udp;
};

// RFC 3261 18.2.2 with RFC 3581: where the responses to a request go, given its top Via as
// received and how it arrived. Reliable transports: back over the same connection (flow), or a new
// connection to the source IP and the sent-by port when it has closed. UDP: to maddr when
// present; to the source IP and port when the request asked for rport; otherwise to the source IP
// and the sent-by port (default 5060), leaving from the socket the request came in on.
Destination responseDestination(const sip::Via& top_via, const Endpoint& source, Side side,
                                Flow flow);

class Sender {
 public:
  using ErrorCallback = std::function<void(const SendError&)>;
  virtual ~Sender() = default;

  // The sent-by and transport a request to `destination` must carry in its Via.
  [[nodiscard]] virtual Result<ViaAddress, SendError> viaFor(const Destination& destination) = 0;

  // Queues `bytes` (a whole serialized message) toward `destination`, reusing a connection to the
  // same peer, transport and TLS name or opening one. Fails at once when no socket can be had;
  // failures found later (connect refused, handshake, identity, closed with the message unsent)
  // reach `on_error` on this worker, at most once, never from inside send() itself. Destroying
  // the sender cancels pending callbacks.
  [[nodiscard]] virtual Result<void, SendError> send(const Destination& destination,
                                                     std::string bytes, ErrorCallback on_error) = 0;
};

}  // namespace sipedge::transport
