#pragma once

// Who is at the other end of a TLS connection, as its certificate says (RFC 5922), taken once per
// connection after the handshake and attached to every message that arrives on it. A plain value:
// policy, the decision log and `sipedge probe` read it without touching OpenSSL.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct ssl_st;
struct x509_st;

namespace sipedge::transport {

struct PeerIdentity {
  bool presented = false;              // the peer sent a certificate
  bool verified = false;               // its chain verified against the configured CA bundle
  std::string verify_error;            // OpenSSL's reason when presented and not verified
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries, as written
  std::vector<std::string> uris;       // subjectAltName uniformResourceIdentifier entries
  std::string common_name;             // subject CN (used only as RFC 5922 7.1 permits)
  std::string subject;                 // one line, RFC 2253
  std::string issuer;                  // one line, RFC 2253
  std::string serial;                  // hex
  std::string fingerprint_sha256;      // "AB:CD:..." over the DER certificate
  std::int64_t not_before = 0;         // Unix seconds
  std::int64_t not_after = 0;

  // RFC 5922 7.1: the SIP domains the certificate identifies. The host of each sip:/sips: URI
  // SAN without a user part; then each dNSName SAN; the CN only when the certificate has no SAN
  // of either kind. Lower-cased, duplicates removed, in that order.
  std::vector<std::string> sipDomains() const;

  // RFC 5922 7.2: whether the certificate identifies `domain` (case-insensitive, exact; a
  // wildcard dNSName never matches a SIP domain). False unless `verified`.
  bool covers(std::string_view domain) const;

  bool operator==(const PeerIdentity&) const = default;
};

// The identity of `cert`, with `verified` / `verify_error` from OpenSSL's verification result
// (X509_V_OK or an X509_V_ERR_* code).
PeerIdentity identityOf(const x509_st* cert, long verify_result);

// The identity of an established TLS connection's peer (presented = false without a
// certificate).
PeerIdentity identityOf(const ssl_st* ssl);

}  // namespace sipedge::transport
