#pragma once

// Small string helpers shared by the pure modules. ASCII only: SIP's case-insensitive tokens are
// ASCII by grammar (RFC 3261 7.3.1, 19.1.4).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace sipedge {

// Heterogeneous lookup (find(string_view)) in unordered containers keyed by std::string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

constexpr char asciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool asciiAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    // Equal bytes, or the same letter in the other case (which differ in bit 0x20 only).
    const unsigned diff = static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
    if (diff != 0 && (diff != 0x20 || !asciiAlpha(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string toLower(std::string_view s);

// Trims SP and HTAB (and CR/LF, which only appear in values before unfolding) on both sides.
constexpr std::string_view trimWs(std::string_view s) {
  auto isWs = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && isWs(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isWs(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Parses a non-empty run of decimal digits into an unsigned value; nullopt on any non-digit or
// on overflow past `max`.
std::optional<std::uint64_t> parseDecimal(std::string_view s, std::uint64_t max);

// Appends `v` in decimal, or in lower-case hexadecimal with at least `min_digits` digits (zeros in
// front). For the hot paths that build SIP text, where fmt::format's parsing of its format string
// shows in profiles.
void appendDecimal(std::string& out, std::uint64_t v);
void appendHex(std::string& out, std::uint64_t v, int min_digits = 1);

// Decodes %HH escapes. Returns nullopt for a malformed escape.
std::optional<std::string> percentDecode(std::string_view s);

}  // namespace sipedge
