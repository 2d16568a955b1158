#pragma once

// Pure parsers for the value shapes the configuration uses (durations, sizes, addresses, CIDRs,
// country codes, domain names). Each returns a Result whose error message says what was expected
// and what was found, ready to follow "PATH: " in a ConfigError.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipedge/base/result.h"

namespace sipedge::config {

using Duration = std::chrono::milliseconds;

// "500ms", "30s", "10m", "1h": a decimal integer and one unit (ms, s, m, h), nothing else.
[[nodiscard]] Result<Duration> parseDuration(std::string_view text);

// "512", "512B", "64KiB", "1MiB", "1GiB": a decimal integer and an optional binary unit.
// Decimal units (KB, MB) are refused as ambiguous.
[[nodiscard]] Result<std::uint64_t> parseSize(std::string_view text);

// An IP literal and a port. `ip` is in canonical text form, without brackets.
struct SocketAddress {
  std::string ip;
  std::uint16_t port = 0;
  bool ipv6 = false;
  bool operator==(const SocketAddress&) const = default;
};
// "192.0.2.1:5060" or "[2001:db8::1]:5061".
std::string toString(const SocketAddress& address);

// "IP:PORT" with IPv6 in brackets; the port is required (0 allowed: the kernel picks).
[[nodiscard]] Result<SocketAddress> parseSocketAddress(std::string_view text);
// "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 literal; `default_port` when the port is absent.
[[nodiscard]] Result<SocketAddress> parseServerAddress(std::string_view text,
                                                       std::uint16_t default_port);

// "192.0.2.0/24", "2001:db8::/32"; a bare address is a host route (/32 or /128). Bits set past the
// prefix are an error (the message suggests the network address).
struct Cidr {
  std::array<std::uint8_t, 16> address{};  // IPv4 uses the first 4 bytes
  bool ipv6 = false;
  unsigned prefix = 0;
  bool operator==(const Cidr&) const = default;
};
[[nodiscard]] Result<Cidr> parseCidr(std::string_view text);

// The shape of an ISO 3166-1 alpha-2 code: two ASCII letters. Returned in upper case. (Whether
// the code is assigned is not checked.)
[[nodiscard]] Result<std::string> parseCountryCode(std::string_view text);

// A DNS host name (RFC 1123 labels: letters, digits, '-', not at a label's ends; at most 63
// bytes per label and 253 in all; a trailing dot is dropped). Returned in lower case.
[[nodiscard]] Result<std::string> parseDomainName(std::string_view text);

}  // namespace sipedge::config
