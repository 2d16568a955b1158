#include "sipedge/transport/received.h"

#include <functional>
#include <string>

#include "sipedge/base/strings.h"

namespace sipedge::transport {

Result<bool, sip::ParseError> stampReceived(sip::Message& request, const Address& source) {
  if (request.vias().empty()) {
    return false;
  }
  const sip::Via& top = request.vias().front();
  auto host_ip = Address::parseIp(top.host, 0);
  bool need_received = !host_ip || *host_ip != source.withoutPort();
  auto rport = top.params.get("rport");
  bool need_rport = rport.has_value() && rport->empty();
  if (!need_received && !need_rport) {
    return false;
  }
  std::string value;
  value.reserve(top.host.size() + 96);
  value.append(top.protocol_name).append("/").append(top.protocol_version).append("/");
  value.append(top.transport).append(" ").append(top.host);
  if (top.port) {
    value.append(":").append(std::to_string(*top.port));
  }
  for (const sip::Param& p : top.params) {
    if (iequals(p.name, "received")) {
      continue;  // ours replaces whatever the client (or an attacker) wrote
    }
    if (need_rport && iequals(p.name, "rport")) {
      value.append(";rport=").append(std::to_string(source.port()));
      continue;
    }
    value.append(";").append(p.name);
    if (p.has_value) {
      value.append("=").append(p.value);
    }
  }
  // RFC 3581 4: with rport, received is added even when the host matches.
  if (need_received || need_rport) {
    value.append(";received=").append(source.ip());
  }

  // The top Via is the first value of the Via header it was parsed from: the first one, except
  // in a tolerant parse, which keeps a malformed Via header before it as a raw header
  // (regress-tolerant-bad-first-via). Keep the other values as they were.
  const char* top_text = top.text.data();
  auto holdsTop = [top_text](std::string_view v) {
    return std::less_equal<const char*>()(v.data(), top_text) &&
           std::less<const char*>()(top_text, v.data() + v.size());
  };
  auto headers = request.headers();
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (headers[i].id != sip::HeaderId::Via || !holdsTop(headers[i].value)) {
      continue;
    }
    auto items = sip::splitList(headers[i].value);
    if (!items) {
      return fail(items.error());
    }
    for (std::size_t k = 1; k < items->size(); ++k) {
      value.append(", ").append((*items)[k]);
    }
    auto replaced = request.replaceHeaderAt(i, value);
    if (!replaced) {
      return fail(replaced.error());
    }
    return true;
  }
  return false;
}

}  // namespace sipedge::transport
