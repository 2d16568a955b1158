#pragma once

// TLS contexts (DESIGN.md TLS): building validated OpenSSL 3 contexts from configuration, and a
// store whose entries can be replaced at run time. A new handshake takes the store's current
// entry; an established connection keeps the entry it was made with, so replacing one never
// touches a live connection (certificate rotation, issue 5, uses exactly this).

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sipedge/base/result.h"

struct ssl_ctx_st;

namespace sipedge::transport {

struct TlsError {
  std::string stage;   // "certificate", "private key", "CA bundle", "ciphers", ...
  std::string reason;  // what went wrong, including OpenSSL's error queue
  std::string describe() const { return stage + ": " + reason; }
};

enum class ClientCertMode : std::uint8_t { None, Request, Require };

// One set of TLS settings. Every field maps to a config key (issue 5), defaults here (S30).
struct TlsSettings {
  std::string certificate_file;  // PEM: the leaf, then the chain
  std::string key_file;          // PEM private key (must match the certificate)
  std::string ca_file;           // PEM bundle of CAs that peers' certificates must chain to
  ClientCertMode client_cert = ClientCertMode::Request;  // server side (mutual TLS)
  std::string min_version = "1.2";                       // "1.2" or "1.3"
  std::string ciphers;       // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's default
  std::string ciphersuites;  // TLS 1.3 suites; empty: OpenSSL's default
  std::string groups;        // key exchange groups, e.g. "X25519:P-256"; empty: default
  struct SniCertificate {
    std::string domain;  // server name a client asks for (exact, case-insensitive)
    std::string certificate_file;
    std::string key_file;
  };
  std::vector<SniCertificate> sni;  // per-domain server certificates
};

// Built contexts for one TLS profile. Immutable once built; shared by the connections made with
// it (they hold the shared_ptr), so it outlives every handshake that uses it.
class TlsContexts {
 public:
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // Server side: the default certificate, switching by SNI to a per-domain one.
  // Requires certificate_file and key_file.
  [[nodiscard]] static Result<std::shared_ptr<const TlsContexts>, TlsError> build(
      const TlsSettings& settings);

  ssl_ctx_st* server() const { return server_; }  // null when no certificate is configured
  // Client side: verifies the server against ca_file (or the system store when ca_file is
  // empty) and presents the certificate when one is configured (mutual TLS).
  ssl_ctx_st* client() const { return client_; }
  const TlsSettings& settings() const { return settings_; }

 private:
  TlsContexts() = default;
  static int onServerName(struct ssl_st* ssl, int* alert, void* arg);
  TlsSettings settings_;
  ssl_ctx_st* server_ = nullptr;
  ssl_ctx_st* client_ = nullptr;
  std::map<std::string, ssl_ctx_st*> sni_;  // lower-case domain -> context
};
using TlsContextsSharedPtr = std::shared_ptr<const TlsContexts>;

// Named TLS profiles, read by every worker at each new handshake, written by reload. Thread-safe.
class TlsContextStore {
 public:
  void set(const std::string& name, TlsContextsSharedPtr contexts);
  TlsContextsSharedPtr get(const std::string& name) const;  // null when unknown

 private:
  mutable std::mutex mutex_;
  std::map<std::string, TlsContextsSharedPtr> entries_;
};

// OpenSSL's error queue as one line, drained (STYLE S10).
std::string drainOpensslErrors();

}  // namespace sipedge::transport
