// TlsContexts and TlsContextStore: real OpenSSL handshakes in memory (two SSL objects joined by a
// BIO pair, pumped in a bounded loop), and the errors a bad configuration gets.

#include "sipedge/transport/tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_certs.h"
#include "sipedge/transport/peer_identity.h"

namespace sipedge::transport {
namespace {

using sipedge::testing::CertFiles;
using sipedge::testing::TestCerts;

const TestCerts& certs() {
  return TestCerts::shared();
}

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// A server profile with `files` as its certificate, trusting the test CA for clients.
TlsSettings serverSettings(const CertFiles& files, ClientCertMode mode = ClientCertMode::None) {
  TlsSettings s;
  s.certificate_file = files.cert;
  s.key_file = files.key;
  s.ca_file = certs().ca;
  s.client_cert = mode;
  return s;
}

// A client-only profile trusting `ca_file`.
TlsSettings clientSettings(const std::string& ca_file) {
  TlsSettings s;
  s.ca_file = ca_file;
  return s;
}

TlsContextsSharedPtr build(const TlsSettings& settings) {
  auto built = TlsContexts::build(settings);
  if (!built) {
    ADD_FAILURE() << "build failed: " << built.error().describe();
    return nullptr;
  }
  return *built;
}

TlsError buildError(const TlsSettings& settings) {
  auto built = TlsContexts::build(settings);
  if (built) {
    ADD_FAILURE() << "build succeeded where it should fail";
    return {};
  }
  return built.error();
}

struct Side {
  SslPtr ssl;
  bool done = false;
  bool failed = false;
  std::string error;  // OpenSSL's queue when it failed

  void step() {
    if (done || failed) {
      return;
    }
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl.get());
    if (rc == 1) {
      done = true;
      return;
    }
    const int e = SSL_get_error(ssl.get(), rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      failed = true;
      error = drainOpensslErrors();
    }
  }
};

struct Handshake {
  Side client;
  Side server;
  bool ok() const { return client.done && server.done; }
  PeerIdentity serverSees() const { return identityOf(server.ssl.get()); }
  PeerIdentity clientSees() const { return identityOf(client.ssl.get()); }
};

// Runs a handshake between a client made from `client_ctx` and a server made from `server_ctx`,
// until both finish or either fails (bounded: a stall fails the test instead of hanging it).
Handshake handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& sni = "",
                    const std::function<void(SSL*)>& tweak_client = {}) {
  Handshake h;
  h.client.ssl.reset(SSL_new(client_ctx));
  h.server.ssl.reset(SSL_new(server_ctx));
  if (!h.client.ssl || !h.server.ssl) {
    ADD_FAILURE() << "SSL_new failed: " << drainOpensslErrors();
    return h;
  }
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) {
    ADD_FAILURE() << "BIO_new_bio_pair failed";
    return h;
  }
  SSL_set_bio(h.client.ssl.get(), client_bio, client_bio);  // each SSL owns its end
  SSL_set_bio(h.server.ssl.get(), server_bio, server_bio);
  SSL_set_connect_state(h.client.ssl.get());
  SSL_set_accept_state(h.server.ssl.get());
  if (!sni.empty()) {
    SSL_set_tlsext_host_name(h.client.ssl.get(), sni.c_str());
  }
  if (tweak_client) {
    tweak_client(h.client.ssl.get());
  }
  for (int round = 0; round < 20 && !h.ok() && !h.client.failed && !h.server.failed; ++round) {
    h.client.step();
    h.server.step();
  }
  EXPECT_TRUE(h.ok() || h.client.failed || h.server.failed) << "handshake stalled";
  ERR_clear_error();
  return h;
}

Handshake handshake(const TlsContexts& client, const TlsContexts& server,
                    const std::string& sni = "",
                    const std::function<void(SSL*)>& tweak_client = {}) {
  return handshake(client.client(), server.server(), sni, tweak_client);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs().ok()) << certs().error(); }
};

// ---- server verification by the client -----------------------------------------------------

TEST_F(TlsTest, ServerOnlyTlsVerifiedByTheClient) {
  auto server = build(serverSettings(certs().server_dns));
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);
  EXPECT_EQ(client->server(), nullptr);  // a client-only profile

  Handshake h = handshake(*client, *server, "partner.example");
  ASSERT_TRUE(h.ok()) << h.client.error << " / " << h.server.error;
  const PeerIdentity seen = h.clientSees();
  EXPECT_TRUE(seen.presented);
  EXPECT_TRUE(seen.verified);
  EXPECT_EQ(seen.serial, "5EED0001");
  EXPECT_TRUE(seen.covers("partner.example"));  // RFC 5922 7.3, done by the caller
  EXPECT_FALSE(seen.covers("other.example"));
  EXPECT_FALSE(h.serverSees().presented);  // ClientCertMode::None asks for nothing
}

TEST_F(TlsTest, ClientRejectsAServerFromAnUnrelatedCa) {
  auto server = build(serverSettings(certs().server_other_ca));
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "partner.example");
  EXPECT_TRUE(h.client.failed);
  EXPECT_TRUE(contains(h.client.error, "certificate verify failed"));
  EXPECT_EQ(SSL_get_verify_result(h.client.ssl.get()),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(TlsTest, ClientWithoutCaFileUsesTheSystemStoreWhichDoesNotKnowTheTestCa) {
  auto server = build(serverSettings(certs().server_dns));
  auto client = build(clientSettings(""));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "partner.example");
  EXPECT_TRUE(h.client.failed);
  EXPECT_TRUE(contains(h.client.error, "certificate verify failed"));
}

TEST_F(TlsTest, ClientVerifiesEvenWhenTheNameDoesNotMatch) {
  // No host name check inside OpenSSL: the chain verifies, and covers() tells the caller.
  auto server = build(serverSettings(certs().server_alt));
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "partner.example");
  ASSERT_TRUE(h.ok()) << h.client.error;
  EXPECT_TRUE(h.clientSees().verified);
  EXPECT_FALSE(h.clientSees().covers("partner.example"));
}

TEST_F(TlsTest, ServerSendsTheChainFromItsCertificateFile) {
  auto server = build(serverSettings(certs().server_chain));
  auto client = build(clientSettings(certs().ca));  // trusts the root only
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "chain.partner.example");
  ASSERT_TRUE(h.ok()) << h.client.error;
  EXPECT_TRUE(h.clientSees().covers("chain.partner.example"));
  EXPECT_EQ(h.clientSees().issuer, "CN=sipedge test intermediate,O=sipedge test");
}

// ---- client certificates on the server side (mutual TLS) -------------------------------------

TlsSettings clientWithCertificate(const CertFiles& files) {
  TlsSettings s = clientSettings(certs().ca);
  s.certificate_file = files.cert;
  s.key_file = files.key;
  return s;
}

TEST_F(TlsTest, RequireAcceptsAClientCertificateThatVerifies) {
  auto server = build(serverSettings(certs().server_dns, ClientCertMode::Require));
  auto client = build(clientWithCertificate(certs().client));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "partner.example");
  ASSERT_TRUE(h.ok()) << h.client.error << " / " << h.server.error;
  const PeerIdentity peer = h.serverSees();
  EXPECT_TRUE(peer.presented);
  EXPECT_TRUE(peer.verified);
  EXPECT_EQ(peer.common_name, "client.partner.example");
  EXPECT_TRUE(peer.covers("client.partner.example"));
  EXPECT_TRUE(h.clientSees().covers("partner.example"));
}

TEST_F(TlsTest, RequireRefusesAClientWithoutACertificate) {
  auto server = build(serverSettings(certs().server_dns, ClientCertMode::Require));
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "partner.example");
  EXPECT_TRUE(h.server.failed);
  EXPECT_FALSE(h.ok());
  EXPECT_TRUE(contains(h.server.error, "peer did not return a certificate"));
}

TEST_F(TlsTest, RequireRefusesAClientCertificateThatDoesNotVerify) {
  auto server = build(serverSettings(certs().server_dns, ClientCertMode::Require));
  auto client = build(clientWithCertificate(certs().server_other_ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "partner.example");
  EXPECT_TRUE(h.server.failed);
  EXPECT_TRUE(contains(h.server.error, "certificate verify failed"));
  EXPECT_EQ(SSL_get_verify_result(h.server.ssl.get()),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(TlsTest, RequestCompletesWithAnUntrustedClientCertificateAndRecordsWhy) {
  auto server = build(serverSettings(certs().server_dns, ClientCertMode::Request));
  auto client = build(clientWithCertificate(certs().server_other_ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "partner.example");
  ASSERT_TRUE(h.ok()) << h.client.error << " / " << h.server.error;
  const PeerIdentity peer = h.serverSees();
  EXPECT_TRUE(peer.presented);
  EXPECT_FALSE(peer.verified);
  EXPECT_EQ(peer.verify_error, "unable to get local issuer certificate");
  EXPECT_EQ(peer.issuer, "CN=other test CA,O=elsewhere");
  EXPECT_FALSE(peer.covers("partner.example"));  // policy sees who it claims to be, unproven
  EXPECT_EQ(peer.sipDomains(), std::vector<std::string>{"partner.example"});
}

TEST_F(TlsTest, RequestCompletesWithATrustedClientCertificate) {
  auto server = build(serverSettings(certs().server_dns, ClientCertMode::Request));
  auto client = build(clientWithCertificate(certs().client));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server);
  ASSERT_TRUE(h.ok()) << h.server.error;
  EXPECT_TRUE(h.serverSees().verified);
  EXPECT_TRUE(h.serverSees().covers("client.partner.example"));
}

TEST_F(TlsTest, RequestCompletesWithoutAClientCertificate) {
  auto server = build(serverSettings(certs().server_dns, ClientCertMode::Request));
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server);
  ASSERT_TRUE(h.ok()) << h.server.error;
  EXPECT_FALSE(h.serverSees().presented);
  EXPECT_FALSE(h.serverSees().verified);
}

TEST_F(TlsTest, NoneDoesNotAskForAClientCertificate) {
  auto server = build(serverSettings(certs().server_dns, ClientCertMode::None));
  auto client = build(clientWithCertificate(certs().client));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server);
  ASSERT_TRUE(h.ok()) << h.server.error;
  EXPECT_FALSE(h.serverSees().presented);
}

// ---- SNI ---------------------------------------------------------------------------------------

TEST_F(TlsTest, SniSelectsThePerDomainCertificate) {
  TlsSettings s = serverSettings(certs().server_dns);
  s.sni.push_back({"Alt.Example", certs().server_alt.cert, certs().server_alt.key});
  s.sni.push_back({"chain.partner.example", certs().server_chain.cert, certs().server_chain.key});
  auto server = build(s);
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);

  struct Case {
    std::string sni;
    std::string serial;  // of the certificate the client should see
  };
  const Case cases[] = {
      {"alt.example", "5EED0007"},
      {"ALT.EXAMPLE", "5EED0007"},  // case-insensitive
      {"chain.partner.example", "5EED0011"},
      {"unknown.example", "5EED0001"},  // unknown: the default
      {"", "5EED0001"},                 // none: the default
  };
  for (const Case& c : cases) {
    Handshake h = handshake(*client, *server, c.sni);
    ASSERT_TRUE(h.ok()) << c.sni << ": " << h.client.error << " / " << h.server.error;
    const PeerIdentity seen = h.clientSees();
    EXPECT_EQ(seen.serial, c.serial) << c.sni;
    EXPECT_TRUE(seen.verified) << c.sni;
  }
  EXPECT_TRUE(handshake(*client, *server, "alt.example").clientSees().covers("alt.example"));
}

TEST_F(TlsTest, PerDomainCertificateKeepsTheClientCertificatePolicy) {
  TlsSettings s = serverSettings(certs().server_dns, ClientCertMode::Require);
  s.sni.push_back({"alt.example", certs().server_alt.cert, certs().server_alt.key});
  auto server = build(s);
  auto anonymous = build(clientSettings(certs().ca));
  auto partner = build(clientWithCertificate(certs().client));
  ASSERT_TRUE(server && anonymous && partner);

  Handshake refused = handshake(*anonymous, *server, "alt.example");
  EXPECT_TRUE(refused.server.failed);
  EXPECT_TRUE(contains(refused.server.error, "peer did not return a certificate"));

  Handshake accepted = handshake(*partner, *server, "alt.example");
  ASSERT_TRUE(accepted.ok()) << accepted.server.error;
  EXPECT_EQ(accepted.clientSees().serial, "5EED0007");
  EXPECT_TRUE(accepted.serverSees().verified);
}

// ---- versions, ciphers, groups -----------------------------------------------------------------

TEST_F(TlsTest, DefaultsAreTls12MinimumWithoutRenegotiationOrCompression) {
  auto contexts = build(serverSettings(certs().server_dns));
  ASSERT_TRUE(contexts);
  for (SSL_CTX* ctx : {contexts->server(), contexts->client()}) {
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION, 0u);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION, 0u);
  }
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(client);
  Handshake h = handshake(*client, *contexts);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(SSL_version(h.server.ssl.get()), TLS1_3_VERSION);  // the best both sides have
}

TEST_F(TlsTest, AClientCappedAtTls11IsRefused) {
  auto server = build(serverSettings(certs().server_dns));
  ASSERT_TRUE(server);
  // An old client: TLS 1.0-1.1 only, at security level 0 so that OpenSSL 3 sends its hello.
  SslCtxPtr old_client(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(old_client);
  SSL_CTX_set_security_level(old_client.get(), 0);
  ASSERT_EQ(SSL_CTX_set_cipher_list(old_client.get(), "DEFAULT:@SECLEVEL=0"), 1);
  SSL_CTX_set_min_proto_version(old_client.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(old_client.get(), TLS1_1_VERSION);
  SSL_CTX_set_verify(old_client.get(), SSL_VERIFY_NONE, nullptr);

  Handshake h = handshake(old_client.get(), server->server());
  EXPECT_TRUE(h.server.failed);
  EXPECT_TRUE(contains(h.server.error, "unsupported protocol"));
}

TEST_F(TlsTest, MinVersion13) {
  TlsSettings s = serverSettings(certs().server_dns);
  s.min_version = "1.3";
  auto server = build(s);
  TlsSettings cs = clientSettings(certs().ca);
  cs.min_version = "1.3";
  auto client = build(cs);
  auto default_client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client && default_client);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(server->server()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(client->client()), TLS1_3_VERSION);

  Handshake h = handshake(*client, *server);
  ASSERT_TRUE(h.ok()) << h.server.error;
  EXPECT_EQ(SSL_version(h.client.ssl.get()), TLS1_3_VERSION);

  // A client that can do at most TLS 1.2 is refused.
  Handshake old = handshake(*default_client, *server, "",
                            [](SSL* ssl) { SSL_set_max_proto_version(ssl, TLS1_2_VERSION); });
  EXPECT_TRUE(old.server.failed);
  EXPECT_TRUE(contains(old.server.error, "unsupported protocol"));
}

TEST_F(TlsTest, ConfiguredTls12CipherIsTheOneNegotiated) {
  TlsSettings s = serverSettings(certs().server_dns);
  s.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
  auto server = build(s);
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server, "",
                          [](SSL* ssl) { SSL_set_max_proto_version(ssl, TLS1_2_VERSION); });
  ASSERT_TRUE(h.ok()) << h.server.error;
  EXPECT_EQ(SSL_version(h.server.ssl.get()), TLS1_2_VERSION);
  EXPECT_STREQ(SSL_get_cipher_name(h.server.ssl.get()), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(TlsTest, ConfiguredTls13SuiteAndGroupAreTheOnesNegotiated) {
  TlsSettings s = serverSettings(certs().server_dns);
  s.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
  s.groups = "P-384";
  auto server = build(s);
  auto client = build(clientSettings(certs().ca));
  ASSERT_TRUE(server && client);
  Handshake h = handshake(*client, *server);
  ASSERT_TRUE(h.ok()) << h.server.error;
  EXPECT_STREQ(SSL_get_cipher_name(h.server.ssl.get()), "TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(SSL_get_negotiated_group(h.server.ssl.get()), NID_secp384r1);
}

TEST_F(TlsTest, OpensslCipherStringSyntaxIsAccepted) {
  TlsSettings s = serverSettings(certs().server_dns);
  s.ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!SHA1, -RSA @STRENGTH:@SECLEVEL=2";
  s.ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  s.groups = "X25519:P-256";
  EXPECT_TRUE(build(s));
}

// ---- configuration errors ----------------------------------------------------------------------

TEST_F(TlsTest, InvalidValuesNameTheSettingAndTheValue) {
  struct Case {
    const char* stage;
    std::function<void(TlsSettings&)> set;
    const char* value;
  };
  const Case cases[] = {
      {"min_version", [](TlsSettings& s) { s.min_version = "1.1"; }, "\"1.1\""},
      {"min_version", [](TlsSettings& s) { s.min_version = "TLSv1.2"; }, "\"TLSv1.2\""},
      {"min_version", [](TlsSettings& s) { s.min_version = ""; }, "\"\""},
      {"ciphers", [](TlsSettings& s) { s.ciphers = "NOT-A-CIPHER"; }, "\"NOT-A-CIPHER\""},
      {"ciphers", [](TlsSettings& s) { s.ciphers = "HIGH:!aNULL:NOT-A-CIPHER"; },
       "\"NOT-A-CIPHER\" in \"HIGH:!aNULL:NOT-A-CIPHER\""},
      {"ciphers", [](TlsSettings& s) { s.ciphers = "!ALL"; }, "\"!ALL\""},
      {"ciphers", [](TlsSettings& s) { s.ciphers = "TLS_AES_128_GCM_SHA256"; },
       "\"TLS_AES_128_GCM_SHA256\""},  // a TLS 1.3 suite is no TLS 1.2 cipher
      {"ciphersuites", [](TlsSettings& s) { s.ciphersuites = "TLS_NOPE"; }, "\"TLS_NOPE\""},
      {"ciphersuites", [](TlsSettings& s) { s.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_NOPE"; },
       "\"TLS_NOPE\" in \"TLS_AES_128_GCM_SHA256:TLS_NOPE\""},
      {"ciphersuites", [](TlsSettings& s) { s.ciphersuites = "ECDHE-ECDSA-AES128-GCM-SHA256"; },
       "\"ECDHE-ECDSA-AES128-GCM-SHA256\""},
      {"groups", [](TlsSettings& s) { s.groups = "P-999"; }, "\"P-999\""},
      {"groups", [](TlsSettings& s) { s.groups = "X25519:nonsense"; }, "\"X25519:nonsense\""},
  };
  for (const Case& c : cases) {
    for (bool with_certificate : {true, false}) {
      TlsSettings s =
          with_certificate ? serverSettings(certs().server_dns) : clientSettings(certs().ca);
      c.set(s);
      const TlsError e = buildError(s);
      EXPECT_EQ(e.stage, c.stage) << c.value;
      EXPECT_TRUE(contains(e.reason, c.value)) << e.describe();
    }
  }
  EXPECT_EQ(ERR_peek_error(), 0u);  // drained into the reasons
}

TEST_F(TlsTest, CertificateAndKeyErrorsNameTheFile) {
  const TestCerts& c = certs();
  const std::string missing = c.path("missing.pem");
  struct Case {
    const char* name;
    std::string cert;
    std::string key;
    const char* stage;
    std::string expected;  // a substring of the reason
  };
  const Case cases[] = {
      {"missing certificate", missing, c.server_dns.key, "certificate", "cannot open " + missing},
      {"not a certificate", c.server_dns.key, c.server_dns.key, "certificate",
       "no PEM certificate in " + c.server_dns.key},
      {"missing key", c.server_dns.cert, missing, "private key", "cannot open " + missing},
      {"no key file", c.server_dns.cert, "", "private key",
       "no key_file given for certificate " + c.server_dns.cert},
      {"not a key", c.server_dns.cert, c.server_dns.cert, "private key",
       "no PEM private key in " + c.server_dns.cert},
      {"stray key", c.server_dns.cert, c.stray_key, "private key",
       "private key does not match certificate " + c.server_dns.cert},
      {"another certificate's key", c.server_dns.cert, c.server_alt.key, "private key",
       "private key does not match certificate " + c.server_dns.cert},
      {"encrypted key (never prompts)", c.server_dns.cert, c.encrypted_key, "private key",
       "private key " + c.encrypted_key + " is encrypted"},
      {"expired", c.server_expired.cert, c.server_expired.key, "certificate",
       "certificate " + c.server_expired.cert + " expired on 2021-01-01T00:00:00Z"},
      {"not yet valid", c.server_future.cert, c.server_future.key, "certificate",
       "certificate " + c.server_future.cert + " is not valid before 2099-01-01T00:00:00Z"},
  };
  for (const Case& k : cases) {
    TlsSettings s = serverSettings(CertFiles{k.cert, k.key});
    const TlsError e = buildError(s);
    EXPECT_EQ(e.stage, k.stage) << k.name;
    EXPECT_TRUE(contains(e.reason, k.expected)) << k.name;
  }
}

TEST_F(TlsTest, CaBundleErrorsNameTheFile) {
  const std::string missing = certs().path("missing-ca.pem");
  for (const std::string& ca : {missing, certs().stray_key}) {
    TlsSettings s = serverSettings(certs().server_dns);
    s.ca_file = ca;
    const TlsError e = buildError(s);
    EXPECT_EQ(e.stage, "CA bundle");
    EXPECT_TRUE(contains(e.reason, "cannot load CA certificates from " + ca));
  }
}

TEST_F(TlsTest, SniErrors) {
  const TestCerts& c = certs();
  {
    TlsSettings s = serverSettings(c.server_dns);
    s.sni.push_back({"expired.example", c.server_expired.cert, c.server_expired.key});
    const TlsError e = buildError(s);
    EXPECT_EQ(e.stage, "certificate");
    EXPECT_TRUE(contains(e.reason, c.server_expired.cert));
  }
  {
    TlsSettings s = serverSettings(c.server_dns);
    s.sni.push_back({"alt.example", c.server_alt.cert, c.stray_key});
    const TlsError e = buildError(s);
    EXPECT_TRUE(contains(e.reason, "private key does not match certificate " + c.server_alt.cert));
  }
  {
    TlsSettings s = serverSettings(c.server_dns);
    s.sni.push_back({"alt.example", c.server_alt.cert, c.server_alt.key});
    s.sni.push_back({"ALT.example", c.server_alt.cert, c.server_alt.key});
    const TlsError e = buildError(s);
    EXPECT_EQ(e.stage, "sni");
    EXPECT_TRUE(contains(e.reason, "\"ALT.example\" appears twice"));
  }
  {
    TlsSettings s = serverSettings(c.server_dns);
    s.sni.push_back({"", c.server_alt.cert, c.server_alt.key});
    EXPECT_EQ(buildError(s).stage, "sni");
  }
  {
    TlsSettings s = clientSettings(c.ca);
    s.sni.push_back({"alt.example", c.server_alt.cert, c.server_alt.key});
    const TlsError e = buildError(s);
    EXPECT_EQ(e.stage, "sni");
    EXPECT_TRUE(contains(e.reason, "need a default certificate_file"));
  }
}

TEST_F(TlsTest, DrainOpensslErrorsEmptiesTheQueue) {
  ERR_clear_error();
  EXPECT_EQ(drainOpensslErrors(), "");
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_set_cipher_list(ctx.get(), "NOT-A-CIPHER"), 0);
  EXPECT_TRUE(contains(drainOpensslErrors(), "no cipher match"));
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(drainOpensslErrors(), "");
}

// ---- the store -----------------------------------------------------------------------------

TEST_F(TlsTest, StoreReplaceAffectsOnlyLaterHandshakes) {
  TlsContextStore store;
  EXPECT_EQ(store.get("edge"), nullptr);
  auto client = build(clientSettings(certs().ca));
  auto old_contexts = build(serverSettings(certs().server_dns));
  auto new_contexts = build(serverSettings(certs().server_alt));
  ASSERT_TRUE(client && old_contexts && new_contexts);
  std::weak_ptr<const TlsContexts> old_watch = old_contexts;
  store.set("edge", std::move(old_contexts));

  // A connection takes the current entry and starts its handshake...
  TlsContextsSharedPtr held = store.get("edge");
  ASSERT_TRUE(held);
  Handshake in_flight;
  in_flight.client.ssl.reset(SSL_new(client->client()));
  in_flight.server.ssl.reset(SSL_new(held->server()));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
  SSL_set_bio(in_flight.client.ssl.get(), client_bio, client_bio);
  SSL_set_bio(in_flight.server.ssl.get(), server_bio, server_bio);
  SSL_set_connect_state(in_flight.client.ssl.get());
  SSL_set_accept_state(in_flight.server.ssl.get());
  in_flight.client.step();  // ClientHello out
  in_flight.server.step();  // ServerHello ... with the old certificate

  // ...then the entry is replaced (a certificate rotation).
  store.set("edge", new_contexts);
  EXPECT_FALSE(old_watch.expired());  // the connection keeps it alive

  for (int round = 0; round < 20 && !in_flight.ok(); ++round) {
    in_flight.client.step();
    in_flight.server.step();
  }
  ASSERT_TRUE(in_flight.ok()) << in_flight.client.error << " / " << in_flight.server.error;
  EXPECT_EQ(in_flight.clientSees().serial, "5EED0001");

  Handshake later = handshake(*client, *store.get("edge"));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later.clientSees().serial, "5EED0007");

  // The old contexts go when the last connection using them does.
  in_flight = Handshake{};
  held.reset();
  EXPECT_TRUE(old_watch.expired());
  EXPECT_EQ(store.get("edge"), new_contexts);
  EXPECT_EQ(store.get("other"), nullptr);
}

TEST_F(TlsTest, StoreIsSafeToUseFromSeveralThreads) {
  TlsContextStore store;
  auto a = build(serverSettings(certs().server_dns));
  auto b = build(serverSettings(certs().server_alt));
  ASSERT_TRUE(a && b);
  store.set("edge", a);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (t == 0) {
          store.set("edge", i % 2 == 0 ? b : a);
        } else {
          const TlsContextsSharedPtr got = store.get("edge");
          if (got != a && got != b) {
            ++wrong;
          }
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace sipedge::transport
