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
  bool has_subject_alt_name = false;   // the subjectAltName extension is present (any types)
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries, as written
  std::vector<std::string> uris;       // subjectAltName uniformResourceIdentifier entries
  std::string common_name;             // subject CN (used only as RFC 5922 7.1 permits)
  std::string subject;                 // one line, RFC 2253
  std::string issuer;                  // one line, RFC 2253
  std::string serial;                  // hex, upper case, as `openssl x509 -serial` prints it
  std::string fingerprint_sha256;      // "AB:CD:..." over the DER certificate
  std::int64_t not_before = 0;         // Unix seconds
  std::int64_t not_after = 0;

  // RFC 5922 7.1: the SIP domain identities the certificate carries, lower-cased, duplicates
  // removed, in certificate order:
  //  - the host of each URI SAN with the scheme "sip" and no user part (not "sips", not
  //    "sip:user@host");
  //  - the dNSName SANs, only when no URI SAN gave an identity;
  //  - the CN, only when the certificate has no subjectAltName extension at all and the CN is a
  //    valid DNS name.
  std::vector<std::string> sipDomains() const;

  // RFC 5922 7.2: whether `domain` is one of sipDomains(), compared whole and case-insensitively
  // (no suffix match; a wildcard such as "*.example.com" matches only itself, never a name
  // under it). False unless `verified`.
  bool covers(std::string_view domain) const;

  bool operator==(const PeerIdentity&) const = default;
};

// The identity of `cert`, with `verified` / `verify_error` from OpenSSL's verification result
// (X509_V_OK or an X509_V_ERR_* code). A null `cert` gives presented = false.
PeerIdentity identityOf(const x509_st* cert, long verify_result);

// The identity of an established TLS connection's peer (presented = false without a
// certificate), with SSL_get_verify_result() as the verification result.
PeerIdentity identityOf(const ssl_st* ssl);

}  // namespace sipedge::transport
