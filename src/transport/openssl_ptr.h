#pragma once

// unique_ptr aliases for the OpenSSL handles the transport's .cc files own (STYLE S9), written
// once. Private to src/transport.

#include <openssl/bio.h>
#include <openssl/x509.h>

#include <memory>

namespace sipedge::transport {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

}  // namespace sipedge::transport
