// Digest credentials, responses and challenges (RFC 3261 22 and 25.1, RFC 7616 3, RFC 8760).

#include "sipedge/auth/digest.h"

#include <string>
#include <vector>

#include <fmt/format.h>

#include "crypto.h"
#include "sipedge/base/strings.h"

namespace sipedge::auth {

namespace {

constexpr std::size_t kMaxParams = 32;

// RFC 3261 25.1 token characters.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~': return true;
    default: return false;
  }
}

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Characters a quoted-string cannot carry (RFC 3261 25.1 qdtext and quoted-pair, after unfolding):
// CTLs other than HTAB.
bool isControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7F;
}

bool isWs(char c) {
  return c == ' ' || c == '\t';
}

// At most `limit` characters of `text` that are safe in a log line or a reason phrase: printable
// ASCII other than quotes and backslashes, everything else as '?', and "..." when cut.
std::string sanitize(std::string_view text, std::size_t limit = 24) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c > 0x20 && c < 0x7F && c != '"' && c != '\\' ? static_cast<char>(c) : '?');
  }
  if (text.size() > limit) {
    out += "...";
  }
  return out;
}

struct Param {
  std::string name;  // lower case
  std::string value;
};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  std::size_t pos() const { return pos_; }
  bool atEnd() const { return pos_ >= s_.size(); }
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  void advance() { ++pos_; }
  void skipWs() {
    while (!atEnd() && isWs(s_[pos_])) {
      ++pos_;
    }
  }
  std::string_view token() {
    const std::size_t start = pos_;
    while (!atEnd() && isTokenChar(s_[pos_])) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }
  // At an opening '"': the unescaped content of the quoted-string, or an error.
  Result<std::string, std::string> quoted(std::string_view name) {
    const std::size_t open = pos_;
    ++pos_;
    std::string out;
    while (!atEnd()) {
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\' && pos_ + 1 < s_.size()) {
        const char escaped = s_[pos_ + 1];
        if (isControl(escaped)) {
          return fail(fmt::format("control character escaped in the value of '{}' at offset {}",
                                  sanitize(name), pos_ + 1));
        }
        out.push_back(escaped);
        pos_ += 2;
        continue;
      }
      if (isControl(c)) {
        return fail(fmt::format("control character in the value of '{}' at offset {}",
                                sanitize(name), pos_));
      }
      out.push_back(c);
      ++pos_;
    }
    return fail(fmt::format("unterminated quoted-string in the value of '{}' (opened at offset {})",
                            sanitize(name), open));
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// "Digest" LWS auth-param *(COMMA auth-param), auth-param = token EQUAL (token / quoted-string).
Result<std::vector<Param>, std::string> readParams(std::string_view value) {
  Reader in(value);
  in.skipWs();
  const std::string_view scheme = in.token();
  if (scheme.empty()) {
    return fail(fmt::format("expected the Digest scheme at offset {}", in.pos()));
  }
  if (!iequals(scheme, "Digest")) {
    return fail(fmt::format("unsupported authentication scheme '{}' (expected Digest)",
                            sanitize(scheme, 16)));
  }
  const std::size_t after_scheme = in.pos();
  in.skipWs();
  if (in.atEnd()) {
    return fail(std::string("no Digest parameters"));
  }
  if (in.pos() == after_scheme) {
    return fail(fmt::format("expected a space after the Digest scheme at offset {}", after_scheme));
  }
  std::vector<Param> params;
  while (true) {
    in.skipWs();
    const std::size_t name_at = in.pos();
    const std::string_view name = in.token();
    if (name.empty()) {
      return fail(fmt::format("expected a parameter name at offset {}", name_at));
    }
    if (params.size() == kMaxParams) {
      return fail(fmt::format("more than {} Digest parameters", kMaxParams));
    }
    Param p{toLower(name), {}};
    for (const Param& seen : params) {
      if (seen.name == p.name) {
        return fail(fmt::format("duplicate parameter '{}' at offset {}", sanitize(name), name_at));
      }
    }
    in.skipWs();
    if (!in.at('=')) {
      return fail(
          fmt::format("expected '=' after parameter '{}' at offset {}", sanitize(name), in.pos()));
    }
    in.advance();
    in.skipWs();
    if (in.at('"')) {
      auto text = in.quoted(name);
      if (!text) {
        return fail(std::move(text.error()));
      }
      p.value = std::move(*text);
    } else {
      const std::size_t value_at = in.pos();
      const std::string_view token = in.token();
      if (token.empty()) {
        return fail(fmt::format("expected a token or quoted-string for '{}' at offset {}",
                                sanitize(name), value_at));
      }
      p.value = std::string(token);
    }
    params.push_back(std::move(p));
    in.skipWs();
    if (in.atEnd()) {
      return params;
    }
    if (!in.at(',')) {
      return fail(fmt::format("expected ',' after the value of '{}' at offset {}", sanitize(name),
                              in.pos()));
    }
    in.advance();
  }
}

bool allHex(std::string_view s) {
  for (char c : s) {
    if (!isHex(c)) {
      return false;
    }
  }
  return true;
}

// The value of up to 8 hex digits (already checked).
std::uint32_t hexValue(std::string_view s) {
  std::uint32_t v = 0;
  for (char c : s) {
    const char l = asciiLower(c);
    v = (v << 4) | static_cast<std::uint32_t>(l <= '9' ? l - '0' : l - 'a' + 10);
  }
  return v;
}

}  // namespace

std::string_view algorithmName(Algorithm algorithm) {
  return algorithm == Algorithm::Md5 ? "MD5" : "SHA-256";
}

Result<Algorithm, std::string> parseAlgorithm(std::string_view text) {
  if (iequals(text, "MD5")) {
    return Algorithm::Md5;
  }
  if (iequals(text, "SHA-256")) {
    return Algorithm::Sha256;
  }
  if (iequals(text, "MD5-sess") || iequals(text, "SHA-256-sess")) {
    return fail(fmt::format("algorithm {} is not supported (no -sess variants; use MD5 or SHA-256)",
                            sanitize(text, 16)));
  }
  return fail(
      fmt::format("algorithm '{}' is not supported (use MD5 or SHA-256)", sanitize(text, 16)));
}

std::size_t hexLength(Algorithm algorithm) {
  return algorithm == Algorithm::Md5 ? 32 : 64;
}

bool isDigestScheme(std::string_view header_value) {
  header_value = trimWs(header_value);
  std::size_t n = 0;
  while (n < header_value.size() && isTokenChar(header_value[n])) {
    ++n;
  }
  return iequals(header_value.substr(0, n), "Digest");
}

Result<Credentials, std::string> parseCredentials(std::string_view header_value,
                                                  std::size_t max_bytes) {
  if (header_value.size() > max_bytes) {
    return fail(fmt::format("Digest credentials too long ({} bytes, limit {})", header_value.size(),
                            max_bytes));
  }
  auto params = readParams(header_value);
  if (!params) {
    return fail(std::move(params.error()));
  }
  Credentials c;
  bool seen_username = false, seen_realm = false, seen_nonce = false, seen_uri = false,
       seen_response = false, seen_cnonce = false, seen_nc = false;
  for (Param& p : *params) {
    if (p.name == "username") {
      c.username = std::move(p.value);
      seen_username = true;
    } else if (p.name == "realm") {
      c.realm = std::move(p.value);
      seen_realm = true;
    } else if (p.name == "nonce") {
      c.nonce = std::move(p.value);
      seen_nonce = true;
    } else if (p.name == "uri") {
      c.uri = std::move(p.value);
      seen_uri = true;
    } else if (p.name == "response") {
      c.response = toLower(p.value);
      seen_response = true;
    } else if (p.name == "algorithm") {
      auto algorithm = parseAlgorithm(p.value);
      if (!algorithm) {
        return fail(std::move(algorithm.error()));
      }
      c.algorithm = *algorithm;
      c.has_algorithm = true;
    } else if (p.name == "cnonce") {
      c.cnonce = std::move(p.value);
      seen_cnonce = true;
    } else if (p.name == "opaque") {
      c.opaque = std::move(p.value);
      c.has_opaque = true;
    } else if (p.name == "qop") {
      if (iequals(p.value, "auth-int")) {
        return fail(std::string("qop=auth-int is not supported (only qop=auth)"));
      }
      if (!iequals(p.value, "auth")) {
        return fail(
            fmt::format("qop '{}' is not supported (only qop=auth)", sanitize(p.value, 16)));
      }
      c.qop = std::move(p.value);
      c.has_qop = true;
    } else if (p.name == "nc") {
      if (p.value.size() != 8 || !allHex(p.value)) {
        return fail(std::string("parameter 'nc' must be 8 hex digits"));
      }
      c.nc = hexValue(p.value);
      c.nc_text = std::move(p.value);
      seen_nc = true;
    } else if (p.name == "userhash") {
      if (!iequals(p.value, "false")) {
        return fail(std::string("userhash=true is not supported"));
      }
    } else if (p.name == "username*") {
      return fail(
          std::string("parameter 'username*' (RFC 7616 extended notation) is not supported"));
    }
    // Other auth-params are extensions: ignored.
  }
  const std::pair<bool, const char*> required[] = {{seen_username, "username"},
                                                   {seen_realm, "realm"},
                                                   {seen_nonce, "nonce"},
                                                   {seen_uri, "uri"},
                                                   {seen_response, "response"}};
  for (const auto& [seen, name] : required) {
    if (!seen) {
      return fail(fmt::format("missing parameter '{}'", name));
    }
  }
  if (c.username.empty()) {
    return fail(std::string("parameter 'username' is empty"));
  }
  if (c.nonce.empty()) {
    return fail(std::string("parameter 'nonce' is empty"));
  }
  if (c.uri.empty()) {
    return fail(std::string("parameter 'uri' is empty"));
  }
  const std::size_t digits = hexLength(c.algorithm);
  if (c.response.size() != digits || !allHex(c.response)) {
    return fail(fmt::format("parameter 'response' must be {} hex digits for {}", digits,
                            algorithmName(c.algorithm)));
  }
  if (c.has_qop) {
    if (!seen_cnonce || c.cnonce.empty()) {
      return fail(std::string("qop=auth requires a non-empty 'cnonce'"));
    }
    if (!seen_nc) {
      return fail(std::string("qop=auth requires 'nc'"));
    }
  }
  return c;
}

std::string ha1(Algorithm algorithm, std::string_view user, std::string_view realm,
                std::string_view password) {
  return crypto::hashHex(algorithm, {user, ":", realm, ":", password});
}

std::string expectedResponse(Algorithm algorithm, std::string_view ha1_hex,
                             const Credentials& credentials, std::string_view method) {
  const std::string ha1_lower = toLower(ha1_hex);
  const std::string ha2 = crypto::hashHex(algorithm, {method, ":", credentials.uri});
  if (ha2.empty()) {
    return {};
  }
  if (credentials.has_qop) {
    return crypto::hashHex(algorithm, {ha1_lower, ":", credentials.nonce, ":", credentials.nc_text,
                                       ":", credentials.cnonce, ":", credentials.qop, ":", ha2});
  }
  return crypto::hashHex(algorithm, {ha1_lower, ":", credentials.nonce, ":", ha2});
}

bool verifyResponse(const Credentials& credentials, std::string_view method,
                    std::string_view ha1_hex) {
  const std::string expected =
      expectedResponse(credentials.algorithm, ha1_hex, credentials, method);
  if (expected.empty()) {
    return false;
  }
  return crypto::equalConstantTime(expected, toLower(credentials.response));
}

std::string quoteString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char c : text) {
    if (isControl(c) || c == '\t') {
      continue;
    }
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string challenge(std::string_view realm, std::string_view nonce, Algorithm algorithm,
                      bool stale, std::string_view opaque) {
  std::string out = "Digest realm=" + quoteString(realm) + ", nonce=" + quoteString(nonce) +
                    ", algorithm=" + std::string(algorithmName(algorithm)) + ", qop=\"auth\"";
  if (stale) {
    out += ", stale=true";
  }
  if (!opaque.empty()) {
    out += ", opaque=" + quoteString(opaque);
  }
  return out;
}

}  // namespace sipedge::auth
