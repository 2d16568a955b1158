#include "sipedge/sip/uri.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "scan.h"
#include "sipedge/base/strings.h"

namespace sipedge::sip {
namespace {

using scan::error;
constexpr auto npos = std::string_view::npos;

ParseError uriError(std::size_t offset, const char* detail) {
  return error(ParseErrorCode::BadUri, offset, detail);
}

bool isIPv4(std::string_view h) {
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= h.size() || h[pos] != '.') {
        return false;
      }
      ++pos;
    }
    std::uint32_t octet = 0;
    const std::size_t end = scan::parseSmallNumber(h, pos, 255, octet);
    if (end == npos || end - pos > 3) {
      return false;
    }
    pos = end;
  }
  return pos == h.size();
}

bool isIPv6Reference(std::string_view h) {
  if (h.size() < 4 || h.front() != '[' || h.back() != ']' || h.size() > 2 + 45 ||
      h.find('\0') != std::string_view::npos) {  // inet_pton would stop at the NUL
    return false;
  }
  std::array<char, 64> tmp{};
  std::memcpy(tmp.data(), h.data() + 1, h.size() - 2);
  unsigned char out[16];
  return inet_pton(AF_INET6, tmp.data(), out) == 1;
}

}  // namespace

// Parses host [":" port] at s[pos...]; stops at the first character that cannot continue it.
// Shared with the Via parser through detail::parseHostPort.
namespace detail {
Result<std::size_t, ParseError> parseHostPort(std::string_view s, std::size_t pos,
                                              std::string_view& host, HostKind& kind,
                                              std::optional<std::uint16_t>& port, bool sws) {
  const std::size_t start = pos;
  if (pos < s.size() && s[pos] == '[') {
    const std::size_t close = s.find(']', pos);
    if (close == npos) {
      return fail(uriError(pos, "unterminated IPv6 reference"));
    }
    host = s.substr(pos, close + 1 - pos);
    if (!isIPv6Reference(host)) {
      return fail(uriError(pos, "bad IPv6 reference"));
    }
    kind = HostKind::IPv6;
    pos = close + 1;
  } else {
    // One scan over host characters checks the labels; then the last label decides: a
    // toplabel starts with a letter (RFC 3261 25.1), so one starting with a digit makes the host
    // an IPv4 address.
    bool labels_ok = true;
    std::size_t label_start = pos;
    for (; pos < s.size(); ++pos) {
      pos = scan::skipWhile(s, pos, scan::kAlnum);  // the rest of this label
      if (pos >= s.size()) {
        break;
      }
      const char c = s[pos];
      if (c == '.') {
        labels_ok &= pos != label_start && s[pos - 1] != '-';
        label_start = pos + 1;
      } else if (c == '-') {
        labels_ok &= pos != label_start;
      } else {
        break;
      }
    }
    host = s.substr(start, pos - start);
    if (host.empty()) {
      return fail(uriError(start, "missing host"));
    }
    // The last label may be empty only as a single trailing dot after a label.
    const std::size_t last = label_start < pos ? label_start : s.rfind('.', pos - 2) + 1;
    if (s[last] >= '0' && s[last] <= '9') {
      if (!isIPv4(host)) {
        return fail(uriError(start, "bad IPv4 address"));
      }
      kind = HostKind::IPv4;
    } else {
      const bool last_ok = label_start < pos ? s[pos - 1] != '-' : label_start - 1 > start;
      if (!labels_ok || !last_ok || host.size() > 255) {
        return fail(uriError(start, "bad host name"));
      }
      kind = HostKind::Name;
    }
  }
  std::size_t p = sws ? scan::skipWs(s, pos) : pos;
  if (p < s.size() && s[p] == ':') {
    p = sws ? scan::skipWs(s, p + 1) : p + 1;
    std::uint32_t v = 0;
    const std::size_t end = scan::parseSmallNumber(s, p, 65535, v);
    if (end == npos) {
      return fail(uriError(p, "bad port"));
    }
    port = static_cast<std::uint16_t>(v);
    pos = end;
  }
  return pos;
}
}  // namespace detail

void ParamList::Iterator::advance() {
  std::size_t i = scan::skipWs(rest_, 0);
  if (i >= rest_.size() || rest_[i] != ';') {
    done_ = true;
    rest_ = {};
    return;
  }
  i = scan::skipWs(rest_, i + 1);
  std::size_t name_end = i;
  while (name_end < rest_.size() && !scan::isWs(rest_[name_end]) && rest_[name_end] != '=' &&
         rest_[name_end] != ';') {
    ++name_end;
  }
  current_ = Param{rest_.substr(i, name_end - i), {}, false};
  i = scan::skipWs(rest_, name_end);
  if (i < rest_.size() && rest_[i] == '=') {
    i = scan::skipWs(rest_, i + 1);
    std::size_t v_end = i;
    if (v_end < rest_.size() && rest_[v_end] == '"') {
      v_end = scan::skipQuoted(rest_, v_end);
      if (v_end == npos) {
        v_end = rest_.size();
      }
    } else {
      while (v_end < rest_.size() && !scan::isWs(rest_[v_end]) && rest_[v_end] != ';') {
        ++v_end;
      }
    }
    current_.value = rest_.substr(i, v_end - i);
    current_.has_value = true;
    i = v_end;
  }
  rest_ = rest_.substr(i);
  done_ = false;
}

std::optional<std::string_view> ParamList::get(std::string_view name) const {
  for (const Param& p : *this) {
    if (iequals(p.name, name)) {
      return p.value;
    }
  }
  return std::nullopt;
}

namespace {

// uri-parameters = *( ";" pname [ "=" pvalue ] ), paramchar = param-unreserved / unreserved /
// escaped. Returns the index past the list.
Result<std::size_t, ParseError> parseUriParams(std::string_view s, std::size_t pos) {
  constexpr std::uint16_t kParamChar = scan::kParamUnreserved | scan::kAlnum | scan::kMark;
  while (pos < s.size() && s[pos] == ';') {
    const std::size_t name_start = pos + 1;
    const std::size_t name_end = scan::skipEscaped(s, name_start, kParamChar);
    if (name_end == npos) {
      return fail(uriError(name_start, "bad escape in parameter"));
    }
    if (name_end == name_start) {
      return fail(uriError(name_start, "empty parameter name"));
    }
    pos = name_end;
    if (pos < s.size() && s[pos] == '=') {
      const std::size_t v_end = scan::skipEscaped(s, pos + 1, kParamChar);
      if (v_end == npos) {
        return fail(uriError(pos + 1, "bad escape in parameter"));
      }
      if (v_end == pos + 1) {
        return fail(uriError(pos + 1, "empty parameter value"));
      }
      pos = v_end;
    }
  }
  return pos;
}

Result<std::size_t, ParseError> parseUriHeaders(std::string_view s, std::size_t pos) {
  constexpr std::uint16_t kHnv = scan::kHnvUnreserved | scan::kAlnum | scan::kMark;
  // headers = "?" header *( "&" header ); header = hname "=" hvalue (hvalue may be empty)
  do {
    const std::size_t name_start = pos + 1;
    const std::size_t name_end = scan::skipEscaped(s, name_start, kHnv);
    if (name_end == npos || name_end == name_start) {
      return fail(uriError(name_start, "bad header name in URI"));
    }
    if (name_end >= s.size() || s[name_end] != '=') {
      return fail(uriError(name_end, "expected '=' in URI header"));
    }
    const std::size_t v_end = scan::skipEscaped(s, name_end + 1, kHnv);
    if (v_end == npos) {
      return fail(uriError(name_end + 1, "bad escape in URI header"));
    }
    pos = v_end;
  } while (pos < s.size() && s[pos] == '&');
  return pos;
}

Result<void, ParseError> parseSipUri(std::string_view s, std::size_t pos, Uri& uri) {
  // userinfo: user [ ":" password ] "@", present when an '@' occurs before the headers.
  const std::size_t at = s.find('@', pos);
  if (at != npos) {
    constexpr std::uint16_t kUser = scan::kAlnum | scan::kMark | scan::kUserUnreserved;
    constexpr std::uint16_t kPassword = scan::kAlnum | scan::kMark | scan::kPasswordExtra;
    const std::size_t user_end = scan::skipEscaped(s, pos, kUser);
    if (user_end == npos) {
      return fail(uriError(pos, "bad escape in user"));
    }
    if (user_end == pos) {
      return fail(uriError(pos, "empty user"));
    }
    uri.user = s.substr(pos, user_end - pos);
    std::size_t p = user_end;
    if (p < s.size() && s[p] == ':') {
      const std::size_t pw_end = scan::skipEscaped(s, p + 1, kPassword);
      if (pw_end == npos) {
        return fail(uriError(p + 1, "bad escape in password"));
      }
      uri.password = s.substr(p + 1, pw_end - p - 1);
      uri.has_password = true;
      p = pw_end;
    }
    if (p != at) {
      return fail(uriError(p, "bad character in user part"));
    }
    pos = at + 1;
  }
  auto hp = detail::parseHostPort(s, pos, uri.host, uri.host_kind, uri.port, false);
  if (!hp) {
    return fail(hp.error());
  }
  pos = *hp;
  const std::size_t params_start = pos;
  auto pe = parseUriParams(s, pos);
  if (!pe) {
    return fail(pe.error());
  }
  uri.params = ParamList(s.substr(params_start, *pe - params_start));
  pos = *pe;
  if (pos < s.size() && s[pos] == '?') {
    auto he = parseUriHeaders(s, pos);
    if (!he) {
      return fail(he.error());
    }
    uri.headers = s.substr(pos + 1, *he - pos - 1);
    pos = *he;
  }
  if (pos != s.size()) {
    return fail(uriError(pos, "unexpected character in URI"));
  }
  return {};
}

// RFC 3966: telephone-subscriber = global-number / local-number, then ;par parameters.
Result<void, ParseError> parseTelUri(std::string_view s, std::size_t pos, Uri& uri) {
  const std::size_t start = pos;
  if (pos < s.size() && s[pos] == '+') {
    ++pos;
  }
  while (pos < s.size() && (scan::isHex(s[pos]) || s[pos] == '*' || s[pos] == '#' ||
                            s[pos] == '-' || s[pos] == '.' || s[pos] == '(' || s[pos] == ')')) {
    ++pos;
  }
  if (pos == start || (pos == start + 1 && s[start] == '+')) {
    return fail(uriError(start, "empty telephone number"));
  }
  uri.user = s.substr(start, pos - start);
  auto pe = parseUriParams(s, pos);
  if (!pe) {
    return fail(pe.error());
  }
  uri.params = ParamList(s.substr(pos, *pe - pos));
  if (*pe != s.size()) {
    return fail(uriError(*pe, "unexpected character in tel URI"));
  }
  return {};
}

}  // namespace

Result<Uri, ParseError> parseUri(std::string_view text) {
  Uri uri;
  uri.text = text;
  const std::size_t colon = text.find(':');
  if (colon == npos || colon == 0) {
    return fail(uriError(0, "missing scheme"));
  }
  const std::string_view scheme = text.substr(0, colon);
  if (!scan::is(scheme[0], scan::kAlnum) || (scheme[0] >= '0' && scheme[0] <= '9')) {
    return fail(uriError(0, "bad scheme"));
  }
  for (char c : scheme) {
    if (!scan::is(c, scan::kAlnum) && c != '+' && c != '-' && c != '.') {
      return fail(uriError(0, "bad scheme"));
    }
  }
  uri.scheme_text = scheme;
  const std::size_t pos = colon + 1;
  static constexpr scan::Keyword kSip("sip");
  static constexpr scan::Keyword kSips("sips");
  static constexpr scan::Keyword kTel("tel");
  if (kSip.matches(scheme)) {
    uri.scheme = UriScheme::Sip;
  } else if (kSips.matches(scheme)) {
    uri.scheme = UriScheme::Sips;
  } else if (kTel.matches(scheme)) {
    uri.scheme = UriScheme::Tel;
  } else {
    uri.scheme = UriScheme::Other;
    uri.opaque = text.substr(pos);
    if (uri.opaque.empty()) {
      return fail(uriError(pos, "empty URI"));
    }
    for (std::size_t i = pos; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"') {
        return fail(uriError(i, "bad character in URI"));
      }
    }
    return uri;
  }
  auto r = uri.scheme == UriScheme::Tel ? parseTelUri(text, pos, uri) : parseSipUri(text, pos, uri);
  if (!r) {
    return fail(r.error());
  }
  return uri;
}

namespace {

std::string unescaped(std::string_view s) {
  auto d = percentDecode(s);
  return d ? *d : std::string(s);
}

bool unescapedIEqual(std::string_view a, std::string_view b) {
  return iequals(unescaped(a), unescaped(b));
}

std::string telDigits(std::string_view number) {
  std::string out;
  for (char c : number) {
    if (c != '-' && c != '.' && c != '(' && c != ')') {
      out.push_back(asciiLower(c));
    }
  }
  return out;
}

// Header components of a sip URI: all present in both with equal values.
bool headersEquivalent(std::string_view a, std::string_view b) {
  auto split = [](std::string_view h) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t i = 0;
    while (i < h.size()) {
      std::size_t amp = h.find('&', i);
      if (amp == npos) {
        amp = h.size();
      }
      const std::string_view item = h.substr(i, amp - i);
      const std::size_t eq = item.find('=');
      out.emplace_back(toLower(unescaped(item.substr(0, eq))),
                       eq == npos ? std::string() : unescaped(item.substr(eq + 1)));
      i = amp + 1;
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  return split(a) == split(b);
}

}  // namespace

bool uriEquivalent(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) {
    return false;
  }
  if (a.scheme == UriScheme::Other) {
    return iequals(a.scheme_text, b.scheme_text) && unescaped(a.opaque) == unescaped(b.opaque);
  }
  if (a.scheme == UriScheme::Tel) {
    if (telDigits(a.user) != telDigits(b.user)) {
      return false;
    }
  } else {
    if (unescaped(a.user) != unescaped(b.user) || a.has_password != b.has_password ||
        unescaped(a.password) != unescaped(b.password) || !iequals(a.host, b.host) ||
        a.port != b.port) {
      return false;
    }
    if (!headersEquivalent(a.headers, b.headers)) {
      return false;
    }
  }
  // Parameters named here must appear in both or neither; other parameters are compared only
  // when both carry them (RFC 3261 19.1.4; RFC 3966 4 compares tel parameters the same way).
  static constexpr std::string_view kMustMatch[] = {"user", "ttl", "method", "maddr", "transport"};
  for (std::string_view name : kMustMatch) {
    const auto va = a.params.get(name);
    const auto vb = b.params.get(name);
    if (va.has_value() != vb.has_value() || (va && !unescapedIEqual(*va, *vb))) {
      return false;
    }
  }
  // A repeated parameter name counts by its first occurrence on both sides, as ParamList::get
  // reads it, so that the comparison stays reflexive and symmetric.
  for (const Param& pa : a.params) {
    const auto va = a.params.get(pa.name);
    if (va->data() != pa.value.data() || va->size() != pa.value.size()) {
      continue;  // a later duplicate
    }
    const auto vb = b.params.get(pa.name);
    if (vb && !unescapedIEqual(*va, *vb)) {
      return false;
    }
  }
  return true;
}

std::string toString(const Uri& uri) {
  std::string out = toLower(uri.scheme_text);
  out += uri.text.substr(uri.scheme_text.size());
  return out;
}

namespace {
std::string rebuildWithParams(const Uri& uri, std::string_view name,
                              const std::optional<std::optional<std::string_view>>& set) {
  std::string out = toLower(uri.scheme_text);
  out.push_back(':');
  if (uri.scheme == UriScheme::Other) {
    out += uri.opaque;  // no parameter model for opaque URIs
    return out;
  }
  if (!uri.user.empty()) {
    out += uri.user;
    if (uri.has_password) {
      out.push_back(':');
      out += uri.password;
    }
    if (uri.scheme != UriScheme::Tel) {
      out.push_back('@');
    }
  }
  if (uri.scheme != UriScheme::Tel) {
    out += uri.host;
    if (uri.port) {
      out.push_back(':');
      out += std::to_string(*uri.port);
    }
  }
  bool replaced = false;
  for (const Param& p : uri.params) {
    if (iequals(p.name, name)) {
      if (!set || replaced) {
        continue;
      }
      replaced = true;
      out.push_back(';');
      out += name;
      if (*set) {
        out.push_back('=');
        out += **set;
      }
      continue;
    }
    out.push_back(';');
    out += p.name;
    if (p.has_value) {
      out.push_back('=');
      out += p.value;
    }
  }
  if (set && !replaced) {
    out.push_back(';');
    out += name;
    if (*set) {
      out.push_back('=');
      out += **set;
    }
  }
  if (!uri.headers.empty()) {
    out.push_back('?');
    out += uri.headers;
  }
  return out;
}
}  // namespace

std::string withUriParam(const Uri& uri, std::string_view name,
                         std::optional<std::string_view> value) {
  return rebuildWithParams(uri, name, std::optional<std::optional<std::string_view>>(value));
}

std::string withoutUriParam(const Uri& uri, std::string_view name) {
  return rebuildWithParams(uri, name, std::nullopt);
}

}  // namespace sipedge::sip
