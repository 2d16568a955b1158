// The pure half of the peer identity: which SIP domains a certificate identifies (RFC 5922).
// identityOf(), which reads the certificate through OpenSSL, is in tls_identity.cc.

#include "sipedge/transport/peer_identity.h"

#include <algorithm>
#include <optional>

#include "sipedge/base/strings.h"
#include "sipedge/sip/uri.h"

namespace sipedge::transport {
namespace {

bool isLdh(char c) {
  return asciiAlpha(c) || (c >= '0' && c <= '9') || c == '-';
}

// A host name in the preferred syntax (RFC 1034 3.5, RFC 1123 2.1): dot-separated labels of
// letters, digits and hyphens, none empty, longer than 63 or starting or ending with a hyphen;
// 253 characters at most. IDNs appear here in their ASCII (A-label) form.
bool isDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), isLdh)) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

// RFC 5922 7.1 step 1, type URI: only the scheme "sip" names a SIP domain, and only without a
// user part ("sip:alice@example.com" identifies a user, not the domain). The identity is the
// host part; port and parameters play no role (7.2).
std::optional<std::string> sipUriDomain(std::string_view text) {
  const auto uri = sip::parseUri(text);
  if (!uri || uri->scheme != sip::UriScheme::Sip || !uri->user.empty() || uri->has_password ||
      uri->host.empty()) {
    return std::nullopt;
  }
  return toLower(uri->host);
}

void addUnique(std::vector<std::string>& out, std::string domain) {
  if (!domain.empty() && std::find(out.begin(), out.end(), domain) == out.end()) {
    out.push_back(std::move(domain));
  }
}

}  // namespace

// RFC 5922 7.1, "Finding SIP Identities in a Certificate":
//  1. Each subjectAltName value. A URI whose scheme is "sip" and which has no userinfo gives
//     its host part (any other scheme, "sips" included, and any URI with a user part give
//     nothing). A dNSName is an identity if and only if no "sip" URI gave one.
//  2. Only if the certificate has no subjectAltName at all, the CN MAY be used when it is a
//     valid DNS name (backward compatibility). We do use it.
std::vector<std::string> PeerIdentity::sipDomains() const {
  std::vector<std::string> out;
  for (const std::string& uri : uris) {
    if (auto domain = sipUriDomain(uri)) {
      addUnique(out, std::move(*domain));
    }
  }
  if (!out.empty()) {
    return out;
  }
  for (const std::string& name : dns_names) {
    addUnique(out, toLower(name));
  }
  if (!has_subject_alt_name && dns_names.empty() && uris.empty() && isDnsName(common_name)) {
    addUnique(out, toLower(common_name));
  }
  return out;
}

// RFC 5922 7.2, "Comparing SIP Identities": DNS names only (no scheme, no parameters), compared
// case-insensitively (RFC 4343) and whole: no suffix matching, and no wildcard expansion, so a
// dNSName "*.example.com" matches only the string "*.example.com", never "sip.example.com".
// An identity from a certificate that did not verify identifies nobody.
bool PeerIdentity::covers(std::string_view domain) const {
  if (!presented || !verified || domain.empty()) {
    return false;
  }
  const std::vector<std::string> domains = sipDomains();
  return std::any_of(domains.begin(), domains.end(),
                     [&](const std::string& d) { return iequals(d, domain); });
}

}  // namespace sipedge::transport
