#include "sipedge/transport/sender.h"

namespace sipedge::transport {

std::string_view sendErrorKindName(SendError::Kind k) {
  switch (k) {
    case SendError::Kind::NoListener: return "no listener";
    case SendError::Kind::Refused: return "connection refused";
    case SendError::Kind::Timeout: return "timeout";
    case SendError::Kind::TlsHandshake: return "TLS handshake failed";
    case SendError::Kind::TlsIdentity: return "TLS identity mismatch";
    case SendError::Kind::Closed: return "connection closed";
    case SendError::Kind::Overloaded: return "overloaded";
    case SendError::Kind::TooLarge: return "message too large";
  }
  return "?";
}

std::string SendError::describe() const {
  std::string out(sendErrorKindName(kind));
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

namespace {

std::uint16_t defaultPort(Transport t) {
  return t == Transport::Tls ? 5061 : 5060;
}

}  // namespace

Destination responseDestination(const sip::Via& top_via, const Endpoint& source, Side side,
                                Flow flow) {
  Destination d;
  d.side = side;
  d.flow = flow;
  d.endpoint.transport = source.transport;
  std::uint16_t sent_by_port = top_via.port.value_or(defaultPort(source.transport));
  if (isReliable(source.transport)) {
    d.endpoint.address = source.address;
    d.endpoint.address.setPort(sent_by_port);
    return d;
  }
  if (auto maddr = top_via.params.get("maddr"); maddr && !maddr->empty()) {
    if (auto a = Address::parseIp(*maddr, sent_by_port)) {
      d.endpoint.address = *a;
      d.flow = {};
      return d;
    }
  }
  d.endpoint.address = source.address;
  if (!top_via.params.has("rport")) {
    d.endpoint.address.setPort(sent_by_port);
  }
  return d;
}

}  // namespace sipedge::transport
