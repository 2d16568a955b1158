#include "sipedge/base/strings.h"

#include <charconv>

namespace sipedge {

void appendDecimal(std::string& out, std::uint64_t v) {
  char buf[20];  // 2^64 - 1 has 20 digits
  char* end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void appendHex(std::string& out, std::uint64_t v, int min_digits) {
  char buf[16];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  } while ((v != 0 || n < min_digits) && n < 16);
  while (n > 0) {
    out.push_back(buf[--n]);
  }
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = asciiLower(c);
  }
  return out;
}

std::optional<std::uint64_t> parseDecimal(std::string_view s, std::uint64_t max) {
  if (s.empty()) {
    return std::nullopt;
  }
  std::size_t i = 0;
  while (i + 1 < s.size() && s[i] == '0') {
    ++i;  // leading zeros ("0068") do not count towards the digit limit
  }
  if (s.size() - i > 19) {
    // Still reject non-digits before reporting overflow.
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
  std::uint64_t v = 0;  // 19 digits cannot overflow 64 bits
  for (; i < s.size(); ++i) {
    const auto d = static_cast<unsigned>(s[i] - '0');
    if (d > 9) {
      return std::nullopt;
    }
    v = v * 10 + d;
  }
  if (v > max) {
    return std::nullopt;
  }
  return v;
}

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = asciiLower(c);
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}
}  // namespace

std::optional<std::string> percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) {
      return std::nullopt;
    }
    const int hi = hexValue(s[i + 1]);
    const int lo = hexValue(s[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace sipedge
