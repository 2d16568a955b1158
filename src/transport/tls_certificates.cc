#include "sipedge/transport/tls_certificates.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <vector>

#include "openssl_ptr.h"

namespace sipedge::transport {
namespace {

int refusePassphrase(char*, int, int, void*) {
  return -1;
}

}  // namespace

Result<CertificateFileCheck, TlsError> checkCertificateFile(const std::string& certificate_file,
                                                            const std::string& ca_file) {
  ERR_clear_error();
  X509Ptr leaf;
  std::vector<X509Ptr> chain;
  {
    BioPtr bio(BIO_new_file(certificate_file.c_str(), "r"));
    if (!bio) {
      return fail(tlsError("certificate", "cannot open " + certificate_file));
    }
    leaf.reset(PEM_read_bio_X509_AUX(bio.get(), nullptr, refusePassphrase, nullptr));
    if (!leaf) {
      return fail(tlsError("certificate", "no PEM certificate in " + certificate_file));
    }
    while (X509Ptr next{PEM_read_bio_X509(bio.get(), nullptr, refusePassphrase, nullptr)}) {
      chain.push_back(std::move(next));
    }
    ERR_clear_error();  // the end of the file
  }
  CertificateFileCheck out;
  out.chain_certificates = chain.size();
  if (ca_file.empty()) {
    out.leaf = identityOf(leaf.get(), X509_V_OK);
    out.leaf.verified = false;
    return out;
  }
  StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_load_file(store.get(), ca_file.c_str()) != 1) {
    return fail(tlsError("CA bundle", "cannot load CA bundle " + ca_file));
  }
  StackPtr untrusted(sk_X509_new_null());
  for (const X509Ptr& c : chain) {
    sk_X509_push(untrusted.get(), c.get());
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!untrusted || !ctx ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1) {
    return fail(tlsError("context", "cannot set up the verification of " + certificate_file));
  }
  const int ok = X509_verify_cert(ctx.get());
  const long result = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  out.leaf =
      identityOf(leaf.get(), result == X509_V_OK && ok != 1 ? X509_V_ERR_UNSPECIFIED : result);
  return out;
}

}  // namespace sipedge::transport
