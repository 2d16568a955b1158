// Fuzz target: transport::stampReceived (RFC 3261 18.2.1, RFC 3581 4) on requests parsed from
// untrusted bytes, as WorkerTransport runs it on every request it accepts and on the tolerant
// parse it answers with a 400.
//
// Input: a flags byte, the source address (4 bytes for IPv4 or 16 for IPv6, then 2 bytes of
// port), then one SIP message. Flags: bit 0 IPv6; bit 1 take the source IP from the top Via's
// sent-by when it is an IP address (the "nothing to stamp" case); bit 2 parse tolerantly; bit 3
// parse as a stream (datagram = false).
//
// Properties, for every request that parses:
//  - a strict parse always stamps (stampReceived fails only on what a tolerant parse let in);
//  - it changes the message exactly when RFC 3261/3581 ask: the sent-by host is not the source
//    IP, or the top Via has an empty rport (a repeated parameter counts by its first occurrence,
//    as ParamList::get reads it); unchanged, the message serializes as before;
//  - changed, the message serializes and parses again (limits aside: the Via grew) into one whose
//    top Via has sent-by, transport, branch and the other parameters as before, exactly one
//    received parameter, equal to the source IP, and rport equal to the source port when the
//    original rport was empty (otherwise the rport parameters as they were);
//  - only the top Via changes: every other Via value, in every Via header, and every other header
//    keep their text, and the body is unchanged; a request that validated still does;
//  - stamping again from the same source changes nothing more.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "sipedge/base/strings.h"
#include "sipedge/sip/message.h"
#include "sipedge/transport/endpoint.h"
#include "sipedge/transport/received.h"

namespace {

namespace sip = sipedge::sip;
using sipedge::transport::Address;
using sipedge::transport::stampReceived;

struct ParamCopy {
  std::string name;
  bool has_value = false;
  std::string value;
  bool operator==(const ParamCopy&) const = default;
};

struct ViaCopy {
  std::string text;
  std::string protocol_name;
  std::string protocol_version;
  std::string transport;
  std::string host;
  std::optional<std::uint16_t> port;
  std::string branch;
  bool rport = false;
  std::optional<std::string> rport_param;  // the first rport parameter's value
  std::vector<ParamCopy> params;
};

ViaCopy copyVia(const sip::Via& v) {
  ViaCopy c{
      std::string(v.text),
      std::string(v.protocol_name),
      std::string(v.protocol_version),
      std::string(v.transport),
      std::string(v.host),
      v.port,
      std::string(v.branch),
      v.rport,
      v.params.get("rport") ? std::optional<std::string>(*v.params.get("rport")) : std::nullopt,
      {}};
  for (const sip::Param& p : v.params) {
    c.params.push_back({std::string(p.name), p.has_value, std::string(p.value)});
  }
  return c;
}

// Every Via value of every Via header, in order, and which of them is the top Via (the one
// vias().front() was parsed from). Empty when a Via header does not split (tolerant parses).
struct ViaValues {
  std::vector<std::string> values;
  std::size_t top = SIZE_MAX;
  bool ok = true;
};

ViaValues viaValues(const sip::Message& m) {
  ViaValues out;
  const char* top = m.vias().empty() ? nullptr : m.vias().front().text.data();
  for (const sip::Header& h : m.headers()) {
    if (h.id != sip::HeaderId::Via) {
      continue;
    }
    auto items = sip::splitList(h.value);
    if (!items) {
      out.ok = false;
      return out;
    }
    for (std::string_view item : *items) {
      if (top != nullptr && std::less_equal<>()(item.data(), top) &&
          std::less<>()(top, item.data() + item.size()) && out.top == SIZE_MAX) {
        out.top = out.values.size();
      }
      out.values.emplace_back(item);
    }
  }
  return out;
}

// The headers other than Via, as name and value.
std::vector<std::pair<std::string, std::string>> otherHeaders(const sip::Message& m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const sip::Header& h : m.headers()) {
    if (h.id != sip::HeaderId::Via) {
      out.emplace_back(std::string(h.name), std::string(h.value));
    }
  }
  return out;
}

std::size_t countReceived(const sip::Via& v) {
  std::size_t n = 0;
  for (const sip::Param& p : v.params) {
    n += sipedge::iequals(p.name, "received") ? 1 : 0;
  }
  return n;
}

sip::ParseOptions relaxed(sip::ParseOptions o, std::size_t size) {
  o.limits.max_message_bytes = std::max(o.limits.max_message_bytes, size + 1);
  o.limits.max_header_section_bytes = std::max(o.limits.max_header_section_bytes, size + 1);
  o.limits.max_header_bytes = std::max(o.limits.max_header_bytes, size + 1);
  return o;
}

void check(std::string_view bytes, const sip::ParseOptions& options, Address source,
           bool source_from_via) {
  auto parsed = sip::parseMessage(bytes, options);
  if (!parsed || !parsed->isRequest()) {
    return;
  }
  sip::Message& m = *parsed;
  if (source_from_via && !m.vias().empty()) {
    if (auto ip = Address::parseIp(m.vias().front().host, source.port())) {
      source = *ip;
    }
  }

  const bool had_via = !m.vias().empty();
  const std::optional<ViaCopy> before =
      had_via ? std::optional(copyVia(m.vias().front())) : std::nullopt;
  const ViaValues values_before = viaValues(m);
  const auto others_before = otherHeaders(m);
  const std::string body_before(m.body());
  const bool valid_before = sip::validate(m).has_value();
  const std::string text_before = m.serialize();

  auto stamped = stampReceived(m, source);
  if (!stamped) {
    // Only a tolerant parse may hold a Via the modifiers refuse: the strict parser refuses
    // control characters in quoted strings and NULs in IPv6 references, as the modifiers do.
    FUZZ_CHECK(options.tolerant);
    (void)stamped.error().describe();
    return;
  }
  if (!had_via) {
    FUZZ_CHECK(!*stamped);
  }
  if (!*stamped) {
    if (had_via) {
      // The sent-by host is the source IP, all of it.
      const auto host_ip = Address::parseIp(before->host, 0);
      FUZZ_CHECK(host_ip && *host_ip == source.withoutPort());
      FUZZ_CHECK(before->host.find('\0') == std::string::npos);
      FUZZ_CHECK(!before->rport_param || !before->rport_param->empty());
    }
    FUZZ_CHECK(m.serialize() == text_before);
    return;
  }

  // Changed: RFC 3261 18.2.1 (sent-by is not the source IP) or RFC 3581 4 (empty rport).
  FUZZ_CHECK(had_via);
  const auto host_ip = Address::parseIp(before->host, 0);
  const bool need_received = !host_ip || *host_ip != source.withoutPort();
  const bool need_rport = before->rport_param && before->rport_param->empty();
  FUZZ_CHECK(need_received || need_rport);

  const std::string text = m.serialize();
  auto again = sip::parseMessage(text, relaxed(options, text.size()));
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->isRequest());
  FUZZ_CHECK(again->serialize() == text);
  FUZZ_CHECK(!again->vias().empty());
  const sip::Via& top = again->vias().front();
  FUZZ_CHECK(top.protocol_name == before->protocol_name);
  FUZZ_CHECK(top.protocol_version == before->protocol_version);
  FUZZ_CHECK(top.transport == before->transport);
  FUZZ_CHECK(top.host == before->host);
  FUZZ_CHECK(top.port == before->port);
  FUZZ_CHECK(top.branch == before->branch);
  FUZZ_CHECK(countReceived(top) == 1);
  FUZZ_CHECK(top.received == source.ip());
  FUZZ_CHECK(top.rport == before->rport);
  if (need_rport) {
    FUZZ_CHECK(top.rport_value == source.port());
  }
  // The other parameters, in order, as they were: received dropped from both; with an empty
  // rport, every rport parameter now carries the source port.
  std::vector<ParamCopy> expected;
  for (const ParamCopy& p : before->params) {
    if (sipedge::iequals(p.name, "received")) {
      continue;
    }
    if (need_rport && sipedge::iequals(p.name, "rport")) {
      expected.push_back({"rport", true, std::to_string(source.port())});
    } else {
      expected.push_back(p);
    }
  }
  std::vector<ParamCopy> after = copyVia(top).params;
  std::erase_if(after, [](const ParamCopy& p) { return sipedge::iequals(p.name, "received"); });
  FUZZ_CHECK(after == expected);

  // Only the top Via changed.
  FUZZ_CHECK(otherHeaders(*again) == others_before);
  FUZZ_CHECK(again->body() == body_before);
  const ViaValues values_after = viaValues(*again);
  if (values_before.ok) {
    FUZZ_CHECK(values_after.ok);
    FUZZ_CHECK(values_before.top != SIZE_MAX);
    FUZZ_CHECK(values_after.values.size() == values_before.values.size());
    FUZZ_CHECK(values_after.top == values_before.top);
    for (std::size_t i = 0; i < values_before.values.size(); ++i) {
      if (i != values_before.top) {
        FUZZ_CHECK(values_after.values[i] == values_before.values[i]);
      }
    }
  }
  if (valid_before) {
    FUZZ_CHECK(sip::validate(*again).has_value());
  }

  // Idempotent: the stamp already says what a second one would.
  auto twice = stampReceived(*again, source);
  FUZZ_CHECK(twice.has_value());
  FUZZ_CHECK(again->serialize() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  const std::uint8_t flags = data[0];
  const bool v6 = (flags & 1) != 0;
  const std::size_t address_bytes = v6 ? 16 : 4;
  if (size < 1 + address_bytes + 2) {
    return 0;
  }
  const std::uint8_t* a = data + 1;
  const auto port = static_cast<std::uint16_t>((a[address_bytes] << 8) | a[address_bytes + 1]);
  Address source;
  if (v6) {
    std::array<std::uint8_t, 16> bytes{};
    std::copy(a, a + 16, bytes.begin());
    source = Address::v6(bytes, port);
  } else {
    const std::uint32_t host = (static_cast<std::uint32_t>(a[0]) << 24) |
                               (static_cast<std::uint32_t>(a[1]) << 16) |
                               (static_cast<std::uint32_t>(a[2]) << 8) | a[3];
    source = Address::v4(host, port);
  }
  const std::size_t header = 1 + address_bytes + 2;
  const std::string_view message(reinterpret_cast<const char*>(data) + header, size - header);
  sip::ParseOptions options;
  options.tolerant = (flags & 4) != 0;
  options.datagram = (flags & 8) == 0;
  check(message, options, source, (flags & 2) != 0);
  return 0;
}
