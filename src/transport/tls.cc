#include "sipedge/transport/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "openssl_ptr.h"
#include "sipedge/base/strings.h"

namespace sipedge::transport {

void SslCtxDeleter::operator()(ssl_ctx_st* ctx) const {
  SSL_CTX_free(ctx);
}

void SslDeleter::operator()(ssl_st* ssl) const {
  SSL_free(ssl);
}

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::string quoted(std::string_view value) {
  return "\"" + std::string(value) + "\"";
}

// A certificate's time as ISO 8601 UTC, e.g. "2021-01-01T00:00:00Z".
std::string isoTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return "(unreadable time)";
  }
  std::array<char, 32> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf.data(), n);
}

// A PEM pass phrase callback that refuses: an encrypted key would otherwise make OpenSSL prompt
// on the terminal, which a daemon must never do.
int refusePassphrase(char*, int, int, void*) {
  return -1;
}

// A certificate with its chain and private key, loaded from PEM files and checked.
struct Credential {
  X509Ptr leaf;
  std::vector<X509Ptr> chain;
  PkeyPtr key;
};

Result<void, TlsError> checkValidNow(const X509* cert, const std::string& file, std::size_t index) {
  const std::string which = index == 0
                                ? "certificate " + file
                                : "chain certificate " + std::to_string(index) + " in " + file;
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  if (X509_cmp_current_time(not_before) >= 0) {
    return fail(tlsError("certificate", which + " is not valid before " + isoTime(not_before)));
  }
  if (X509_cmp_current_time(not_after) <= 0) {
    return fail(tlsError("certificate", which + " expired on " + isoTime(not_after)));
  }
  return {};
}

Result<Credential, TlsError> loadCredential(const std::string& cert_file,
                                            const std::string& key_file) {
  if (key_file.empty()) {
    return fail(TlsError{"private key", "no key_file given for certificate " + cert_file});
  }
  Credential cred;
  {
    BioPtr bio(BIO_new_file(cert_file.c_str(), "r"));
    if (!bio) {
      return fail(tlsError("certificate", "cannot open " + cert_file));
    }
    cred.leaf.reset(PEM_read_bio_X509_AUX(bio.get(), nullptr, refusePassphrase, nullptr));
    if (!cred.leaf) {
      return fail(tlsError("certificate", "no PEM certificate in " + cert_file));
    }
    while (X509Ptr next{PEM_read_bio_X509(bio.get(), nullptr, refusePassphrase, nullptr)}) {
      cred.chain.push_back(std::move(next));
    }
    // The loop ends at the end of the file (PEM_R_NO_START_LINE) or at a broken block.
    const unsigned long last = ERR_peek_last_error();
    if (last != 0 &&
        !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
      return fail(tlsError("certificate", "unreadable chain certificate " +
                                              std::to_string(cred.chain.size() + 1) + " in " +
                                              cert_file));
    }
    ERR_clear_error();
  }
  if (auto r = checkValidNow(cred.leaf.get(), cert_file, 0); !r) {
    return fail(r.error());
  }
  for (std::size_t i = 0; i < cred.chain.size(); ++i) {
    if (auto r = checkValidNow(cred.chain[i].get(), cert_file, i + 1); !r) {
      return fail(r.error());
    }
  }
  {
    BioPtr bio(BIO_new_file(key_file.c_str(), "r"));
    if (!bio) {
      return fail(tlsError("private key", "cannot open " + key_file));
    }
    cred.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, refusePassphrase, nullptr));
    if (!cred.key) {
      const unsigned long last = ERR_peek_last_error();
      if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_BAD_PASSWORD_READ) {
        return fail(tlsError("private key", "private key " + key_file +
                                                " is encrypted; only unencrypted keys are read"));
      }
      return fail(tlsError("private key", "no PEM private key in " + key_file));
    }
  }
  if (X509_check_private_key(cred.leaf.get(), cred.key.get()) != 1) {
    return fail(tlsError("private key", "private key does not match certificate " + cert_file +
                                            " (key " + key_file + ")"));
  }
  return cred;
}

Result<int, TlsError> parseMinVersion(const std::string& value) {
  if (value == "1.2") {
    return TLS1_2_VERSION;
  }
  if (value == "1.3") {
    return TLS1_3_VERSION;
  }
  return fail(TlsError{"min_version",
                       "unsupported value " + quoted(value) + " (allowed: \"1.2\", \"1.3\")"});
}

std::vector<std::string> splitList(std::string_view list, std::string_view separators) {
  std::vector<std::string> items;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t end = std::min(list.find_first_of(separators, pos), list.size());
    if (end > pos) {
      items.emplace_back(list.substr(pos, end - pos));
    }
    pos = end + 1;
  }
  return items;
}

// OpenSSL skips a name it does not know as long as the rest of the list selects something, so a
// typo would silently drop a cipher. Each name is tried on its own first.
Result<void, TlsError> checkCipherNames(const TlsSettings& settings) {
  if (settings.ciphers.empty() && settings.ciphersuites.empty()) {
    return {};
  }
  SslCtxPtr scratch(SSL_CTX_new(TLS_method()));
  if (!scratch) {
    return fail(tlsError("context", "cannot create an SSL_CTX"));
  }
  // TLS 1.2: OpenSSL's cipher string. Entries with an operator (!, -, +, @) can select nothing
  // on their own and are left to the check of the whole string; names and aliases ("HIGH",
  // "ECDHE+AESGCM") must select at least one TLS 1.2 cipher.
  for (const std::string& item : splitList(settings.ciphers, ":, ")) {
    if (item[0] == '!' || item[0] == '-' || item[0] == '+' || item[0] == '@') {
      continue;
    }
    if (SSL_CTX_set_cipher_list(scratch.get(), item.c_str()) != 1) {
      return fail(tlsError(
          "ciphers", "unknown TLS 1.2 cipher " + quoted(item) + " in " + quoted(settings.ciphers)));
    }
  }
  // TLS 1.3: a plain list of suite names.
  for (const std::string& item : splitList(settings.ciphersuites, ":")) {
    if (SSL_CTX_set_ciphersuites(scratch.get(), item.c_str()) != 1) {
      return fail(tlsError("ciphersuites", "unknown TLS 1.3 ciphersuite " + quoted(item) + " in " +
                                               quoted(settings.ciphersuites)));
    }
  }
  return {};
}

// Settings shared by the server and the client contexts.
Result<SslCtxPtr, TlsError> newContext(const SSL_METHOD* method, const TlsSettings& settings,
                                       int min_version, X509_STORE* store) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) {
    return fail(tlsError("context", "cannot create an SSL_CTX"));
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_min_proto_version(ctx.get(), min_version) != 1) {
    return fail(tlsError("min_version", "cannot set " + quoted(settings.min_version)));
  }
  if (!settings.ciphers.empty() &&
      SSL_CTX_set_cipher_list(ctx.get(), settings.ciphers.c_str()) != 1) {
    return fail(tlsError("ciphers", "invalid TLS 1.2 cipher list " + quoted(settings.ciphers)));
  }
  if (!settings.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx.get(), settings.ciphersuites.c_str()) != 1) {
    return fail(
        tlsError("ciphersuites", "invalid TLS 1.3 ciphersuites " + quoted(settings.ciphersuites)));
  }
  if (!settings.groups.empty() &&
      SSL_CTX_set1_groups_list(ctx.get(), settings.groups.c_str()) != 1) {
    return fail(tlsError("groups", "invalid key exchange groups " + quoted(settings.groups)));
  }
  SSL_CTX_set1_cert_store(ctx.get(), store);  // takes its own reference
  return ctx;
}

Result<void, TlsError> useCredential(SSL_CTX* ctx, const Credential& cred,
                                     const std::string& cert_file) {
  if (SSL_CTX_use_certificate(ctx, cred.leaf.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, cred.key.get()) != 1) {
    return fail(tlsError("certificate", "cannot use certificate " + cert_file));
  }
  for (const X509Ptr& cert : cred.chain) {
    if (SSL_CTX_add1_chain_cert(ctx, cert.get()) != 1) {
      return fail(tlsError("certificate", "cannot use the chain in " + cert_file));
    }
  }
  return {};
}

// Request mode: verify the client's chain, but let the handshake complete whatever the result.
// SSL_get_verify_result() keeps the outcome, and identityOf() reports it. Verification goes on
// after an accepted error and may add more ("unable to get local issuer certificate", then
// "unable to verify the first certificate"); OpenSSL would report the last, so the first is
// put back each time: the same certificate then reads the same as in Require mode, which stops
// at the first.
int acceptAnyChain(int preverify_ok, X509_STORE_CTX* store_ctx) {
  if (preverify_ok == 0) {
    auto* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl != nullptr) {
      const long first = SSL_get_verify_result(ssl);
      if (first == X509_V_OK) {
        SSL_set_verify_result(ssl, X509_STORE_CTX_get_error(store_ctx));
      } else {
        X509_STORE_CTX_set_error(store_ctx, static_cast<int>(first));
      }
    }
  }
  return 1;
}

constexpr std::string_view kSessionIdContext = "sipedge";

Result<SslCtxPtr, TlsError> newServerContext(const TlsSettings& settings, int min_version,
                                             X509_STORE* store, const Credential& cred,
                                             const std::string& cert_file) {
  auto ctx = newContext(TLS_server_method(), settings, min_version, store);
  if (!ctx) {
    return fail(ctx.error());
  }
  SSL_CTX* raw = ctx->get();
  SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (auto r = useCredential(raw, cred, cert_file); !r) {
    return fail(r.error());
  }
  SSL_CTX_set_session_id_context(raw,
                                 reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
                                 static_cast<unsigned int>(kSessionIdContext.size()));
  switch (settings.client_cert) {
    case ClientCertMode::None: SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr); break;
    case ClientCertMode::Request: SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, acceptAnyChain); break;
    case ClientCertMode::Require:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  if (settings.client_cert != ClientCertMode::None && !settings.ca_file.empty()) {
    // The CA names in the CertificateRequest help a client with several certificates choose.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.ca_file.c_str());
    if (names == nullptr) {
      return fail(tlsError("CA bundle", "cannot read CA names from " + settings.ca_file));
    }
    SSL_CTX_set_client_CA_list(raw, names);  // takes ownership
  }
  return ctx;
}

}  // namespace

TlsContexts::~TlsContexts() = default;

Result<std::shared_ptr<const TlsContexts>, TlsError> TlsContexts::build(
    const TlsSettings& settings) {
  ERR_clear_error();  // nothing stale in the reasons below
  auto min_version = parseMinVersion(settings.min_version);
  if (!min_version) {
    return fail(min_version.error());
  }
  if (auto names = checkCipherNames(settings); !names) {
    return fail(names.error());
  }
  if (settings.certificate_file.empty() && !settings.sni.empty()) {
    return fail(TlsError{"sni", "per-domain certificates need a default certificate_file"});
  }

  std::optional<Credential> cred;
  if (!settings.certificate_file.empty()) {
    auto loaded = loadCredential(settings.certificate_file, settings.key_file);
    if (!loaded) {
      return fail(loaded.error());
    }
    cred = std::move(*loaded);
  }

  StorePtr store(X509_STORE_new());
  if (!store) {
    return fail(tlsError("CA bundle", "cannot create an X509_STORE"));
  }
  if (settings.ca_file.empty()) {
    if (X509_STORE_set_default_paths(store.get()) != 1) {
      return fail(tlsError("CA bundle", "cannot use the system's default CA paths"));
    }
  } else if (X509_STORE_load_file(store.get(), settings.ca_file.c_str()) != 1) {
    return fail(tlsError("CA bundle", "cannot load CA certificates from " + settings.ca_file));
  }

  std::shared_ptr<TlsContexts> contexts(new TlsContexts());
  contexts->settings_ = settings;

  if (cred) {
    auto server =
        newServerContext(settings, *min_version, store.get(), *cred, settings.certificate_file);
    if (!server) {
      return fail(server.error());
    }
    contexts->server_ = std::move(*server);
    for (const TlsSettings::SniCertificate& sni : settings.sni) {
      const std::string domain = toLower(sni.domain);
      if (domain.empty()) {
        return fail(TlsError{"sni", "empty domain for certificate " + sni.certificate_file});
      }
      if (contexts->sni_.count(domain) != 0) {
        return fail(TlsError{"sni", "domain " + quoted(sni.domain) + " appears twice"});
      }
      auto sni_cred = loadCredential(sni.certificate_file, sni.key_file);
      if (!sni_cred) {
        return fail(sni_cred.error());
      }
      auto ctx =
          newServerContext(settings, *min_version, store.get(), *sni_cred, sni.certificate_file);
      if (!ctx) {
        return fail(ctx.error());
      }
      contexts->sni_.emplace(domain, std::move(*ctx));
    }
    SSL_CTX_set_tlsext_servername_callback(contexts->server_.get(), &TlsContexts::onServerName);
    SSL_CTX_set_tlsext_servername_arg(contexts->server_.get(), contexts.get());
  }

  auto client = newContext(TLS_client_method(), settings, *min_version, store.get());
  if (!client) {
    return fail(client.error());
  }
  // Chain failures fail the handshake. The name check is RFC 5922's, done by the caller.
  SSL_CTX_set_verify(client->get(), SSL_VERIFY_PEER, nullptr);
  if (cred) {
    if (auto r = useCredential(client->get(), *cred, settings.certificate_file); !r) {
      return fail(r.error());
    }
  }
  contexts->client_ = std::move(*client);
  return std::shared_ptr<const TlsContexts>(std::move(contexts));
}

int TlsContexts::onServerName(ssl_st* ssl, int*, void* arg) {
  const auto* self = static_cast<const TlsContexts*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) {
    return SSL_TLSEXT_ERR_NOACK;  // no SNI: the default certificate
  }
  const auto it = self->sni_.find(toLower(name));
  if (it == self->sni_.end()) {
    return SSL_TLSEXT_ERR_NOACK;  // unknown name: the default certificate
  }
  // The per-domain context carries the same verification, versions and ciphers as the default
  // one; switching swaps in its certificate and key.
  if (SSL_set_SSL_CTX(ssl, it->second.get()) == nullptr) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

void TlsContextStore::set(const std::string& name, TlsContextsSharedPtr contexts) {
  TlsContextsSharedPtr old;  // released outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = entries_[name];
  old = std::move(slot);
  slot = std::move(contexts);
}

TlsContextsSharedPtr TlsContextStore::get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

std::string drainOpensslErrors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (const unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) {
      out += "; ";
    }
    out += buf.data();
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out;
}

TlsError tlsError(std::string stage, std::string reason) {
  const std::string queue = drainOpensslErrors();
  if (!queue.empty()) {
    reason += " [" + queue + "]";
  }
  return TlsError{std::move(stage), std::move(reason)};
}

}  // namespace sipedge::transport
