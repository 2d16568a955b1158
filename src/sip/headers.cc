#include "sipedge/sip/headers.h"

#include <array>
#include <cstring>
#include <utility>

#include "scan.h"
#include "sipedge/base/strings.h"

namespace sipedge::sip {

namespace detail {
Result<std::size_t, ParseError> parseHostPort(std::string_view s, std::size_t pos,
                                              std::string_view& host, HostKind& kind,
                                              std::optional<std::uint16_t>& port, bool sws);
}  // namespace detail

namespace {

using scan::error;
constexpr auto npos = std::string_view::npos;

struct NameEntry {
  HeaderId id;
  std::string_view name;
  char compact;  // 0 when none
};

constexpr std::array<NameEntry, 42> kNames{{
    {HeaderId::Accept, "Accept", 0},
    {HeaderId::AcceptContact, "Accept-Contact", 'a'},
    {HeaderId::Allow, "Allow", 0},
    {HeaderId::AllowEvents, "Allow-Events", 'u'},
    {HeaderId::Authorization, "Authorization", 0},
    {HeaderId::CallId, "Call-ID", 'i'},
    {HeaderId::Contact, "Contact", 'm'},
    {HeaderId::ContentEncoding, "Content-Encoding", 'e'},
    {HeaderId::ContentLength, "Content-Length", 'l'},
    {HeaderId::ContentType, "Content-Type", 'c'},
    {HeaderId::CSeq, "CSeq", 0},
    {HeaderId::Event, "Event", 'o'},
    {HeaderId::Expires, "Expires", 0},
    {HeaderId::From, "From", 'f'},
    {HeaderId::Identity, "Identity", 'y'},
    {HeaderId::MaxForwards, "Max-Forwards", 0},
    {HeaderId::MinExpires, "Min-Expires", 0},
    {HeaderId::PAssertedIdentity, "P-Asserted-Identity", 0},
    {HeaderId::Path, "Path", 0},
    {HeaderId::Privacy, "Privacy", 0},
    {HeaderId::ProxyAuthenticate, "Proxy-Authenticate", 0},
    {HeaderId::ProxyAuthorization, "Proxy-Authorization", 0},
    {HeaderId::ProxyRequire, "Proxy-Require", 0},
    {HeaderId::RAck, "RAck", 0},
    {HeaderId::RecordRoute, "Record-Route", 0},
    {HeaderId::ReferTo, "Refer-To", 'r'},
    {HeaderId::ReferredBy, "Referred-By", 'b'},
    {HeaderId::RejectContact, "Reject-Contact", 'j'},
    {HeaderId::RequestDisposition, "Request-Disposition", 'd'},
    {HeaderId::Require, "Require", 0},
    {HeaderId::RetryAfter, "Retry-After", 0},
    {HeaderId::Route, "Route", 0},
    {HeaderId::RSeq, "RSeq", 0},
    {HeaderId::Server, "Server", 0},
    {HeaderId::SessionExpires, "Session-Expires", 'x'},
    {HeaderId::Subject, "Subject", 's'},
    {HeaderId::Supported, "Supported", 'k'},
    {HeaderId::To, "To", 't'},
    {HeaderId::Unsupported, "Unsupported", 0},
    {HeaderId::UserAgent, "User-Agent", 0},
    {HeaderId::Via, "Via", 'v'},
    {HeaderId::WwwAuthenticate, "WWW-Authenticate", 0},
}};

// kNames is sorted by name, so the entries sharing a first letter are contiguous: one bucket per
// letter, searched by length first (a header name costs one or two comparisons).
struct Bucket {
  std::uint8_t begin = 0;
  std::uint8_t count = 0;
};

constexpr std::array<Bucket, 26> makeBuckets() {
  std::array<Bucket, 26> b{};
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    const int letter = asciiLower(kNames[i].name[0]) - 'a';
    if (b[letter].count == 0) {
      b[letter].begin = static_cast<std::uint8_t>(i);
    }
    ++b[letter].count;
  }
  return b;
}

constexpr std::array<HeaderId, 26> makeCompact() {
  std::array<HeaderId, 26> c{};
  for (const NameEntry& e : kNames) {
    if (e.compact != 0) {
      c[e.compact - 'a'] = e.id;
    }
  }
  return c;
}

constexpr std::array<Bucket, 26> kBuckets = makeBuckets();

template <std::size_t... I>
constexpr std::array<scan::Keyword, sizeof...(I)> makeKeywords(std::index_sequence<I...>) {
  return {scan::Keyword(kNames[I].name)...};
}
constexpr auto kNameKeywords = makeKeywords(std::make_index_sequence<kNames.size()>());
constexpr std::array<HeaderId, 26> kCompact = makeCompact();

}  // namespace

HeaderId headerIdFromName(std::string_view name) {
  if (name.empty()) {
    return HeaderId::Other;
  }
  const char first = asciiLower(name[0]);
  if (first < 'a' || first > 'z') {
    return HeaderId::Other;
  }
  const int letter = first - 'a';
  if (name.size() == 1) {
    return kCompact[letter];
  }
  const Bucket b = kBuckets[letter];
  for (std::size_t i = b.begin; i < static_cast<std::size_t>(b.begin + b.count); ++i) {
    if (kNameKeywords[i].matches(name)) {
      return kNames[i].id;
    }
  }
  return HeaderId::Other;
}

std::string_view canonicalName(HeaderId id) {
  for (const NameEntry& e : kNames) {
    if (e.id == id) {
      return e.name;
    }
  }
  return {};
}

namespace {

constexpr scan::Keyword kTag("tag");
constexpr scan::Keyword kBranch("branch");
constexpr scan::Keyword kReceived("received");
constexpr scan::Keyword kMaddr("maddr");
constexpr scan::Keyword kRport("rport");
constexpr scan::Keyword kTtl("ttl");

// generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string, with SWS
// around ';' and '='. Validates s[pos...] up to the end, or up to a top-level ',' when in_list,
// calls on_param(name, value, has_value, name_offset) for each parameter (it may reject one by
// returning an error), and returns where it stopped.
template <class OnParam>
Result<std::size_t, ParseError> scanParams(std::string_view s, std::size_t pos, bool in_list,
                                           ParseErrorCode code, OnParam&& on_param) {
  while (true) {
    pos = scan::skipWs(s, pos);
    if (pos >= s.size() || (in_list && s[pos] == ',')) {
      return pos;
    }
    if (s[pos] != ';') {
      return fail(error(code, pos, "expected ';' before parameter"));
    }
    pos = scan::skipWs(s, pos + 1);
    const std::size_t name_start = pos;
    pos = scan::skipToken(s, pos);
    if (pos == name_start) {
      return fail(error(code, pos, "empty parameter name"));
    }
    const std::string_view name = s.substr(name_start, pos - name_start);
    pos = scan::skipWs(s, pos);
    std::string_view value;
    bool has_value = false;
    if (pos < s.size() && s[pos] == '=') {
      pos = scan::skipWs(s, pos + 1);
      const std::size_t v_start = pos;
      if (pos < s.size() && s[pos] == '"') {
        pos = scan::skipQuoted(s, pos);
        if (pos == npos) {
          return fail(error(ParseErrorCode::BadQuotedString, v_start, "in parameter value"));
        }
      } else {
        pos = scan::skipParamValue(s, pos);
        if (pos == v_start) {
          return fail(error(code, pos, "empty parameter value"));
        }
      }
      value = s.substr(v_start, pos - v_start);
      has_value = true;
    }
    if (auto r = on_param(name, value, has_value, name_start); !r) {
      return fail(r.error());
    }
  }
}

// Header parameters of a name-addr or media type; reports the tag parameter when asked.
Result<std::size_t, ParseError> scanHeaderParams(std::string_view s, std::size_t pos, bool in_list,
                                                 ParseErrorCode code, std::string_view* tag) {
  return scanParams(s, pos, in_list, code,
                    [tag](std::string_view name, std::string_view value, bool,
                          std::size_t) -> Result<void, ParseError> {
                      if (tag != nullptr && kTag.matches(name)) {
                        *tag = value;
                      }
                      return {};
                    });
}

Result<void, ParseError> validateHeaderParams(std::string_view s, std::size_t pos,
                                              ParseErrorCode code, std::string_view* tag) {
  auto end = scanHeaderParams(s, pos, false, code, tag);
  if (!end) {
    return fail(end.error());
  }
  return {};
}

std::string_view trimRight(std::string_view s) {
  while (!s.empty() && scan::isWs(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// One ( name-addr / addr-spec ) *( SEMI generic-param ) starting at s[pos]; in a list it ends at
// the next top-level ','. Fills `na` in place and returns where it stopped.
Result<std::size_t, ParseError> parseNameAddrAt(std::string_view s, std::size_t pos, bool in_list,
                                                NameAddr& na) {
  constexpr auto kCode = ParseErrorCode::BadNameAddr;
  const std::size_t start = scan::skipWs(s, pos);
  if (start >= s.size() || (in_list && s[start] == ',')) {
    return fail(error(kCode, start, in_list ? "empty list element" : "empty value"));
  }
  std::size_t p = start;
  if (s[p] == '"') {
    const std::size_t q = scan::skipQuoted(s, p);
    if (q == npos) {
      return fail(error(ParseErrorCode::BadQuotedString, p, "in display name"));
    }
    na.display = s.substr(p, q - p);
    p = scan::skipWs(s, q);
    if (p >= s.size() || s[p] != '<') {
      return fail(error(kCode, p, "expected '<' after display name"));
    }
  } else if (s[p] != '<') {
    // Tokens followed by '<' are a display name (RFC 4475 3.1.1.6: LWS before '<' optional);
    // anything else is an addr-spec.
    std::size_t i = p;
    bool spaced = false;
    while (i < s.size() && (scan::isToken(s[i]) || scan::isWs(s[i]))) {
      spaced |= scan::isWs(s[i]);
      ++i;
    }
    if (i < s.size() && s[i] == '<') {
      na.display = trimRight(s.substr(p, i - p));
      p = i;
    } else if (spaced && i < s.size() && s[i] != ';' && s[i] != ',') {
      return fail(error(kCode, i, "bad character in display name"));
    }
  }
  std::size_t uri_start = 0;
  std::size_t uri_end = 0;
  if (p < s.size() && s[p] == '<') {
    na.angle_brackets = true;
    uri_start = p + 1;
    uri_end = s.find('>', uri_start);
    if (uri_end == npos) {
      return fail(error(kCode, p, "missing '>'"));
    }
    p = uri_end + 1;
  } else {
    // addr-spec: the URI cannot hold ';' ',' '?' or whitespace; what follows ';' are header
    // parameters (RFC 3261 20).
    uri_start = p;
    uri_end = p;
    while (uri_end < s.size() && s[uri_end] != ';' && !scan::isWs(s[uri_end])) {
      if (s[uri_end] == ',' && in_list) {
        break;
      }
      if (s[uri_end] == '?' || s[uri_end] == ',') {
        return fail(error(kCode, uri_end, "URI with '?' or ',' must be in angle brackets"));
      }
      ++uri_end;
    }
    p = uri_end;
  }
  auto uri = parseUri(s.substr(uri_start, uri_end - uri_start));
  if (!uri) {
    ParseError e = uri.error();
    e.offset += uri_start;
    return fail(e);
  }
  na.uri = *uri;
  auto end = scanHeaderParams(s, p, in_list, kCode, &na.tag);
  if (!end) {
    return fail(end.error());
  }
  na.params = ParamList(trimRight(s.substr(p, *end - p)));
  na.text = trimRight(s.substr(start, *end - start));
  return *end;
}

}  // namespace

Result<NameAddr, ParseError> parseNameAddr(std::string_view s) {
  NameAddr na;
  auto end = parseNameAddrAt(s, 0, false, na);
  if (!end) {
    return fail(end.error());
  }
  return na;
}

std::string unquote(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') {
    return std::string(quoted);
  }
  std::string out;
  out.reserve(quoted.size() - 2);
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (quoted[i] == '\\' && i + 2 < quoted.size()) {
      ++i;
    }
    out.push_back(quoted[i]);
  }
  return out;
}

std::string NameAddr::displayName() const {
  return unquote(display);
}

std::optional<std::uint16_t> NameAddr::qMilli() const {
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  const auto q = params.get("q");
  if (!q || q->empty() || q->size() > 5) {
    return std::nullopt;
  }
  const std::string_view v = *q;
  if (v[0] != '0' && v[0] != '1') {
    return std::nullopt;
  }
  unsigned milli = static_cast<unsigned>(v[0] - '0') * 1000;
  if (v.size() > 1) {
    if (v[1] != '.') {
      return std::nullopt;
    }
    unsigned scale = 100;
    for (std::size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (v[i] < '0' || v[i] > '9') {
        return std::nullopt;
      }
      milli += static_cast<unsigned>(v[i] - '0') * scale;
    }
  }
  if (milli > 1000) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(milli);
}

std::optional<std::uint32_t> NameAddr::expires() const {
  const auto e = params.get("expires");
  if (!e) {
    return std::nullopt;
  }
  auto r = parseExpires(*e);
  return r ? std::optional<std::uint32_t>(*r) : std::nullopt;
}

Result<CSeq, ParseError> parseCSeq(std::string_view s) {
  constexpr auto kCode = ParseErrorCode::BadCSeq;
  CSeq c;
  std::size_t pos = scan::skipWs(s, 0);
  const std::size_t num_start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    ++pos;
  }
  if (pos == num_start) {
    return fail(error(kCode, pos, "missing sequence number"));
  }
  // RFC 3261 8.1.1.5: the sequence number MUST be less than 2^31.
  auto n = parseDecimal(s.substr(num_start, pos - num_start), 0x7fffffffULL);
  if (!n) {
    return fail(error(kCode, num_start, "sequence number out of range"));
  }
  c.number = static_cast<std::uint32_t>(*n);
  const std::size_t ws = pos;
  pos = scan::skipWs(s, pos);
  if (pos == ws) {
    return fail(error(kCode, pos, "expected whitespace after sequence number"));
  }
  const std::size_t m_start = pos;
  pos = scan::skipToken(s, pos);
  if (pos == m_start) {
    return fail(error(kCode, pos, "missing method"));
  }
  c.method_text = s.substr(m_start, pos - m_start);
  c.method = methodFromToken(c.method_text);
  if (scan::skipWs(s, pos) != s.size()) {
    return fail(error(kCode, pos, "unexpected text after method"));
  }
  return c;
}

namespace {
// 1*DIGIT with optional surrounding whitespace, at most `max`. Above `max` it is an error, or with
// `saturate` the value is `max` (any run of digits, leading zeros included, is well formed).
Result<std::uint64_t, ParseError> parseNumber(std::string_view s, std::uint64_t max,
                                              ParseErrorCode code, const char* range_detail,
                                              bool saturate = false) {
  const std::string_view t = trimWs(s);
  if (t.empty()) {
    return fail(error(code, 0, "empty value"));
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] < '0' || t[i] > '9') {
      return fail(
          error(code, static_cast<std::size_t>(t.data() - s.data()) + i, "expected digits"));
    }
  }
  auto v = parseDecimal(t, max);  // digits only: fails only above max
  if (!v) {
    if (saturate) {
      return max;
    }
    return fail(error(code, static_cast<std::size_t>(t.data() - s.data()), range_detail));
  }
  return *v;
}
}  // namespace

Result<std::uint32_t, ParseError> parseMaxForwards(std::string_view s) {
  auto v = parseNumber(s, 255, ParseErrorCode::BadMaxForwards, "value above 255");
  if (!v) {
    return fail(v.error());
  }
  return static_cast<std::uint32_t>(*v);
}

Result<std::uint64_t, ParseError> parseContentLength(std::string_view s) {
  return parseNumber(s, 0xffffffffULL, ParseErrorCode::BadContentLength, "value out of range");
}

Result<std::uint32_t, ParseError> parseExpires(std::string_view s) {
  auto v = parseNumber(s, 0xffffffffULL, ParseErrorCode::BadHeaderValue, "", true);
  if (!v) {
    return fail(v.error());
  }
  return static_cast<std::uint32_t>(*v);
}

Result<std::string_view, ParseError> parseCallId(std::string_view s) {
  const std::string_view t = trimWs(s);
  if (t.empty()) {
    return fail(error(ParseErrorCode::BadCallId, 0, "empty value"));
  }
  bool seen_at = false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '@' && !seen_at && i > 0 && i + 1 < t.size()) {
      seen_at = true;
      continue;
    }
    if (!scan::is(c, scan::kAlnum | scan::kWordExtra)) {
      return fail(error(ParseErrorCode::BadCallId,
                        static_cast<std::size_t>(t.data() - s.data()) + i, "bad character"));
    }
  }
  return t;
}

Result<ContentType, ParseError> parseContentType(std::string_view s) {
  constexpr auto kCode = ParseErrorCode::BadHeaderValue;
  ContentType ct;
  std::size_t pos = scan::skipWs(s, 0);
  std::size_t e = scan::skipToken(s, pos);
  if (e == pos) {
    return fail(error(kCode, pos, "missing media type"));
  }
  ct.type = s.substr(pos, e - pos);
  pos = scan::skipWs(s, e);
  if (pos >= s.size() || s[pos] != '/') {
    return fail(error(kCode, pos, "expected '/' in media type"));
  }
  pos = scan::skipWs(s, pos + 1);
  e = scan::skipToken(s, pos);
  if (e == pos) {
    return fail(error(kCode, pos, "missing media subtype"));
  }
  ct.subtype = s.substr(pos, e - pos);
  auto p = validateHeaderParams(s, e, kCode, nullptr);
  if (!p) {
    return fail(p.error());
  }
  ct.params = ParamList(trimWs(s.substr(e)));
  return ct;
}

Result<RetryAfter, ParseError> parseRetryAfter(std::string_view s) {
  constexpr auto kCode = ParseErrorCode::BadHeaderValue;
  RetryAfter ra;
  std::size_t pos = scan::skipWs(s, 0);
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    ++pos;
  }
  auto secs = parseExpires(s.substr(start, pos - start));
  if (!secs) {
    return fail(error(kCode, start, "expected delta-seconds"));
  }
  ra.seconds = *secs;
  pos = scan::skipWs(s, pos);
  if (pos < s.size() && s[pos] == '(') {
    // comment = "(" *(ctext / quoted-pair / comment) ")", nested
    int depth = 0;
    const std::size_t c_start = pos;
    for (; pos < s.size(); ++pos) {
      if (s[pos] == '\\') {
        ++pos;
      } else if (s[pos] == '(') {
        ++depth;
      } else if (s[pos] == ')' && --depth == 0) {
        break;
      }
    }
    if (pos >= s.size()) {
      return fail(error(kCode, c_start, "unterminated comment"));
    }
    ra.comment = s.substr(c_start + 1, pos - c_start - 1);
    ++pos;
  }
  auto p = validateHeaderParams(s, pos, kCode, nullptr);
  if (!p) {
    return fail(p.error());
  }
  ra.params = ParamList(trimWs(s.substr(pos)));
  return ra;
}

std::optional<std::uint32_t> RetryAfter::duration() const {
  const auto d = params.get("duration");
  if (!d) {
    return std::nullopt;
  }
  auto v = parseExpires(*d);
  return v ? std::optional<std::uint32_t>(*v) : std::nullopt;
}

namespace {

// "SIP/2.0/" in any letter case, compared as one 64-bit word: OR-ing 0x20 into the three letter
// bytes folds case there and nowhere else.
bool isSip20Prefix(const char* p) {
  std::uint64_t word = 0;
  std::memcpy(&word, p, 8);
  std::uint64_t want = 0;
  std::memcpy(&want, "sip/2.0/", 8);
  std::uint64_t fold = 0;
  std::memcpy(&fold, "\x20\x20\x20\0\0\0\0\0", 8);
  return (word | fold) == want;
}

// One via-parm, sent-protocol LWS sent-by *( SEMI via-params ), starting at s[pos] and ending at
// the next top-level ',' or the end. Fills `via` in place and returns where it stopped.
Result<std::size_t, ParseError> parseViaAt(std::string_view s, std::size_t pos, Via& via) {
  constexpr auto kCode = ParseErrorCode::BadVia;
  const std::size_t start = scan::skipWs(s, pos);
  pos = start;
  if (pos >= s.size() || s[pos] == ',') {
    return fail(error(kCode, pos, "empty list element"));
  }
  // Fast path for the form every stack sends; the general loop below accepts LWS around '/'.
  std::string_view* parts[3] = {&via.protocol_name, &via.protocol_version, &via.transport};
  int first_part = 0;
  if (s.size() - pos > 8 && isSip20Prefix(s.data() + pos)) {
    via.protocol_name = s.substr(pos, 3);
    via.protocol_version = s.substr(pos + 4, 3);
    pos += 8;
    first_part = 2;
  }
  for (int i = first_part; i < 3; ++i) {
    if (i > first_part) {
      pos = scan::skipWs(s, pos);
      if (pos >= s.size() || s[pos] != '/') {
        return fail(error(kCode, pos, "expected '/' in sent-protocol"));
      }
      pos = scan::skipWs(s, pos + 1);
    }
    const std::size_t e = scan::skipToken(s, pos);
    if (e == pos) {
      return fail(error(kCode, pos, "bad sent-protocol"));
    }
    *parts[i] = s.substr(pos, e - pos);
    pos = e;
  }
  const std::size_t ws = pos;
  pos = scan::skipWs(s, pos);
  if (pos == ws || pos >= s.size()) {
    return fail(error(kCode, pos, "missing sent-by"));
  }
  auto hp = detail::parseHostPort(s, pos, via.host, via.host_kind, via.port, true);
  if (!hp) {
    ParseError e = hp.error();
    e.code = kCode;
    return fail(e);
  }
  pos = *hp;
  const std::size_t params_start = pos;
  // via-params: the known ones are read into their fields (told apart by length first).
  auto end = scanParams(
      s, pos, true, kCode,
      [&via](std::string_view name, std::string_view value, bool has_value,
             std::size_t at) -> Result<void, ParseError> {
        switch (name.size()) {
          case 6:
            if (kBranch.matches(name)) {
              if (!has_value) {
                return fail(error(kCode, at, "branch without value"));
              }
              via.branch = value;
            }
            break;
          case 8:
            if (kReceived.matches(name)) {
              if (!has_value) {
                return fail(error(kCode, at, "received without value"));
              }
              via.received = value;
            }
            break;
          case 5:
            if (kMaddr.matches(name)) {
              via.maddr = value;
            } else if (kRport.matches(name)) {
              via.rport = true;
              if (has_value) {
                std::uint32_t v = 0;
                if (scan::parseSmallNumber(value, 0, 65535, v) != value.size()) {
                  return fail(error(kCode, at, "bad rport"));
                }
                via.rport_value = static_cast<std::uint16_t>(v);
              }
            }
            break;
          case 3:
            if (kTtl.matches(name)) {
              std::uint32_t v = 0;
              if (!has_value || scan::parseSmallNumber(value, 0, 255, v) != value.size()) {
                return fail(error(kCode, at, "bad ttl"));
              }
              via.ttl = static_cast<std::uint8_t>(v);
            }
            break;
          default: break;
        }
        return {};
      });
  if (!end) {
    return fail(end.error());
  }
  pos = *end;
  via.params = ParamList(trimRight(s.substr(params_start, pos - params_start)));
  via.text = trimRight(s.substr(start, pos - start));
  return pos;
}

// Parses a comma-separated list in one pass, constructing each value in place at the end of
// `out`; a malformed list leaves `out` as it was.
template <class Vector, class ParseAt>
Result<void, ParseError> parseListInPlace(std::string_view value, Vector& out, ParseErrorCode code,
                                          ParseAt parseAt) {
  const std::size_t before = out.size();
  if (out.capacity() == 0) {
    out.reserve(4);  // typical Via/Route/Contact counts, without regrowing
  }
  std::size_t pos = 0;
  while (true) {
    auto& item = out.emplace_back();
    auto end = parseAt(value, pos, item);
    if (!end) {
      out.resize(before);  // none of a malformed list's values are kept
      return fail(end.error());
    }
    pos = scan::skipWs(value, *end);
    if (pos >= value.size()) {
      return {};
    }
    if (value[pos] != ',') {
      out.resize(before);
      return fail(error(code, pos, "expected ',' between values"));
    }
    ++pos;
  }
}

}  // namespace

namespace {
Result<std::size_t, ParseError> parseNameAddrInList(std::string_view s, std::size_t pos,
                                                    NameAddr& na) {
  return parseNameAddrAt(s, pos, true, na);
}
}  // namespace

Result<void, ParseError> parseViaList(std::string_view value, std::vector<Via>& out) {
  return parseListInPlace(value, out, ParseErrorCode::BadVia, parseViaAt);
}

Result<void, ParseError> parseViaList(std::string_view value, std::pmr::vector<Via>& out) {
  return parseListInPlace(value, out, ParseErrorCode::BadVia, parseViaAt);
}

Result<void, ParseError> parseNameAddrList(std::string_view value, std::vector<NameAddr>& out) {
  return parseListInPlace(value, out, ParseErrorCode::BadNameAddr, parseNameAddrInList);
}

Result<void, ParseError> parseNameAddrList(std::string_view value,
                                           std::pmr::vector<NameAddr>& out) {
  return parseListInPlace(value, out, ParseErrorCode::BadNameAddr, parseNameAddrInList);
}

Result<std::vector<std::string_view>, ParseError> splitList(std::string_view value) {
  // Top-level commas split; commas inside quoted strings and <...> do not. Items are trimmed.
  std::vector<std::string_view> out;
  std::size_t start = 0;
  bool in_angle = false;
  // SP/HTAB only: a stray CR stays in the item, for the item's parser to reject.
  auto item = [&](std::size_t end) {
    const std::size_t b = std::min(scan::skipWs(value, start), end);
    return trimRight(value.substr(b, end - b));
  };
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '"') {
      const std::size_t q = scan::skipQuoted(value, i);
      if (q == npos) {
        return fail(error(ParseErrorCode::BadQuotedString, i, "unbalanced quote"));
      }
      i = q - 1;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      out.push_back(item(i));
      start = i + 1;
    }
  }
  if (in_angle) {
    return fail(error(ParseErrorCode::BadQuotedString, value.size(), "unbalanced angle bracket"));
  }
  out.push_back(item(value.size()));
  return out;
}

Result<std::vector<std::string_view>, ParseError> parseTokenList(std::string_view value) {
  std::vector<std::string_view> out;
  if (trimWs(value).empty()) {
    return out;  // Supported/Allow may be empty
  }
  auto items = splitList(value);
  if (!items) {
    return fail(items.error());
  }
  for (std::string_view item : *items) {
    if (!isToken(item)) {
      return fail(error(ParseErrorCode::BadHeaderValue,
                        static_cast<std::size_t>(item.data() - value.data()), "expected a token"));
    }
    out.push_back(item);
  }
  return out;
}

}  // namespace sipedge::sip
