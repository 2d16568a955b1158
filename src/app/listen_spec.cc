#include "listen_spec.h"

namespace sipedge::app {

Result<transport::ListenerSettings, std::string> parseListenSpec(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail("--listen '" + std::string(text) + "': " + std::string(why) +
                " (expected TRANSPORT:ADDRESS:PORT[/external|/internal], e.g. "
                "udp:127.0.0.1:5060 or tls:[::1]:5061/internal)");
  };
  transport::ListenerSettings s;
  std::string_view rest = text;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    std::string_view side = rest.substr(slash + 1);
    if (side == "external") {
      s.side = transport::Side::External;
    } else if (side == "internal") {
      s.side = transport::Side::Internal;
    } else {
      return bad("unknown side '" + std::string(side) + "'");
    }
    rest = rest.substr(0, slash);
  }
  std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos) {
    return bad("missing transport");
  }
  auto t = transport::parseTransport(rest.substr(0, colon));
  if (!t) {
    return bad("unknown transport '" + std::string(rest.substr(0, colon)) + "' (udp, tcp, tls)");
  }
  std::string_view host_port = rest.substr(colon + 1);
  auto address = transport::Address::parseHostPort(host_port);
  if (!address) {
    // Port 0 is allowed here (parseHostPort refuses it for destinations).
    std::size_t last = host_port.rfind(':');
    if (last != std::string_view::npos && host_port.substr(last + 1) == "0") {
      address = transport::Address::parseIp(host_port.substr(0, last), 0);
    }
  }
  if (!address) {
    return bad("bad address or port");
  }
  s.endpoint = transport::Endpoint{*address, *t};
  return s;
}

}  // namespace sipedge::app
