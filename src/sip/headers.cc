#include "sipedge/sip/headers.h"

#include <array>

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

}  // namespace

HeaderId headerIdFromName(std::string_view name) {
  if (name.empty()) {
    return HeaderId::Other;
  }
  const char first = asciiLower(name[0]);
  if (name.size() == 1) {
    for (const NameEntry& e : kNames) {
      if (e.compact == first) {
        return e.id;
      }
    }
    return HeaderId::Other;
  }
  for (const NameEntry& e : kNames) {
    if (e.name.size() == name.size() && asciiLower(e.name[0]) == first && iequals(e.name, name)) {
      return e.id;
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

// generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string, with SWS
// around ';' and '='. Validates s[pos...] up to `end` and reports the tag parameter.
Result<void, ParseError> validateHeaderParams(std::string_view s, std::size_t pos,
                                              ParseErrorCode code, std::string_view* tag) {
  while (true) {
    pos = scan::skipWs(s, pos);
    if (pos >= s.size()) {
      return {};
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
    if (pos < s.size() && s[pos] == '=') {
      pos = scan::skipWs(s, pos + 1);
      const std::size_t v_start = pos;
      if (pos < s.size() && s[pos] == '"') {
        pos = scan::skipQuoted(s, pos);
        if (pos == npos) {
          return fail(error(ParseErrorCode::BadQuotedString, v_start, "in parameter value"));
        }
      } else {
        while (pos < s.size() &&
               (scan::isToken(s[pos]) || s[pos] == ':' || s[pos] == '[' || s[pos] == ']')) {
          ++pos;
        }
        if (pos == v_start) {
          return fail(error(code, pos, "empty parameter value"));
        }
      }
      value = s.substr(v_start, pos - v_start);
    }
    if (tag != nullptr && iequals(name, "tag")) {
      *tag = value;
    }
  }
}

}  // namespace

Result<NameAddr, ParseError> parseNameAddr(std::string_view s) {
  constexpr auto kCode = ParseErrorCode::BadNameAddr;
  NameAddr na;
  na.text = s;
  std::size_t pos = scan::skipWs(s, 0);
  if (pos >= s.size()) {
    return fail(error(kCode, pos, "empty value"));
  }
  std::size_t uri_start = 0;
  std::size_t uri_end = 0;
  if (s[pos] == '"') {
    const std::size_t q = scan::skipQuoted(s, pos);
    if (q == npos) {
      return fail(error(ParseErrorCode::BadQuotedString, pos, "in display name"));
    }
    na.display = s.substr(pos, q - pos);
    pos = scan::skipWs(s, q);
    if (pos >= s.size() || s[pos] != '<') {
      return fail(error(kCode, pos, "expected '<' after display name"));
    }
  } else if (s[pos] != '<') {
    // Either tokens (display name) followed by '<', or an addr-spec.
    const std::size_t lt = s.find('<', pos);
    if (lt != npos) {
      std::size_t i = pos;
      while (i < lt && (scan::isToken(s[i]) || scan::isWs(s[i]))) {
        ++i;
      }
      if (i != lt) {
        return fail(error(kCode, i, "bad character in display name"));
      }
      std::size_t e = lt;
      while (e > pos && scan::isWs(s[e - 1])) {
        --e;
      }
      na.display = s.substr(pos, e - pos);
      pos = lt;
    }
  }
  if (pos < s.size() && s[pos] == '<') {
    na.angle_brackets = true;
    uri_start = pos + 1;
    uri_end = s.find('>', uri_start);
    if (uri_end == npos) {
      return fail(error(kCode, pos, "missing '>'"));
    }
    pos = uri_end + 1;
  } else {
    // addr-spec: the URI cannot hold ';' ',' '?' or whitespace; what follows ';' are header
    // parameters (RFC 3261 20).
    uri_start = pos;
    uri_end = pos;
    while (uri_end < s.size() && s[uri_end] != ';' && !scan::isWs(s[uri_end])) {
      if (s[uri_end] == '?' || s[uri_end] == ',') {
        return fail(error(kCode, uri_end, "URI with '?' or ',' must be in angle brackets"));
      }
      ++uri_end;
    }
    pos = uri_end;
  }
  auto uri = parseUri(s.substr(uri_start, uri_end - uri_start));
  if (!uri) {
    ParseError e = uri.error();
    e.offset += uri_start;
    return fail(e);
  }
  na.uri = *uri;
  const std::size_t params_start = pos;
  auto p = validateHeaderParams(s, pos, kCode, &na.tag);
  if (!p) {
    return fail(p.error());
  }
  std::size_t end = s.size();
  while (end > params_start && scan::isWs(s[end - 1])) {
    --end;
  }
  na.params = ParamList(s.substr(params_start, end - params_start));
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
Result<std::uint64_t, ParseError> parseNumber(std::string_view s, std::uint64_t max,
                                              ParseErrorCode code, const char* range_detail) {
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
  auto v = parseDecimal(t, max);
  if (!v) {
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
  const std::string_view t = trimWs(s);
  auto v = parseNumber(t.substr(0, std::min<std::size_t>(t.size(), 19)), ~0ULL,
                       ParseErrorCode::BadHeaderValue, "bad delta-seconds");
  if (!v) {
    return fail(v.error());
  }
  // Any longer run of digits only saturates (checked digits-only by a second pass).
  for (char c : t) {
    if (c < '0' || c > '9') {
      return fail(error(ParseErrorCode::BadHeaderValue, 0, "bad delta-seconds"));
    }
  }
  if (t.size() > 19 || *v > 0xffffffffULL) {
    return 0xffffffffU;
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

// One via-parm: sent-protocol LWS sent-by *( SEMI via-params ).
Result<void, ParseError> parseVia(std::string_view s, Via& via) {
  constexpr auto kCode = ParseErrorCode::BadVia;
  via.text = s;
  std::size_t pos = 0;
  std::string_view* parts[3] = {&via.protocol_name, &via.protocol_version, &via.transport};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
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
  while (true) {
    pos = scan::skipWs(s, pos);
    if (pos >= s.size()) {
      break;
    }
    if (s[pos] != ';') {
      return fail(error(kCode, pos, "expected ';' before parameter"));
    }
    pos = scan::skipWs(s, pos + 1);
    const std::size_t n_start = pos;
    pos = scan::skipToken(s, pos);
    if (pos == n_start) {
      return fail(error(kCode, pos, "empty parameter name"));
    }
    const std::string_view name = s.substr(n_start, pos - n_start);
    pos = scan::skipWs(s, pos);
    std::string_view value;
    bool has_value = false;
    if (pos < s.size() && s[pos] == '=') {
      pos = scan::skipWs(s, pos + 1);
      const std::size_t v_start = pos;
      if (pos < s.size() && s[pos] == '"') {
        pos = scan::skipQuoted(s, pos);
        if (pos == npos) {
          return fail(error(ParseErrorCode::BadQuotedString, v_start, "in Via parameter"));
        }
      } else {
        while (pos < s.size() &&
               (scan::isToken(s[pos]) || s[pos] == ':' || s[pos] == '[' || s[pos] == ']')) {
          ++pos;
        }
      }
      if (pos == v_start) {
        return fail(error(kCode, pos, "empty parameter value"));
      }
      value = s.substr(v_start, pos - v_start);
      has_value = true;
    }
    if (iequals(name, "branch")) {
      if (!has_value) {
        return fail(error(kCode, n_start, "branch without value"));
      }
      via.branch = value;
    } else if (iequals(name, "received")) {
      if (!has_value) {
        return fail(error(kCode, n_start, "received without value"));
      }
      via.received = value;
    } else if (iequals(name, "maddr")) {
      via.maddr = value;
    } else if (iequals(name, "rport")) {
      via.rport = true;
      if (has_value) {
        auto v = parseDecimal(value, 65535);
        if (!v) {
          return fail(error(kCode, n_start, "bad rport"));
        }
        via.rport_value = static_cast<std::uint16_t>(*v);
      }
    } else if (iequals(name, "ttl")) {
      auto v = has_value ? parseDecimal(value, 255) : std::nullopt;
      if (!v) {
        return fail(error(kCode, n_start, "bad ttl"));
      }
      via.ttl = static_cast<std::uint8_t>(*v);
    }
  }
  via.params = ParamList(s.substr(params_start));
  return {};
}

template <class T, class ParseOne>
Result<void, ParseError> parseList(std::string_view value, std::vector<T>& out, ParseErrorCode code,
                                   ParseOne parseOne) {
  std::optional<ParseError> err;
  std::size_t err_at = 0;
  const bool ok = scan::forEachListItem(
      value,
      [&](std::string_view item, std::size_t offset) {
        if (item.empty()) {
          err = error(code, offset, "empty list element");
          return false;
        }
        T v;
        auto r = parseOne(item, v);
        if (!r) {
          err = r.error();
          err->offset += offset;
          return false;
        }
        out.push_back(v);
        return true;
      },
      &err_at);
  if (!ok) {
    if (!err) {
      err = error(ParseErrorCode::BadQuotedString, err_at, "unbalanced quote or angle bracket");
    }
    return fail(*err);
  }
  return {};
}

}  // namespace

Result<void, ParseError> parseViaList(std::string_view value, std::vector<Via>& out) {
  return parseList(value, out, ParseErrorCode::BadVia, parseVia);
}

Result<void, ParseError> parseNameAddrList(std::string_view value, std::vector<NameAddr>& out) {
  return parseList(value, out, ParseErrorCode::BadNameAddr,
                   [](std::string_view item, NameAddr& na) -> Result<void, ParseError> {
                     auto r = parseNameAddr(item);
                     if (!r) {
                       return fail(r.error());
                     }
                     na = *r;
                     return {};
                   });
}

Result<std::vector<std::string_view>, ParseError> splitList(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t err_at = 0;
  if (!scan::forEachListItem(
          value,
          [&](std::string_view item, std::size_t) {
            out.push_back(item);
            return true;
          },
          &err_at)) {
    return fail(
        error(ParseErrorCode::BadQuotedString, err_at, "unbalanced quote or angle bracket"));
  }
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
