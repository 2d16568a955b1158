#include "sipedge/transport/endpoint.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "sipedge/base/strings.h"

namespace sipedge::transport {

std::string_view transportName(Transport t) {
  switch (t) {
    case Transport::Udp: return "UDP";
    case Transport::Tcp: return "TCP";
    case Transport::Tls: return "TLS";
  }
  return "?";
}

std::optional<Transport> parseTransport(std::string_view name) {
  if (iequals(name, "udp")) {
    return Transport::Udp;
  }
  if (iequals(name, "tcp")) {
    return Transport::Tcp;
  }
  if (iequals(name, "tls")) {
    return Transport::Tls;
  }
  return std::nullopt;
}

std::string_view sideName(Side s) {
  return s == Side::External ? "external" : "internal";
}

Address Address::v4(std::uint32_t host_order, std::uint16_t port) {
  std::array<std::uint8_t, 16> b{};
  b[0] = static_cast<std::uint8_t>(host_order >> 24);
  b[1] = static_cast<std::uint8_t>(host_order >> 16);
  b[2] = static_cast<std::uint8_t>(host_order >> 8);
  b[3] = static_cast<std::uint8_t>(host_order);
  return Address(b, false, port);
}

Address Address::v6(const std::array<std::uint8_t, 16>& bytes, std::uint16_t port) {
  return Address(bytes, true, port);
}

std::optional<Address> Address::parseIp(std::string_view text, std::uint16_t port) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  // inet_pton reads up to a NUL: "192.0.2.1\0junk" is not an address (regress-nul-in-via-host).
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> b{};
  if (inet_pton(AF_INET, buf, b.data()) == 1) {
    return Address(b, false, port);
  }
  if (inet_pton(AF_INET6, buf, b.data()) == 1) {
    return Address(b, true, port);
  }
  return std::nullopt;
}

std::optional<Address> Address::parseHostPort(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  bool bracketed = !host.empty() && host.front() == '[';
  if (!bracketed && host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address needs brackets before a port
  }
  auto port = parseDecimal(port_text, 65535);
  if (!port || *port == 0) {
    return std::nullopt;
  }
  return parseIp(host, static_cast<std::uint16_t>(*port));
}

bool Address::isUnspecified() const {
  std::size_t n = v6_ ? 16 : 4;
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes_[i] != 0) {
      return false;
    }
  }
  return true;
}

bool Address::isLoopback() const {
  if (!v6_) {
    return bytes_[0] == 127;
  }
  for (std::size_t i = 0; i < 15; ++i) {
    if (bytes_[i] != 0) {
      return false;
    }
  }
  return bytes_[15] == 1;
}

std::string Address::ip() const {
  if (!v6_) {
    // By hand: inet_ntop formats through sprintf, and this runs for every received request (its
    // Via's received=) and every Via sipedge writes.
    char buf[16];  // "255.255.255.255"
    char* p = buf;
    for (std::size_t i = 0; i < 4; ++i) {
      if (i != 0) {
        *p++ = '.';
      }
      p = std::to_chars(p, buf + sizeof buf, static_cast<unsigned>(bytes_[i])).ptr;
    }
    return std::string(buf, p);
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::string Address::ipForUri() const {
  return v6_ ? "[" + ip() + "]" : ip();
}

std::string Address::toString() const {
  return ipForUri() + ":" + std::to_string(port_);
}

std::size_t Address::hash() const {
  // FNV-1a over the bytes that matter.
  std::size_t h = 1469598103934665603ULL;
  std::size_t n = v6_ ? 16 : 4;
  for (std::size_t i = 0; i < n; ++i) {
    h = (h ^ bytes_[i]) * 1099511628211ULL;
  }
  h = (h ^ port_) * 1099511628211ULL;
  return h ^ static_cast<std::size_t>(v6_);
}

std::string Endpoint::toString() const {
  return std::string(transportName(transport)) + " " + address.toString();
}

}  // namespace sipedge::transport
