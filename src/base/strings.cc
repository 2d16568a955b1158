#include "sipedge/base/strings.h"

namespace sipedge {

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = asciiLower(c);
  }
  return out;
}

std::string_view trimWs(std::string_view s) {
  auto isWs = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && isWs(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isWs(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<std::uint64_t> parseDecimal(std::string_view s, std::uint64_t max) {
  if (s.empty()) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
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
