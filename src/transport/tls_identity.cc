// identityOf(): a PeerIdentity read from an X.509 certificate. The pure rules that interpret it
// (RFC 5922 7.1 / 7.2) live in peer_identity.cc, which does not depend on OpenSSL.

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "openssl_ptr.h"
#include "sipedge/transport/peer_identity.h"

namespace sipedge::transport {
namespace {

struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;

struct Utf8Deleter {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

// An IA5String SAN entry as written; nullopt for one with an embedded NUL (a classic trick to
// make "victim.example\0.attacker.example" look like "victim.example" to C string code).
std::optional<std::string> ia5(const ASN1_IA5STRING* s) {
  const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(s));
  const int len = ASN1_STRING_length(s);
  if (data == nullptr || len < 0) {
    return std::nullopt;
  }
  std::string out(data, static_cast<std::size_t>(len));
  if (out.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  return out;
}

std::string nameOneLine(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || name == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

// The most specific (last) CN of the subject, as UTF-8.
std::string commonName(const X509_NAME* name) {
  int index = -1;
  for (int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) {
    index = i;
  }
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, value);
  if (len < 0) {
    return {};
  }
  std::unique_ptr<unsigned char, Utf8Deleter> owned(utf8);
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  return out.find('\0') == std::string::npos ? out : std::string();
}

// Hex of the serial's magnitude, two digits a byte, as `openssl x509 -serial` prints it.
std::string serialHex(const ASN1_INTEGER* serial) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  if (serial == nullptr) {
    return out;
  }
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
    out.push_back('-');
  }
  const unsigned char* data = ASN1_STRING_get0_data(serial);
  const int len = ASN1_STRING_length(serial);
  for (int i = 0; i < len; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0f]);
  }
  return out.empty() ? "00" : out;
}

std::string fingerprintSha256(const X509* cert) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &n) != 1) {
    return {};
  }
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) {
      out.push_back(':');
    }
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0x0f]);
  }
  return out;
}

std::int64_t unixSeconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

PeerIdentity identityOf(const x509_st* cert, long verify_result) {
  PeerIdentity id;
  if (cert == nullptr) {
    return id;
  }
  id.presented = true;
  id.verified = verify_result == X509_V_OK;
  if (!id.verified) {
    id.verify_error = X509_verify_cert_error_string(verify_result);
  }

  int critical = 0;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  // critical is -1 when the extension is absent, -2 when it appears more than once.
  id.has_subject_alt_name = critical != -1;
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type == GEN_DNS) {
        if (auto s = ia5(name->d.dNSName)) {
          id.dns_names.push_back(std::move(*s));
        }
      } else if (name->type == GEN_URI) {
        if (auto s = ia5(name->d.uniformResourceIdentifier)) {
          id.uris.push_back(std::move(*s));
        }
      }
    }
  }

  const X509_NAME* subject = X509_get_subject_name(cert);
  id.common_name = commonName(subject);
  id.subject = nameOneLine(subject);
  id.issuer = nameOneLine(X509_get_issuer_name(cert));
  id.serial = serialHex(X509_get0_serialNumber(cert));
  id.fingerprint_sha256 = fingerprintSha256(cert);
  id.not_before = unixSeconds(X509_get0_notBefore(cert));
  id.not_after = unixSeconds(X509_get0_notAfter(cert));
  return id;
}

PeerIdentity identityOf(const ssl_st* ssl) {
  if (ssl == nullptr) {
    return {};
  }
  return identityOf(SSL_get0_peer_certificate(ssl), SSL_get_verify_result(ssl));
}

}  // namespace sipedge::transport
