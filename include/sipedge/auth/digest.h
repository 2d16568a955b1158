#pragma once

// SIP digest authentication, the pure part (RFC 3261 22 and 25, RFC 7616, RFC 8760): the
// algorithms, parsing Authorization credentials, HA1 and response computation, and the
// WWW-Authenticate challenge. Only qop=auth and the RFC 2069-compatible form without qop are
// supported: no auth-int, no "-sess" algorithms, no userhash, no username* (RFC 7616 3.4.4).
//
// The nonce minting and replay table is in nonce.h, the HA1 file in ha1_table.h, and the one call
// the registrar makes in authenticate.h.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sipedge/base/result.h"

namespace sipedge::auth {

enum class Algorithm : std::uint8_t { Md5, Sha256 };

// "MD5" or "SHA-256".
std::string_view algorithmName(Algorithm algorithm);
// Case-insensitive "MD5" / "SHA-256". The "-sess" variants and anything else are errors that say
// what was given (sanitized and truncated) and that it is not supported.
[[nodiscard]] Result<Algorithm, std::string> parseAlgorithm(std::string_view text);
// Number of hex digits of a digest: 32 for MD5, 64 for SHA-256.
std::size_t hexLength(Algorithm algorithm);

// Authorization header values longer than this are refused before parsing.
inline constexpr std::size_t kMaxCredentialsBytes = 4096;

// The credentials of one `Authorization: Digest ...` header value, unescaped.
struct Credentials {
  std::string username;
  std::string realm;
  std::string nonce;
  std::string uri;                       // digest-uri, as written
  std::string response;                  // lower-case hex, 32 (MD5) or 64 (SHA-256) digits
  Algorithm algorithm = Algorithm::Md5;  // MD5 when the parameter is absent
  bool has_algorithm = false;
  std::string cnonce;
  std::string opaque;
  bool has_opaque = false;
  std::string qop;  // "auth" as written (case kept) when has_qop
  bool has_qop = false;
  std::uint32_t nc = 0;
  std::string nc_text;  // the 8 hex digits as written: the response is computed over them

  bool operator==(const Credentials&) const = default;
};

// Parses an Authorization (or Proxy-Authorization) header value: the `Digest` scheme
// (case-insensitive), then comma-separated auth-params whose values are tokens or quoted-strings
// (quoted-pairs unescaped). Parameter names are case-insensitive; a repeated one is an error;
// unknown ones are ignored. username, realm, nonce, uri and response are required; response must
// be 32 hex digits for MD5 and 64 for SHA-256; nc is 8 hex digits; qop=auth requires cnonce and
// nc. The error says what was wrong and at which byte offset, and echoes at most a short
// sanitized piece of the input (a parameter name or an algorithm name).
[[nodiscard]] Result<Credentials, std::string> parseCredentials(
    std::string_view header_value, std::size_t max_bytes = kMaxCredentialsBytes);

// True when the value's scheme is Digest (so a Basic or Bearer header can be skipped).
bool isDigestScheme(std::string_view header_value);

// H(user ":" realm ":" password) in lower-case hex (RFC 7616 3.4.2).
std::string ha1(Algorithm algorithm, std::string_view user, std::string_view realm,
                std::string_view password);

// The request-digest the client should have sent (RFC 7616 3.4.1): with qop=auth
// H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri)); without qop the RFC 2069 form
// H(HA1 ":" nonce ":" H(method ":" uri)). Lower-case hex; ha1_hex may be in either case. Empty
// only if the hash is unavailable (an OpenSSL failure, e.g. MD5 in FIPS mode).
std::string expectedResponse(Algorithm algorithm, std::string_view ha1_hex,
                             const Credentials& credentials, std::string_view method);

// Whether credentials.response is the expected response, compared in constant time.
bool verifyResponse(const Credentials& credentials, std::string_view method,
                    std::string_view ha1_hex);

// A WWW-Authenticate (or Proxy-Authenticate) value:
//   Digest realm="acme.test", nonce="...", algorithm=SHA-256, qop="auth"[, stale=true]
//   [, opaque="..."]
// realm, nonce and opaque are quoted with '"' and '\' escaped; control characters (which a
// quoted-string cannot carry) are dropped.
std::string challenge(std::string_view realm, std::string_view nonce, Algorithm algorithm,
                      bool stale, std::string_view opaque = {});

// A quoted-string for `text` (RFC 3261 25.1): '"' and '\' escaped, control characters dropped.
std::string quoteString(std::string_view text);

}  // namespace sipedge::auth
