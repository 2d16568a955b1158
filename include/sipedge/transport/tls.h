#pragma once

// TLS contexts (DESIGN.md TLS): building validated OpenSSL 3 contexts from configuration, and a
// store whose entries can be replaced at run time. A new handshake takes the store's current
// entry; an established connection keeps the entry it was made with, so replacing one never
// touches a live connection (certificate rotation, issue 5, uses exactly this).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sipedge/base/result.h"

struct ssl_ctx_st;
struct ssl_st;

namespace sipedge::transport {

struct TlsError {
  std::string stage;   // the setting or step: "certificate", "private key", "CA bundle",
                       // "min_version", "ciphers", "ciphersuites", "groups", "sni", "context"
  std::string reason;  // what went wrong, naming the file or value, then OpenSSL's error queue
  std::string describe() const { return stage + ": " + reason; }
};

enum class ClientCertMode : std::uint8_t {
  None,     // do not ask the client for a certificate
  Request,  // ask; complete the handshake whatever is presented, and record the outcome in the
            // peer's PeerIdentity (presented / verified / verify_error) for policy to judge
  Require,  // the handshake fails without a certificate that verifies (against ca_file)
};

// One set of TLS settings. Every field maps to a config key (issue 5), defaults here (S30).
struct TlsSettings {
  std::string certificate_file;  // PEM: the leaf, then the chain; empty: a client-only profile
  std::string key_file;          // PEM private key (must match the certificate, not encrypted)
  std::string ca_file;  // PEM bundle of CAs that peers' certificates must chain to; empty: the
                        // system's default CA paths
  ClientCertMode client_cert = ClientCertMode::Request;  // server side (mutual TLS)
  std::string min_version = "1.2";                       // "1.2" or "1.3"
  std::string ciphers;       // TLS 1.2 cipher list (OpenSSL syntax; every name or alias must
                             // select a cipher); empty: OpenSSL's default
  std::string ciphersuites;  // TLS 1.3 suite names, ':'-separated; empty: OpenSSL's default
  std::string groups;        // key exchange groups, e.g. "X25519:P-256"; empty: default
  struct SniCertificate {
    std::string domain;  // server name a client asks for (exact, case-insensitive)
    std::string certificate_file;
    std::string key_file;
  };
  std::vector<SniCertificate> sni;  // per-domain server certificates
};

// RAII for the OpenSSL handles that leave src/transport (STYLE S9).
struct SslCtxDeleter {
  void operator()(ssl_ctx_st* ctx) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxDeleter>;
struct SslDeleter {
  void operator()(ssl_st* ssl) const;
};
using SslPtr = std::unique_ptr<ssl_st, SslDeleter>;

// Built contexts for one TLS profile. Immutable once built; shared by the connections made with
// it. A connection must hold the shared_ptr for as long as its SSL object exists: the server
// context's SNI callback refers to this object.
class TlsContexts {
 public:
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // Loads and checks everything; the first problem found is the error:
  //  - certificate_file / key_file (and each SNI pair): readable PEM, the key not encrypted and
  //    matching the certificate, every certificate in the file valid now (not expired, not
  //    before its notBefore);
  //  - ca_file: a readable bundle with at least one certificate;
  //  - min_version, ciphers, ciphersuites, groups: values OpenSSL accepts.
  // SNI certificates need a default certificate. Both contexts allow TLS 1.2 at least and have
  // renegotiation and compression disabled.
  [[nodiscard]] static Result<std::shared_ptr<const TlsContexts>, TlsError> build(
      const TlsSettings& settings);

  // Server side: the default certificate, switching by SNI to a per-domain one (unknown or
  // absent SNI: the default). Null when no certificate is configured.
  ssl_ctx_st* server() const { return server_.get(); }
  // Client side: verifies the server's chain against ca_file (or the system store when ca_file
  // is empty; a failure fails the handshake) and presents the certificate when one is
  // configured (mutual TLS). No host name check: the caller checks
  // identityOf(ssl).covers(domain) after the handshake (RFC 5922 7.3), and sets SNI itself.
  ssl_ctx_st* client() const { return client_.get(); }
  const TlsSettings& settings() const { return settings_; }

 private:
  TlsContexts() = default;
  static int onServerName(ssl_st* ssl, int* alert, void* arg);
  TlsSettings settings_;
  SslCtxPtr server_;
  SslCtxPtr client_;
  std::map<std::string, SslCtxPtr> sni_;  // lower-case domain -> context
};
using TlsContextsSharedPtr = std::shared_ptr<const TlsContexts>;

// Named TLS profiles, read by every worker at each new handshake, written by reload. Thread-safe.
// set() affects only later get()s: whoever holds an entry keeps it alive.
class TlsContextStore {
 public:
  void set(const std::string& name, TlsContextsSharedPtr contexts);
  TlsContextsSharedPtr get(const std::string& name) const;  // null when unknown

 private:
  mutable std::mutex mutex_;
  std::map<std::string, TlsContextsSharedPtr> entries_;
};

// OpenSSL's error queue as one line ("error:...; error:..."), drained (STYLE S10). Empty when
// the queue was empty.
std::string drainOpensslErrors();

// A TlsError whose reason ends with OpenSSL's error queue (drained), when it holds anything.
TlsError tlsError(std::string stage, std::string reason);

}  // namespace sipedge::transport
