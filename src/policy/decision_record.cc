// The decision log's JSON line, written and read by hand (no JSON library): one fixed key order
// on output, any key order on input, and byte offsets in every parse error.
//
// Text handling, both ways:
// - Output escapes '"', '\\' and the control characters below 0x20 (\n, \r, \t, \b, \f, other
//   ones as \u00XX); DEL and valid UTF-8 pass through unchanged.
// - A byte that is not part of valid UTF-8 (a stray continuation byte, a truncated sequence, an
//   overlong form, a surrogate, a code point past U+10FFFF) becomes U+FFFD, one per byte, on
//   output and on input alike, and so does a \u escape naming a lone surrogate. Every string
//   parseJsonLine() returns is therefore valid UTF-8, which toJsonLine() writes back unchanged:
//   toJsonLine(parseJsonLine(x)) parses back to the same record (the fuzz target checks it).

#include "sipedge/policy/decision_record.h"

#include <array>
#include <charconv>
#include <cstring>

namespace sipedge::policy {

namespace {

constexpr std::size_t kMaxLineBytes = 1 << 20;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence starting at s[i] (s[i] >= 0x80), or 0 when the byte
// does not start one (RFC 3629's table: no overlongs, no surrogates, nothing past U+10FFFF).
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
    return i + k < s.size() && b(k) >= lo && b(k) <= hi;
  };
  const unsigned c = b(0);
  if (c >= 0xC2 && c <= 0xDF) {
    return cont(1, 0x80, 0xBF) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// Appends the UTF-8 sequence at s[i] (a byte >= 0x80), or U+FFFD for an invalid byte; returns the
// index after what it consumed.
std::size_t appendUtf8(std::string& out, std::string_view s, std::size_t i) {
  const std::size_t n = utf8SequenceLength(s, i);
  if (n == 0) {
    out.append(kReplacement);
    return i + 1;
  }
  out.append(s.data() + i, n);
  return i + n;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Whether a byte needs more than a plain copy on output.
constexpr std::array<bool, 256> kSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  }
  return t;
}();

// The index of the first byte at or after `i` that kSpecial flags, or s.size(). Eight bytes at a
// time: a word with no '"', no '\\', no byte below 0x20 and none from 0x80 is copied as it is
// (a flagged word is looked at byte by byte; the test has false positives, never false negatives).
std::size_t plainRun(std::string_view s, std::size_t i) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  while (i + 8 <= s.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, s.data() + i, 8);
    const std::uint64_t quote = w ^ (kOnes * '"');
    const std::uint64_t backslash = w ^ (kOnes * '\\');
    const std::uint64_t flagged =
        ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | (w - kOnes * 0x20) | w;
    if ((flagged & kHighs) != 0) {
      for (std::size_t k = i; k < i + 8; ++k) {
        if (kSpecial[static_cast<unsigned char>(s[k])]) {
          return k;
        }
      }
    }
    i += 8;
  }
  while (i < s.size() && !kSpecial[static_cast<unsigned char>(s[i])]) {
    ++i;
  }
  return i;
}

void appendString(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t run = plainRun(s, i);
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) {
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      i = appendUtf8(out, s, i);
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        constexpr char kHex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, 6);
      }
    }
    ++i;
  }
  out.push_back('"');
}

void appendKey(std::string& out, std::string_view key) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

// ---- time ----------------------------------------------------------------------------------

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, any year).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

constexpr std::int64_t kMsPerDay = 86400000;
// The range formatTime() can write with a four-digit year.
const std::int64_t kMinTimeMs = daysFromCivil(0, 1, 1) * kMsPerDay;
const std::int64_t kMaxTimeMs = daysFromCivil(10000, 1, 1) * kMsPerDay - 1;

void put(char* p, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

bool parseTimeAt(std::string_view t, std::int64_t& out, std::size_t& err_at,
                 std::string_view& err) {
  const auto bad = [&](std::size_t at, std::string_view what) {
    err_at = at;
    err = what;
    return false;
  };
  const auto digits = [&](std::size_t at, std::size_t n, unsigned& out) {
    if (at + n > t.size()) {
      return false;
    }
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') {
        return false;
      }
      out = out * 10 + static_cast<unsigned>(t[i] - '0');
    }
    return true;
  };
  unsigned year = 0;
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  if (!digits(0, 4, year) || t.size() < 5 || t[4] != '-') {
    return bad(0, "expected YYYY-");
  }
  if (!digits(5, 2, month) || month < 1 || month > 12 || t.size() < 8 || t[7] != '-') {
    return bad(5, "expected a month 01-12 then '-'");
  }
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const unsigned month_days = month == 2 && !leap ? 28 : kDays[month - 1];
  if (!digits(8, 2, day) || day < 1 || day > month_days) {
    return bad(8, "expected a day of that month");
  }
  if (t.size() < 11 || (t[10] != 'T' && t[10] != 't' && t[10] != ' ')) {
    return bad(10, "expected 'T'");
  }
  if (!digits(11, 2, hour) || hour > 23 || t.size() < 14 || t[13] != ':') {
    return bad(11, "expected an hour 00-23 then ':'");
  }
  if (!digits(14, 2, minute) || minute > 59 || t.size() < 17 || t[16] != ':') {
    return bad(14, "expected minutes 00-59 then ':'");
  }
  if (!digits(17, 2, second) || second > 60) {
    return bad(17, "expected seconds 00-60");
  }
  std::size_t p = 19;
  unsigned ms = 0;
  if (p < t.size() && t[p] == '.') {
    ++p;
    const std::size_t start = p;
    while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
      if (p - start < 3) {
        ms = ms * 10 + static_cast<unsigned>(t[p] - '0');
      }
      ++p;
    }
    if (p == start) {
      return bad(p, "expected digits after '.'");
    }
    for (std::size_t n = p - start; n < 3; ++n) {
      ms *= 10;
    }
  }
  std::int64_t offset_min = 0;
  if (p < t.size() && (t[p] == 'Z' || t[p] == 'z')) {
    ++p;
  } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
    unsigned oh = 0;
    unsigned om = 0;
    if (!digits(p + 1, 2, oh) || oh > 23 || p + 3 >= t.size() || t[p + 3] != ':' ||
        !digits(p + 4, 2, om) || om > 59) {
      return bad(p, "expected an offset +HH:MM");
    }
    offset_min = static_cast<std::int64_t>(oh * 60 + om) * (t[p] == '+' ? 1 : -1);
    p += 6;
  } else {
    return bad(p, "expected 'Z' or an offset +HH:MM");
  }
  if (p != t.size()) {
    return bad(p, "unexpected text after the time");
  }
  const std::int64_t days = daysFromCivil(year, month, day);
  const std::int64_t ms_total =
      days * kMsPerDay +
      (static_cast<std::int64_t>(hour) * 3600 + minute * 60 + second - offset_min * 60) * 1000 + ms;
  if (ms_total < kMinTimeMs || ms_total > kMaxTimeMs) {
    return bad(0, "time out of range (years 0000-9999 in UTC)");
  }
  out = ms_total;
  return true;
}

// ---- parsing -------------------------------------------------------------------------------

class Parser {
 public:
  Parser(std::string_view text, DecisionRecord& record) : s_(text), r_(record) {}

  Result<void, std::string> parse();

 private:
  Result<void, std::string> error(std::size_t at, std::string_view what) {
    std::string msg = "at byte " + std::to_string(at) + ": ";
    msg.append(what);
    return fail(std::move(msg));
  }
  void skipSpace() {
    while (p_ < s_.size() &&
           (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) {
      ++p_;
    }
  }
  bool parseString(std::string& out);  // at '"'; error_ set on failure
  bool parseStringArray(std::vector<std::string>& out);
  bool parseInt(int& out);
  bool skipValue();

  std::string_view s_;
  DecisionRecord& r_;
  std::size_t p_ = 0;
  std::size_t err_at_ = 0;
  std::string_view err_;
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool Parser::parseString(std::string& out) {
  if (p_ >= s_.size() || s_[p_] != '"') {
    err_at_ = p_;
    err_ = "expected a string";
    return false;
  }
  ++p_;
  out.clear();
  while (true) {
    const std::size_t run = plainRun(s_, p_);
    out.append(s_.data() + p_, run - p_);
    p_ = run;
    if (p_ >= s_.size()) {
      err_at_ = p_;
      err_ = "unterminated string";
      return false;
    }
    const auto c = static_cast<unsigned char>(s_[p_]);
    if (c == '"') {
      ++p_;
      return true;
    }
    if (c < 0x20) {
      err_at_ = p_;
      err_ = "control character in a string (must be escaped)";
      return false;
    }
    if (c >= 0x80) {
      p_ = appendUtf8(out, s_, p_);
      continue;
    }
    // Backslash.
    if (p_ + 1 >= s_.size()) {
      err_at_ = p_;
      err_ = "unterminated string";
      return false;
    }
    const char e = s_[p_ + 1];
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        const auto hex4 = [&](std::size_t at, std::uint32_t& v) {
          if (at + 4 > s_.size()) {
            return false;
          }
          v = 0;
          for (std::size_t k = 0; k < 4; ++k) {
            const int h = hexValue(s_[at + k]);
            if (h < 0) {
              return false;
            }
            v = v * 16 + static_cast<std::uint32_t>(h);
          }
          return true;
        };
        std::uint32_t cp = 0;
        if (!hex4(p_ + 2, cp)) {
          err_at_ = p_;
          err_ = "bad \\u escape (expected four hex digits)";
          return false;
        }
        p_ += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t low = 0;
          if (p_ + 1 < s_.size() && s_[p_] == '\\' && s_[p_ + 1] == 'u' && hex4(p_ + 2, low) &&
              low >= 0xDC00 && low <= 0xDFFF) {
            p_ += 6;
            appendUtf8(out, 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
          } else {
            out.append(kReplacement);  // a lone high surrogate
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          out.append(kReplacement);  // a lone low surrogate
        } else {
          appendUtf8(out, cp);
        }
        continue;
      }
      default:
        err_at_ = p_;
        err_ = "bad escape in a string";
        return false;
    }
    p_ += 2;
  }
}

bool Parser::parseStringArray(std::vector<std::string>& out) {
  if (p_ >= s_.size() || s_[p_] != '[') {
    err_at_ = p_;
    err_ = "expected an array of strings";
    return false;
  }
  ++p_;
  std::size_t n = 0;  // the elements' storage is reused from the previous line
  skipSpace();
  if (p_ < s_.size() && s_[p_] == ']') {
    ++p_;
    out.clear();
    return true;
  }
  while (true) {
    skipSpace();
    if (n == out.size()) {
      out.emplace_back();
    }
    if (!parseString(out[n])) {
      return false;
    }
    ++n;
    skipSpace();
    if (p_ < s_.size() && s_[p_] == ',') {
      ++p_;
      continue;
    }
    if (p_ < s_.size() && s_[p_] == ']') {
      ++p_;
      out.resize(n);
      return true;
    }
    err_at_ = p_;
    err_ = "expected ',' or ']' in an array";
    return false;
  }
}

bool Parser::parseInt(int& out) {
  const std::size_t start = p_;
  if (p_ < s_.size() && s_[p_] == '-') {
    ++p_;
  }
  const std::size_t digits = p_;
  while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
    ++p_;
  }
  const bool leading_zero = p_ - digits > 1 && s_[digits] == '0';
  if (p_ == digits || leading_zero ||
      (p_ < s_.size() && (s_[p_] == '.' || s_[p_] == 'e' || s_[p_] == 'E'))) {
    err_at_ = start;
    err_ = "expected an integer";
    return false;
  }
  const auto [ptr, ec] = std::from_chars(s_.data() + start, s_.data() + p_, out);
  if (ec != std::errc() || ptr != s_.data() + p_) {
    err_at_ = start;
    err_ = "integer out of range";
    return false;
  }
  return true;
}

// Skips one JSON value of any type (a newer writer's key), without recursion: `open` holds the
// brackets still open ('{' or '[').
bool Parser::skipValue() {
  std::string open;
  std::string scratch;
  const auto fail_at = [&](std::string_view what) {
    err_at_ = p_;
    err_ = what;
    return false;
  };
  while (true) {
    // A value.
    skipSpace();
    if (p_ >= s_.size()) {
      return fail_at("unexpected end of line in a value");
    }
    const char c = s_[p_];
    if (c == '"') {
      if (!parseString(scratch)) {
        return false;
      }
    } else if (c == '{' || c == '[') {
      open.push_back(c);
      ++p_;
      skipSpace();
      const char close = c == '{' ? '}' : ']';
      if (p_ < s_.size() && s_[p_] == close) {
        ++p_;
        open.pop_back();
      } else {
        if (c == '{') {
          if (!parseString(scratch)) {
            return false;
          }
          skipSpace();
          if (p_ >= s_.size() || s_[p_] != ':') {
            return fail_at("expected ':'");
          }
          ++p_;
        }
        continue;  // the first element
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const std::size_t start = p_;
      ++p_;
      while (p_ < s_.size() && ((s_[p_] >= '0' && s_[p_] <= '9') || s_[p_] == '.' ||
                                s_[p_] == 'e' || s_[p_] == 'E' || s_[p_] == '+' || s_[p_] == '-')) {
        ++p_;
      }
      double ignored = 0;
      const auto [ptr, ec] = std::from_chars(s_.data() + start, s_.data() + p_, ignored);
      if (ptr != s_.data() + p_ || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        err_at_ = start;
        err_ = "bad number";
        return false;
      }
    } else if (s_.substr(p_, 4) == "true" || s_.substr(p_, 4) == "null") {
      p_ += 4;
    } else if (s_.substr(p_, 5) == "false") {
      p_ += 5;
    } else {
      return fail_at("expected a value");
    }
    // After a complete value: close containers, or go on to the next element.
    while (true) {
      if (open.empty()) {
        return true;
      }
      skipSpace();
      const char close = open.back() == '{' ? '}' : ']';
      if (p_ < s_.size() && s_[p_] == close) {
        ++p_;
        open.pop_back();
        continue;
      }
      if (p_ >= s_.size() || s_[p_] != ',') {
        return fail_at(close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
      }
      ++p_;
      if (open.back() == '{') {
        skipSpace();
        if (!parseString(scratch)) {
          return false;
        }
        skipSpace();
        if (p_ >= s_.size() || s_[p_] != ':') {
          return fail_at("expected ':'");
        }
        ++p_;
      }
      break;
    }
  }
}

enum class Key : std::uint8_t {
  Unknown,
  Time,
  Id,
  Verdict,
  Status,
  Reason,
  Rule,
  Partner,
  Direction,
  Transport,
  Src,
  CertSubject,
  CertSans,
  CertFingerprint,
  Country,
  Method,
  CallId,
  From,
  To,
  Ruri,
  Mapped
};

constexpr std::pair<std::string_view, Key> kKeys[] = {
    {"time", Key::Time},
    {"id", Key::Id},
    {"verdict", Key::Verdict},
    {"status", Key::Status},
    {"reason", Key::Reason},
    {"rule", Key::Rule},
    {"partner", Key::Partner},
    {"direction", Key::Direction},
    {"transport", Key::Transport},
    {"src", Key::Src},
    {"cert_subject", Key::CertSubject},
    {"cert_sans", Key::CertSans},
    {"cert_fingerprint", Key::CertFingerprint},
    {"country", Key::Country},
    {"method", Key::Method},
    {"call_id", Key::CallId},
    {"from", Key::From},
    {"to", Key::To},
    {"ruri", Key::Ruri},
    {"mapped", Key::Mapped},
};
constexpr std::size_t kKeyCount = sizeof kKeys / sizeof kKeys[0];

// `hint`: where the writer's order puts the next key (checked first), updated.
Key keyOf(std::string_view k, std::size_t& hint) {
  if (hint < kKeyCount && kKeys[hint].first == k) {
    return kKeys[hint++].second;
  }
  for (std::size_t i = 0; i < kKeyCount; ++i) {
    if (kKeys[i].first == k) {
      hint = i + 1;
      return kKeys[i].second;
    }
  }
  return Key::Unknown;
}

std::string* stringField(DecisionRecord& r, Key k) {
  switch (k) {
    case Key::Id: return &r.id;
    case Key::Verdict: return &r.verdict;
    case Key::Reason: return &r.reason;
    case Key::Rule: return &r.rule;
    case Key::Partner: return &r.partner;
    case Key::Direction: return &r.direction;
    case Key::Transport: return &r.transport;
    case Key::Src: return &r.src;
    case Key::CertSubject: return &r.cert_subject;
    case Key::CertFingerprint: return &r.cert_fingerprint;
    case Key::Country: return &r.country;
    case Key::Method: return &r.method;
    case Key::CallId: return &r.call_id;
    case Key::From: return &r.from;
    case Key::To: return &r.to;
    case Key::Ruri: return &r.ruri;
    case Key::Mapped: return &r.mapped;
    default: return nullptr;
  }
}

Result<void, std::string> Parser::parse() {
  if (s_.size() > kMaxLineBytes) {
    return error(kMaxLineBytes, "line longer than 1 MiB");
  }
  // Reset, keeping the strings' storage (a reader parses millions of lines into one record).
  DecisionRecord& r = r_;
  r.time_ms = 0;
  r.status = 0;
  for (std::size_t i = 0; i < kKeyCount; ++i) {
    if (std::string* f = stringField(r, kKeys[i].second)) {
      f->clear();
    }
  }
  r.cert_sans.clear();
  std::size_t hint = 0;
  bool have_time = false;
  skipSpace();
  if (p_ >= s_.size() || s_[p_] != '{') {
    return error(p_, "expected '{'");
  }
  ++p_;
  skipSpace();
  std::string key;
  std::string value;
  if (p_ < s_.size() && s_[p_] == '}') {
    ++p_;
  } else {
    while (true) {
      skipSpace();
      const std::size_t key_at = p_;
      if (!parseString(key)) {
        return error(err_at_, s_.substr(key_at, 1) == "\"" ? err_ : "expected a key (a string)");
      }
      skipSpace();
      if (p_ >= s_.size() || s_[p_] != ':') {
        return error(p_, "expected ':' after a key");
      }
      ++p_;
      skipSpace();
      const Key k = keyOf(key, hint);
      const std::size_t value_at = p_;
      bool ok = true;
      if (k == Key::Unknown) {
        ok = skipValue();
      } else if (k == Key::Status) {
        ok = parseInt(r.status);
      } else if (k == Key::CertSans) {
        ok = parseStringArray(r.cert_sans);
      } else if (k == Key::Time) {
        ok = parseString(value);
        if (ok) {
          std::size_t at = 0;
          std::string_view what;
          if (!parseTimeAt(value, r.time_ms, at, what)) {
            // The offset is exact when the string holds no escapes (as the writer writes it).
            return error(value_at + 1 + at, "\"time\": " + std::string(what));
          }
          have_time = true;
        }
      } else {
        ok = parseString(*stringField(r, k));
      }
      if (!ok) {
        return error(err_at_, "\"" + key + "\": " + std::string(err_));
      }
      skipSpace();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (p_ < s_.size() && s_[p_] == '}') {
        ++p_;
        break;
      }
      return error(p_, "expected ',' or '}'");
    }
  }
  skipSpace();
  if (p_ != s_.size()) {
    return error(p_, "unexpected text after the object");
  }
  if (!have_time) {
    return error(0, "no \"time\" key");
  }
  return {};
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  appendString(out, s);
}

std::string toJsonLine(const DecisionRecord& r) {
  std::string out;
  out.reserve(256 + r.call_id.size() + r.from.size() + r.to.size() + r.ruri.size() +
              r.cert_subject.size() + r.cert_fingerprint.size());
  out.append("{\"time\":\"");
  out.append(formatTime(r.time_ms));
  out.append("\",");
  const auto field = [&](std::string_view key, std::string_view value) {
    appendKey(out, key);
    appendString(out, value);
    out.push_back(',');
  };
  field("id", r.id);
  field("verdict", r.verdict);
  appendKey(out, "status");
  char num[16];
  const auto [end, ec] = std::to_chars(num, num + sizeof num, r.status);
  (void)ec;
  out.append(num, end);
  out.push_back(',');
  field("reason", r.reason);
  field("rule", r.rule);
  field("partner", r.partner);
  field("direction", r.direction);
  field("transport", r.transport);
  field("src", r.src);
  field("cert_subject", r.cert_subject);
  appendKey(out, "cert_sans");
  out.push_back('[');
  for (std::size_t i = 0; i < r.cert_sans.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    appendString(out, r.cert_sans[i]);
  }
  out.append("],");
  field("cert_fingerprint", r.cert_fingerprint);
  field("country", r.country);
  field("method", r.method);
  field("call_id", r.call_id);
  field("from", r.from);
  field("to", r.to);
  field("ruri", r.ruri);
  appendKey(out, "mapped");
  appendString(out, r.mapped);
  out.append("}\n");
  return out;
}

Result<DecisionRecord, std::string> parseJsonLine(std::string_view line) {
  DecisionRecord record;
  auto parsed = parseJsonLine(line, record);
  if (!parsed) {
    return fail(std::move(parsed.error()));
  }
  return record;
}

Result<void, std::string> parseJsonLine(std::string_view line, DecisionRecord& record) {
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  return Parser(line, record).parse();
}

std::string formatTime(std::int64_t unix_ms) {
  // Clamped to what a four-digit year can say.
  if (unix_ms < kMinTimeMs) {
    unix_ms = kMinTimeMs;
  } else if (unix_ms > kMaxTimeMs) {
    unix_ms = kMaxTimeMs;
  }
  std::int64_t days = unix_ms / kMsPerDay;
  std::int64_t rem = unix_ms % kMsPerDay;
  if (rem < 0) {
    rem += kMsPerDay;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civilFromDays(days, y, m, d);
  const auto ms = static_cast<unsigned>(rem % 1000);
  const auto secs = static_cast<unsigned>(rem / 1000);
  char buf[24];
  put(buf, static_cast<unsigned>(y), 4);
  buf[4] = '-';
  put(buf + 5, m, 2);
  buf[7] = '-';
  put(buf + 8, d, 2);
  buf[10] = 'T';
  put(buf + 11, secs / 3600, 2);
  buf[13] = ':';
  put(buf + 14, secs / 60 % 60, 2);
  buf[16] = ':';
  put(buf + 17, secs % 60, 2);
  buf[19] = '.';
  put(buf + 20, ms, 3);
  buf[23] = 'Z';
  return std::string(buf, sizeof buf);
}

Result<std::int64_t, std::string> parseTime(std::string_view text) {
  std::int64_t ms = 0;
  std::size_t at = 0;
  std::string_view what;
  if (!parseTimeAt(text, ms, at, what)) {
    return fail("at byte " + std::to_string(at) + ": " + std::string(what));
  }
  return ms;
}

}  // namespace sipedge::policy
