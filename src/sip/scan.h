#pragma once

// Character classes of RFC 3261 25.1 as one constexpr table, and small scanning helpers shared by
// the sip parsers. Private to src/sip.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "sipedge/sip/error.h"

namespace sipedge::sip::scan {

enum CharClass : std::uint16_t {
  kAlnum = 1 << 0,
  kMark = 1 << 1,             // - _ . ! ~ * ' ( )
  kUserUnreserved = 1 << 2,   // & = + $ , ; ? /
  kParamUnreserved = 1 << 3,  // [ ] / : & + $
  kHnvUnreserved = 1 << 4,    // [ ] / ? : + $
  kTokenExtra = 1 << 5,       // - . ! % * _ + ` ' ~   (token = alnum + these)
  kWordExtra = 1 << 6,        // word adds ( ) < > : \ " / [ ] ? { }
  kPasswordExtra = 1 << 7,    // & = + $ ,
  kHex = 1 << 8,
  kWs = 1 << 9,  // SP HTAB
  kDigit = 1 << 10,
  kAlpha = 1 << 11,
  kParamValue = 1 << 12,  // gen-value without quotes: token / host (token + ':' '[' ']')
};

constexpr std::array<std::uint16_t, 256> makeTable() {
  std::array<std::uint16_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) {
    t[c] |= kAlnum | kHex | kDigit;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    t[c] |= kAlnum | kAlpha;
  }
  for (int c = 'A'; c <= 'Z'; ++c) {
    t[c] |= kAlnum | kAlpha;
  }
  for (int c = 'a'; c <= 'f'; ++c) {
    t[c] |= kHex;
  }
  for (int c = 'A'; c <= 'F'; ++c) {
    t[c] |= kHex;
  }
  for (unsigned char c : std::string_view("-_.!~*'()")) {
    t[c] |= kMark;
  }
  for (unsigned char c : std::string_view("&=+$,;?/")) {
    t[c] |= kUserUnreserved;
  }
  for (unsigned char c : std::string_view("[]/:&+$")) {
    t[c] |= kParamUnreserved;
  }
  for (unsigned char c : std::string_view("[]/?:+$")) {
    t[c] |= kHnvUnreserved;
  }
  for (unsigned char c : std::string_view("-.!%*_+`'~")) {
    t[c] |= kTokenExtra;
  }
  for (unsigned char c : std::string_view("-.!%*_+`'~()<>:\\\"/[]?{}")) {
    t[c] |= kWordExtra;
  }
  for (unsigned char c : std::string_view("&=+$,")) {
    t[c] |= kPasswordExtra;
  }
  for (int c = 0; c < 256; ++c) {
    if ((t[c] & (kAlnum | kTokenExtra)) != 0) {
      t[c] |= kParamValue;
    }
  }
  t[':'] |= kParamValue;
  t['['] |= kParamValue;
  t[']'] |= kParamValue;
  t[' '] |= kWs;
  t['\t'] |= kWs;
  return t;
}

inline constexpr std::array<std::uint16_t, 256> kTable = makeTable();

constexpr bool is(char c, std::uint16_t mask) {
  return (kTable[static_cast<unsigned char>(c)] & mask) != 0;
}
constexpr bool isWs(char c) {
  return c == ' ' || c == '\t';
}
constexpr bool isToken(char c) {
  return is(c, kAlnum | kTokenExtra);
}
constexpr bool isHex(char c) {
  return is(c, kHex);
}

// Index of the first character at or after `pos` whose class is not in `mask`. Unrolled by four:
// these runs (tokens, parameter values, host labels) are where a parser spends its time.
constexpr std::size_t skipWhile(std::string_view s, std::size_t pos, std::uint16_t mask) {
  const std::size_t n = s.size();
  while (pos + 4 <= n) {
    if (!is(s[pos], mask)) {
      return pos;
    }
    if (!is(s[pos + 1], mask)) {
      return pos + 1;
    }
    if (!is(s[pos + 2], mask)) {
      return pos + 2;
    }
    if (!is(s[pos + 3], mask)) {
      return pos + 3;
    }
    pos += 4;
  }
  while (pos < n && is(s[pos], mask)) {
    ++pos;
  }
  return pos;
}

// Index of the first non-whitespace character at or after `pos`.
constexpr std::size_t skipWs(std::string_view s, std::size_t pos) {
  // Usually there is none: test one character before entering a loop.
  if (pos >= s.size() || !is(s[pos], kWs)) {
    return pos;
  }
  return skipWhile(s, pos + 1, kWs);
}

// Index past a run of token characters starting at `pos`.
constexpr std::size_t skipToken(std::string_view s, std::size_t pos) {
  return skipWhile(s, pos, kAlnum | kTokenExtra);
}

// Index past a run of gen-value characters (token / host) starting at `pos`.
constexpr std::size_t skipParamValue(std::string_view s, std::size_t pos) {
  return skipWhile(s, pos, kParamValue);
}

// Parses 1*DIGIT at s[pos...] into `value` if it is at most `max` (and at most 10 digits, which
// every SIP port, octet and counter fits); returns the index past the digits, or npos.
constexpr std::size_t parseSmallNumber(std::string_view s, std::size_t pos, std::uint32_t max,
                                       std::uint32_t& value) {
  const std::size_t start = pos;
  const std::size_t limit = std::min(s.size(), start + 10);
  std::uint64_t v = 0;
  while (pos < limit && s[pos] >= '0' && s[pos] <= '9') {
    v = v * 10 + static_cast<unsigned>(s[pos] - '0');
    ++pos;
  }
  if (pos == start || v > max || (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')) {
    return std::string_view::npos;  // no digits, too large, or more than 10 digits
  }
  value = static_cast<std::uint32_t>(v);
  return pos;
}

// Index past a run of characters in `mask` or %HH escapes; npos for a malformed escape.
constexpr std::size_t skipEscaped(std::string_view s, std::size_t pos, std::uint16_t mask) {
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '%') {
      if (pos + 2 >= s.size() || !isHex(s[pos + 1]) || !isHex(s[pos + 2])) {
        return std::string_view::npos;
      }
      pos += 3;
    } else if (is(c, mask)) {
      ++pos;
    } else {
      break;
    }
  }
  return pos;
}

// `pos` is at an opening quote; returns the index past the closing quote, or npos when the
// quoted-string is unterminated or holds a control character other than HTAB. quoted-pair
// escapes any char but CR/LF.
constexpr std::size_t skipQuoted(std::string_view s, std::size_t pos) {
  ++pos;
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '"') {
      return pos + 1;
    }
    if (c == '\\') {
      if (pos + 1 >= s.size() || s[pos + 1] == '\r' || s[pos + 1] == '\n') {
        return std::string_view::npos;
      }
      pos += 2;
      continue;
    }
    // qdtext (RFC 3261 25.1) has no control characters but HTAB; a quoted-pair may escape them.
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
      return std::string_view::npos;
    }
    ++pos;
  }
  return std::string_view::npos;
}

// Case-insensitive comparison with a keyword known at compile time (letters, digits and '-'),
// as 64-bit words: case is folded only in the keyword's letter positions, so the comparison is
// exact for any input. Keywords are at most 24 characters.
void keywordTooLong();

class Keyword {
 public:
  consteval explicit Keyword(std::string_view k) : size_(k.size()) {
    if (k.size() > 24) {
      keywordTooLong();  // not constexpr: a longer keyword fails to compile
    }
    for (std::size_t i = 0; i < k.size(); ++i) {
      const char c = k[i];
      const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const auto lower = static_cast<std::uint64_t>(letter ? (c | 0x20) : c);
      words_[i / 8] |= lower << (8 * (i % 8));
      if (letter) {
        fold_[i / 8] |= std::uint64_t{0x20} << (8 * (i % 8));
      }
    }
  }

  bool matches(std::string_view s) const {
    if (s.size() != size_) {
      return false;
    }
    for (std::size_t w = 0; w * 8 < size_; ++w) {
      std::uint64_t word = 0;
      std::memcpy(&word, s.data() + w * 8, std::min<std::size_t>(8, size_ - w * 8));
      if ((word | fold_[w]) != words_[w]) {
        return false;
      }
    }
    return true;
  }

  std::size_t size() const { return size_; }

 private:
  std::size_t size_;
  std::uint64_t words_[3] = {0, 0, 0};
  std::uint64_t fold_[3] = {0, 0, 0};
};

// Joins a folded header field (RFC 3261 7.3.1): each CRLF is dropped and the whitespace that
// follows it kept. A CR not followed by LF stays, so that value parsers reject it. The parser and
// the stream framer both use this, so they agree on every value (Content-Length above all).
inline std::string unfold(std::string_view folded) {
  std::string out;
  out.reserve(folded.size());
  for (std::size_t i = 0; i < folded.size(); ++i) {
    if (folded[i] == '\r' && i + 1 < folded.size() && folded[i + 1] == '\n') {
      ++i;
      continue;
    }
    out.push_back(folded[i]);
  }
  return out;
}

inline ParseError error(ParseErrorCode code, std::size_t offset, const char* detail) {
  ParseError e;
  e.code = code;
  e.offset = offset;
  e.detail = detail;
  return e;
}

}  // namespace sipedge::sip::scan
