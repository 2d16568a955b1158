#include "sipedge/config/values.h"

#include <arpa/inet.h>

#include <cstring>
#include <limits>
#include <optional>

#include "sipedge/base/strings.h"

namespace sipedge::config {
namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Error expected(std::string_view what, std::string_view got) {
  return Error{"expected " + std::string(what) + ", got " + quoted(got)};
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Splits a leading run of digits from the rest.
std::pair<std::string_view, std::string_view> splitNumber(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && isDigit(s[i])) {
    ++i;
  }
  return {s.substr(0, i), s.substr(i)};
}

struct IpLiteral {
  std::array<std::uint8_t, 16> bytes{};
  bool ipv6 = false;
  std::string text;  // canonical
};

std::optional<IpLiteral> parseIp(std::string_view s) {
  if (s.empty() || s.size() > 45 || s.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string z(s);
  IpLiteral ip;
  char buf[INET6_ADDRSTRLEN] = {};
  if (z.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, z.c_str(), ip.bytes.data()) != 1) {
      return std::nullopt;
    }
    ip.ipv6 = true;
    if (inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf) == nullptr) {
      return std::nullopt;
    }
  } else {
    if (inet_pton(AF_INET, z.c_str(), ip.bytes.data()) != 1) {
      return std::nullopt;
    }
    if (inet_ntop(AF_INET, ip.bytes.data(), buf, sizeof buf) == nullptr) {
      return std::nullopt;
    }
  }
  ip.text = buf;
  return ip;
}

std::optional<std::uint16_t> parsePort(std::string_view s) {
  auto v = parseDecimal(s, 65535);
  if (!v || s.size() > 5) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

}  // namespace

Result<Duration> parseDuration(std::string_view text) {
  static constexpr std::string_view kWhat = R"(a duration like "30s", "500ms" or "10m")";
  auto [digits, unit] = splitNumber(text);
  if (digits.empty() || digits.size() > 12) {
    return fail(expected(kWhat, text));
  }
  std::int64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60 * 1000;
  } else if (unit == "h") {
    factor = 60 * 60 * 1000;
  } else {
    return fail(expected(kWhat, text));
  }
  auto n = parseDecimal(digits, 999999999999ULL);
  if (!n) {
    return fail(expected(kWhat, text));
  }
  return Duration{static_cast<std::int64_t>(*n) * factor};
}

Result<std::uint64_t> parseSize(std::string_view text) {
  static constexpr std::string_view kWhat = R"(a size like "512", "64KiB" or "1MiB")";
  auto [digits, unit] = splitNumber(text);
  if (digits.empty() || digits.size() > 15) {
    return fail(expected(kWhat, text));
  }
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "KiB") {
    factor = 1ULL << 10;
  } else if (unit == "MiB") {
    factor = 1ULL << 20;
  } else if (unit == "GiB") {
    factor = 1ULL << 30;
  } else {
    return fail(expected(kWhat, text));
  }
  auto n = parseDecimal(digits, 999999999999999ULL);
  if (!n || *n > std::numeric_limits<std::uint64_t>::max() / factor) {
    return fail(expected(kWhat, text));
  }
  return *n * factor;
}

std::string toString(const SocketAddress& address) {
  std::string out = address.ipv6 ? "[" + address.ip + "]" : address.ip;
  return out + ":" + std::to_string(address.port);
}

Result<SocketAddress> parseSocketAddress(std::string_view text) {
  static constexpr std::string_view kWhat =
      R"(an address like "192.0.2.1:5060" or "[2001:db8::1]:5061")";
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(expected(kWhat, text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) {
      return fail(expected(kWhat, text));
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(expected(kWhat, text));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail(Error{"expected " + std::string(kWhat) + " (IPv6 addresses in brackets), got " +
                        quoted(text)});
    }
  }
  auto ip = parseIp(host);
  auto p = parsePort(port);
  if (!ip) {
    return fail(expected(kWhat, text));
  }
  if (!p) {
    return fail(Error{"expected a port from 0 to 65535 in " + quoted(text)});
  }
  return SocketAddress{ip->text, *p, ip->ipv6};
}

Result<SocketAddress> parseServerAddress(std::string_view text, std::uint16_t default_port) {
  static constexpr std::string_view kWhat =
      R"(a server address like "192.0.2.53", "192.0.2.53:5353" or "[2001:db8::53]:53")";
  if (!text.empty() && text.front() != '[') {
    // A bare IP (v4, or v6 without brackets): no port.
    if (auto ip = parseIp(text)) {
      return SocketAddress{ip->text, default_port, ip->ipv6};
    }
  }
  auto parsed = parseSocketAddress(text);
  if (!parsed) {
    return fail(expected(kWhat, text));
  }
  return parsed;
}

Result<Cidr> parseCidr(std::string_view text) {
  static constexpr std::string_view kWhat = R"(a network like "192.0.2.0/24" or "2001:db8::/32")";
  const auto slash = text.find('/');
  auto ip = parseIp(text.substr(0, slash));
  if (!ip) {
    return fail(expected(kWhat, text));
  }
  const unsigned max = ip->ipv6 ? 128 : 32;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    auto n = parseDecimal(digits, max);
    if (!n || digits.size() > 3) {
      return fail(Error{"expected a prefix length from 0 to " + std::to_string(max) + " in " +
                        quoted(text)});
    }
    prefix = static_cast<unsigned>(*n);
  }
  Cidr cidr{ip->bytes, ip->ipv6, prefix};
  // Bits past the prefix must be zero.
  Cidr masked = cidr;
  for (unsigned bit = prefix; bit < max; ++bit) {
    masked.address[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (!(masked == cidr)) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(ip->ipv6 ? AF_INET6 : AF_INET, masked.address.data(), buf, sizeof buf);
    return fail(Error{quoted(text) + " has bits set past the prefix; did you mean \"" +
                      std::string(buf) + "/" + std::to_string(prefix) + "\"?"});
  }
  return cidr;
}

Result<std::string> parseCountryCode(std::string_view text) {
  if (text.size() != 2 || !asciiAlpha(text[0]) || !asciiAlpha(text[1])) {
    return fail(expected(R"(an ISO 3166 alpha-2 country code like "DE" or "US")", text));
  }
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

Result<std::string> parseDomainName(std::string_view text) {
  static constexpr std::string_view kWhat = R"(a domain name like "example.com")";
  std::string_view s = text;
  if (!s.empty() && s.back() == '.') {
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 253) {
    return fail(expected(kWhat, text));
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-') {
        return fail(expected(kWhat, text));
      }
      label = 0;
      continue;
    }
    const char c = s[i];
    if (!asciiAlpha(c) && !isDigit(c) && c != '-') {
      return fail(expected(kWhat, text));
    }
    ++label;
  }
  // An all-numeric last label would be an IPv4 address or a typo of one.
  const auto last = s.substr(s.rfind('.') == std::string_view::npos ? 0 : s.rfind('.') + 1);
  if (splitNumber(last).second.empty()) {
    return fail(expected(kWhat, text));
  }
  return toLower(s);
}

}  // namespace sipedge::config
