#include "listen_spec.h"

#include "sipedge/config/values.h"

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
  // The configuration's parser: a listener's port may be 0 (the kernel picks).
  auto socket_address = config::parseSocketAddress(rest.substr(colon + 1));
  if (!socket_address) {
    return bad(socket_address.error().message);
  }
  auto address = transport::Address::parseIp(socket_address->ip, socket_address->port);
  if (!address) {
    return bad("bad address");
  }
  s.endpoint = transport::Endpoint{*address, *t};
  return s;
}

}  // namespace sipedge::app
