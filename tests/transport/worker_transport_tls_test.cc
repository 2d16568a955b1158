// WorkerTransport over TLS on loopback: mutual TLS with the peer's identity on every message,
// RFC 5922 name checks on outbound connections, handshake failures and time limits, and the
// context store replaced under a live listener.

#include <gtest/gtest.h>

#include "../support/test_certs.h"
#include "transport_harness.h"

namespace sipedge::transport {
namespace {

using sipedge::testing::TestCerts;
using testing::Client;
using testing::Harness;
using testing::options;

const TestCerts& certs() {
  return TestCerts::shared();
}

TlsContextsSharedPtr build(const std::string& cert, const std::string& key,
                           ClientCertMode mode = ClientCertMode::Require) {
  TlsSettings s;
  s.certificate_file = cert;
  s.key_file = key;
  s.ca_file = certs().ca;
  s.client_cert = mode;
  auto built = TlsContexts::build(s);
  EXPECT_TRUE(built.has_value()) << (built ? "" : built.error().describe());
  return built ? *built : nullptr;
}

struct Outcome {
  std::promise<SendError> error;
  std::future<SendError> future = error.get_future();
};

Result<void, SendError> sendOptions(Harness& client, const Destination& d, const std::string& id,
                                    Outcome* outcome = nullptr) {
  return client.call([&] {
    auto via = client.transport().viaFor(d);
    EXPECT_TRUE(via.has_value());
    return client.transport().send(d, options(via->host, via->port, "TLS", "", id),
                                   [outcome](const SendError& e) {
                                     if (outcome != nullptr) {
                                       outcome->error.set_value(e);
                                     }
                                   });
  });
}

class WorkerTransportTls : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs().ok()) << certs().error(); }
};

TEST_F(WorkerTransportTls, MutualTlsAttachesBothIdentitiesToEveryMessage) {
  Harness server;
  server.tls().set("default", build(certs().server_dns.cert, certs().server_dns.key));
  Address at = server.listen(Transport::Tls);
  server.start();
  Harness client(Limits{}, /*answer=*/false);
  client.tls().set("default", build(certs().client.cert, certs().client.key));
  client.listen(Transport::Udp);
  client.start();

  Destination d{Endpoint{at, Transport::Tls}, Side::External, {}, "partner.example"};
  ASSERT_TRUE(sendOptions(client, d, "tls-1").has_value());
  ASSERT_TRUE(sendOptions(client, d, "tls-2").has_value());
  ASSERT_TRUE(server.waitFor(2));
  ASSERT_TRUE(client.waitFor(2));
  for (const auto& r : server.received()) {
    ASSERT_TRUE(r.peer);
    EXPECT_TRUE(r.peer->verified);
    EXPECT_EQ(r.peer->dns_names, std::vector<std::string>{"client.partner.example"});
    EXPECT_EQ(r.source.transport, Transport::Tls);
  }
  auto answers = client.received();
  ASSERT_TRUE(answers[0].peer);
  EXPECT_TRUE(answers[0].peer->covers("partner.example"));
  EXPECT_NE(answers[0].text.find("SIP/2.0 200 OK"), std::string::npos);
  EXPECT_EQ(client.call([&] { return client.transport().connectionCount(); }), 1u);
}

TEST_F(WorkerTransportTls, RequireRefusesAClientWithoutCertificate) {
  Harness server;
  server.tls().set("default", build(certs().server_dns.cert, certs().server_dns.key));
  Address at = server.listen(Transport::Tls);
  server.start();
  Harness client(Limits{}, false);
  client.tls().set("default", build("", ""));
  client.listen(Transport::Udp);
  client.start();
  Outcome outcome;
  Destination d{Endpoint{at, Transport::Tls}, Side::External, {}, "partner.example"};
  ASSERT_TRUE(sendOptions(client, d, "nocert", &outcome).has_value());
  ASSERT_EQ(outcome.future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  SendError e = outcome.future.get();
  EXPECT_TRUE(e.kind == SendError::Kind::Closed || e.kind == SendError::Kind::TlsHandshake)
      << e.describe();
  EXPECT_TRUE(server.received().empty());
}

TEST_F(WorkerTransportTls, ACertificateThatDoesNotCoverTheDomainFailsWithItsNames) {
  Harness server;
  server.tls().set("default",
                   build(certs().server_dns.cert, certs().server_dns.key, ClientCertMode::None));
  Address at = server.listen(Transport::Tls);
  server.start();
  Harness client(Limits{}, false);
  client.tls().set("default", build("", ""));
  client.listen(Transport::Udp);
  client.start();
  Outcome outcome;
  Destination d{Endpoint{at, Transport::Tls}, Side::External, {}, "other.example"};
  ASSERT_TRUE(sendOptions(client, d, "mismatch", &outcome).has_value());
  ASSERT_EQ(outcome.future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  SendError e = outcome.future.get();
  EXPECT_EQ(e.kind, SendError::Kind::TlsIdentity) << e.describe();
  EXPECT_NE(e.detail.find("'other.example'"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("partner.example"), std::string::npos) << e.detail;
  EXPECT_TRUE(server.received().empty()) << "nothing is sent to an unverified peer";
}

TEST_F(WorkerTransportTls, AnUntrustedServerFailsTheHandshakeWithTheReason) {
  Harness server;
  server.tls().set("default", build(certs().server_other_ca.cert, certs().server_other_ca.key,
                                    ClientCertMode::None));
  Address at = server.listen(Transport::Tls);
  server.start();
  Harness client(Limits{}, false);
  client.tls().set("default", build("", ""));
  client.listen(Transport::Udp);
  client.start();
  Outcome outcome;
  Destination d{Endpoint{at, Transport::Tls}, Side::External, {}, "partner.example"};
  ASSERT_TRUE(sendOptions(client, d, "untrusted", &outcome).has_value());
  ASSERT_EQ(outcome.future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  SendError e = outcome.future.get();
  EXPECT_EQ(e.kind, SendError::Kind::TlsHandshake) << e.describe();
  EXPECT_NE(e.detail.find("certificate verif"), std::string::npos) << e.detail;
  EXPECT_EQ(client.call([&] { return client.transport().counters().tls_handshake_failures; }), 1u);
}

TEST_F(WorkerTransportTls, AServerThatNeverHandshakesTimesOut) {
  Client silent(SOCK_STREAM);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent.fd(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(::listen(silent.fd(), 1), 0);
  Limits limits;
  limits.connect_timeout = Duration{100};
  limits.tls_handshake_timeout = Duration{100};
  Harness client(limits, false);
  client.tls().set("default", build("", ""));
  client.listen(Transport::Udp);
  client.start();
  Outcome outcome;
  Destination d{Endpoint{*Address::parseIp("127.0.0.1", silent.port()), Transport::Tls},
                Side::External,
                {},
                "partner.example"};
  ASSERT_TRUE(sendOptions(client, d, "silent", &outcome).has_value());
  ASSERT_EQ(outcome.future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  SendError e = outcome.future.get();
  EXPECT_EQ(e.kind, SendError::Kind::Timeout) << e.describe();
}

TEST_F(WorkerTransportTls, AnInboundHandshakeThatNeverEndsIsClosed) {
  Limits limits;
  limits.tls_handshake_timeout = Duration{100};
  Harness server(limits);
  server.tls().set("default", build(certs().server_dns.cert, certs().server_dns.key));
  Address at = server.listen(Transport::Tls);
  server.start();
  Client c(SOCK_STREAM);
  ASSERT_TRUE(c.connectTo(at));  // and never says hello
  auto eof = c.read();
  ASSERT_TRUE(eof.has_value());
  EXPECT_EQ(*eof, "");
  EXPECT_EQ(server.call([&] { return server.transport().counters().tls_handshake_failures; }), 1u);
  EXPECT_EQ(server.budget().total(), 0u);
}

TEST_F(WorkerTransportTls, ReplacingTheContextsChangesNewHandshakesOnly) {
  Harness server;
  server.tls().set("default",
                   build(certs().server_dns.cert, certs().server_dns.key, ClientCertMode::None));
  Address at = server.listen(Transport::Tls);
  server.start();
  Harness first(Limits{}, false);
  first.tls().set("default", build("", ""));
  first.listen(Transport::Udp);
  first.start();
  Destination to_partner{Endpoint{at, Transport::Tls}, Side::External, {}, "partner.example"};
  ASSERT_TRUE(sendOptions(first, to_partner, "old-1").has_value());
  ASSERT_TRUE(first.waitFor(1));

  // Rotation: new handshakes get the new certificate.
  server.tls().set("default",
                   build(certs().server_alt.cert, certs().server_alt.key, ClientCertMode::None));
  Harness second(Limits{}, false);
  second.tls().set("default", build("", ""));
  second.listen(Transport::Udp);
  second.start();
  Destination to_alt{Endpoint{at, Transport::Tls}, Side::External, {}, "alt.example"};
  ASSERT_TRUE(sendOptions(second, to_alt, "new-1").has_value());
  ASSERT_TRUE(second.waitFor(1));
  ASSERT_TRUE(second.received()[0].peer);
  EXPECT_TRUE(second.received()[0].peer->covers("alt.example"));

  // The established connection was not touched: it still carries requests, old certificate.
  ASSERT_TRUE(sendOptions(first, to_partner, "old-2").has_value());
  ASSERT_TRUE(first.waitFor(2));
  auto answers = first.received();
  EXPECT_NE(answers[1].text.find("Call-ID: old-2"), std::string::npos);
  EXPECT_TRUE(answers[1].peer->covers("partner.example"));
  EXPECT_EQ(first.call([&] { return first.transport().connectionCount(); }), 1u);
}

}  // namespace
}  // namespace sipedge::transport
