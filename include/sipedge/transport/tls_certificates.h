#pragma once

// What a TLS profile's certificate file holds, read for the checks and reports that go beyond
// TlsContexts::build: whether the chain in the file verifies to a CA bundle, and the leaf's
// identity (the domains it covers, its expiry). Certificate rotation (issue 5) runs these before
// a new context replaces the one in service.

#include <cstddef>
#include <string>

#include "sipedge/base/result.h"
#include "sipedge/transport/peer_identity.h"
#include "sipedge/transport/tls.h"

namespace sipedge::transport {

struct CertificateFileCheck {
  // The first certificate of the file. `verified` / `verify_error`: the outcome of verifying it,
  // with the rest of the file as untrusted intermediates, against the CA bundle; when no bundle
  // was given, verified = false and verify_error is empty (nothing was checked).
  PeerIdentity leaf;
  std::size_t chain_certificates = 0;  // certificates after the leaf
};

// Reads `certificate_file` (PEM: the leaf, then its chain) and, when `ca_file` is not empty,
// verifies the leaf's chain to the CAs of `ca_file` at the current time. Errors: a file that
// cannot be read or holds no certificate, an unreadable CA bundle. A chain that does not verify
// is not an error here: the result says so and why.
[[nodiscard]] Result<CertificateFileCheck, TlsError> checkCertificateFile(
    const std::string& certificate_file, const std::string& ca_file);

}  // namespace sipedge::transport
