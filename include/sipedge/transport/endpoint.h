#pragma once

// Addresses and endpoints as values (STYLE S17): an IPv4 or IPv6 address with a port, and the
// transport that reaches it. Conversions to and from the socket API live in src/transport.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sipedge::transport {

enum class Transport : std::uint8_t { Udp, Tcp, Tls };
std::string_view transportName(Transport t);  // "UDP", "TCP", "TLS" (as in a Via)
std::optional<Transport> parseTransport(std::string_view name);  // case-insensitive
inline bool isReliable(Transport t) {
  return t != Transport::Udp;
}

// Which side of the edge a listener faces (DESIGN.md): partners, or the enterprise's proxies.
enum class Side : std::uint8_t { External, Internal };
std::string_view sideName(Side s);  // "external", "internal"

class Address {
 public:
  Address() = default;
  static Address v4(std::uint32_t host_order, std::uint16_t port);
  static Address v6(const std::array<std::uint8_t, 16>& bytes, std::uint16_t port);
  // "192.0.2.1", "::1", "[::1]" (no port).
  static std::optional<Address> parseIp(std::string_view text, std::uint16_t port);
  // "192.0.2.1:5060", "[::1]:5061"; a missing port is an error.
  static std::optional<Address> parseHostPort(std::string_view text);

  bool isV6() const { return v6_; }
  std::uint16_t port() const { return port_; }
  void setPort(std::uint16_t port) { port_ = port; }
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }  // v4: first 4 bytes
  bool isUnspecified() const;
  bool isLoopback() const;

  std::string ip() const;        // "192.0.2.1", "::1"
  std::string ipForUri() const;  // "192.0.2.1", "[::1]"
  std::string toString() const;  // "192.0.2.1:5060", "[::1]:5060"
  Address withoutPort() const { return Address(bytes_, v6_, 0); }

  bool operator==(const Address&) const = default;
  std::size_t hash() const;

 private:
  Address(const std::array<std::uint8_t, 16>& b, bool v6, std::uint16_t port)
      : bytes_(b), v6_(v6), port_(port) {}
  std::array<std::uint8_t, 16> bytes_{};
  bool v6_ = false;
  std::uint16_t port_ = 0;
};

struct Endpoint {
  Address address;
  Transport transport = Transport::Udp;
  bool operator==(const Endpoint&) const = default;
  std::string toString() const;  // "TLS 192.0.2.1:5061"
};

}  // namespace sipedge::transport

template <>
struct std::hash<sipedge::transport::Address> {
  std::size_t operator()(const sipedge::transport::Address& a) const noexcept { return a.hash(); }
};
