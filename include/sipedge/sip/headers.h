#pragma once

// Header names (full and compact forms) and the typed header values the gateway works with.
// Values are views into the text they were parsed from (for a Message, its own buffer).

#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/sip/error.h"
#include "sipedge/sip/method.h"
#include "sipedge/sip/uri.h"

namespace sipedge::sip {

enum class HeaderId : std::uint8_t {
  Other,
  Accept,
  AcceptContact,
  Allow,
  AllowEvents,
  Authorization,
  CallId,
  Contact,
  ContentEncoding,
  ContentLength,
  ContentType,
  CSeq,
  Event,
  Expires,
  From,
  Identity,
  MaxForwards,
  MinExpires,
  PAssertedIdentity,
  Path,
  Privacy,
  ProxyAuthenticate,
  ProxyAuthorization,
  ProxyRequire,
  RAck,
  RecordRoute,
  ReferTo,
  ReferredBy,
  RejectContact,
  RequestDisposition,
  Require,
  RetryAfter,
  Route,
  RSeq,
  Server,
  SessionExpires,
  Subject,
  Supported,
  To,
  Unsupported,
  UserAgent,
  Via,
  WwwAuthenticate,
};

// Looks a header name up, case-insensitively, in its full or compact form (RFC 3261 7.3.3 and
// the extensions' compact forms: i m e l f t v s k c o u r b x y j a d).
HeaderId headerIdFromName(std::string_view name);
// The canonical full name, e.g. "Call-ID"; "" for Other.
std::string_view canonicalName(HeaderId id);

// sent-protocol SP sent-by *( SEMI via-params )
struct Via {
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;         // "UDP", "TCP", "TLS", "SCTP", "WS", or any token
  std::string_view host;              // sent-by host; IPv6 references with brackets
  HostKind host_kind = HostKind::None;
  std::optional<std::uint16_t> port;
  ParamList params;  // all via-params, known ones included
  std::string_view branch;
  std::string_view received;
  std::string_view maddr;
  bool rport = false;  // RFC 3581: present, with or without a value
  std::optional<std::uint16_t> rport_value;
  std::optional<std::uint8_t> ttl;
  std::string_view text;  // this via-parm as written
};

// ( name-addr / addr-spec ) *( SEMI generic-param ), as in From/To/Contact/Route/Record-Route/
// Refer-To/Referred-By/P-Asserted-Identity/Path.
struct NameAddr {
  std::string_view display;  // as written: a quoted-string with its quotes, or tokens; "" if none
  Uri uri;
  bool angle_brackets = false;
  ParamList params;       // header parameters (not URI parameters)
  std::string_view tag;   // the tag parameter's value, "" if none
  std::string_view text;  // the whole value as written

  // The display name with quotes removed and quoted-pairs unescaped.
  std::string displayName() const;
  // q parameter in thousandths (q=0.5 -> 500), nullopt when absent or malformed.
  std::optional<std::uint16_t> qMilli() const;
  // expires parameter in seconds (saturating at 2^32-1), nullopt when absent or malformed.
  std::optional<std::uint32_t> expires() const;
};

struct CSeq {
  std::uint32_t number = 0;
  Method method = Method::Unknown;
  std::string_view method_text;
  bool operator==(const CSeq&) const = default;
};

struct ContentType {
  std::string_view type;
  std::string_view subtype;
  ParamList params;
};

struct RetryAfter {
  std::uint32_t seconds = 0;
  std::string_view comment;  // without parentheses
  ParamList params;
  std::optional<std::uint32_t> duration() const;
};

// Single values.
[[nodiscard]] Result<NameAddr, ParseError> parseNameAddr(std::string_view value);
[[nodiscard]] Result<CSeq, ParseError> parseCSeq(std::string_view value);
[[nodiscard]] Result<std::uint32_t, ParseError> parseMaxForwards(std::string_view value);
[[nodiscard]] Result<std::uint64_t, ParseError> parseContentLength(std::string_view value);
[[nodiscard]] Result<std::string_view, ParseError> parseCallId(std::string_view value);
// Expires and Min-Expires: delta-seconds, saturating at 2^32-1 (RFC 3261 20.19).
[[nodiscard]] Result<std::uint32_t, ParseError> parseExpires(std::string_view value);
[[nodiscard]] Result<ContentType, ParseError> parseContentType(std::string_view value);
[[nodiscard]] Result<RetryAfter, ParseError> parseRetryAfter(std::string_view value);

// Comma-separated lists. Commas inside quoted strings and angle brackets do not split.
// The values are appended to `out`.
[[nodiscard]] Result<void, ParseError> parseViaList(std::string_view value, std::vector<Via>& out);
[[nodiscard]] Result<void, ParseError> parseNameAddrList(std::string_view value,
                                                         std::vector<NameAddr>& out);
// The same, into vectors that allocate from a memory resource (a Message's arena).
[[nodiscard]] Result<void, ParseError> parseViaList(std::string_view value,
                                                    std::pmr::vector<Via>& out);
[[nodiscard]] Result<void, ParseError> parseNameAddrList(std::string_view value,
                                                         std::pmr::vector<NameAddr>& out);
// Supported, Require, Proxy-Require, Unsupported, Allow, Allow-Events: token lists.
[[nodiscard]] Result<std::vector<std::string_view>, ParseError> parseTokenList(
    std::string_view value);

// Splits a header value at top-level commas; pieces are trimmed of surrounding whitespace.
[[nodiscard]] Result<std::vector<std::string_view>, ParseError> splitList(std::string_view value);

// Removes the quotes of a quoted-string and resolves quoted-pairs.
std::string unquote(std::string_view quoted);

}  // namespace sipedge::sip
