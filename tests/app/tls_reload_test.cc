// Certificate rotation's building blocks: every profile built and validated as a whole (key,
// expiry, chain to the CA bundle, served domains covered), applied to the store, the file watcher
// and the monitoring text.

#include "../../src/app/tls_reload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "../support/test_certs.h"

namespace sipedge::app {
namespace {

using testing::TestCerts;

const TestCerts& certs() {
  const TestCerts& c = TestCerts::shared();
  EXPECT_TRUE(c.ok()) << c.error();
  return c;
}

config::TlsProfile profile(const std::string& name, const testing::CertFiles& files,
                           const std::string& ca) {
  config::TlsProfile p;
  p.name = name;
  p.certificate = files.cert;
  p.key = files.key;
  p.ca = ca;
  return p;
}

config::ListenerConfig tlsListener(const std::string& profile, config::Side side) {
  config::ListenerConfig l;
  l.transport = config::Transport::Tls;
  l.tls_profile = profile;
  l.side = side;
  l.address = config::SocketAddress{"127.0.0.1", 5061, false};
  return l;
}

// partner.example served over TLS with `files` in profile "edge".
config::Config edgeConfig(const testing::CertFiles& files, const std::string& ca,
                          config::Side side = config::Side::External) {
  config::Config c;
  c.server.domains = {"partner.example"};
  c.listeners = {tlsListener("edge", side)};
  c.tls = {profile("edge", files, ca)};
  return c;
}

TEST(TlsReloadTest, BuildsValidProfilesAndReportsTheirCertificates) {
  const TestCerts& t = certs();
  config::Config c = edgeConfig(t.server_dns, t.ca);
  config::TlsProfile client;
  client.name = "client-only";
  c.tls.push_back(client);
  auto built = buildTls(c);
  ASSERT_TRUE(built.has_value()) << built.error().describe();
  EXPECT_EQ(built->default_profile, "edge");
  ASSERT_EQ(built->contexts.size(), 2u);
  EXPECT_NE(built->contexts.at("edge")->server(), nullptr);
  ASSERT_EQ(built->certificates.size(), 1u);  // the client-only profile serves none
  const CertificateStatus& s = built->certificates[0];
  EXPECT_EQ(s.profile, "edge");
  EXPECT_EQ(s.file, t.server_dns.cert);
  EXPECT_EQ(s.sni_domain, "");
  EXPECT_EQ(s.serial, "5EED0001");
  EXPECT_NE(s.subject.find("CN=edge.partner.example"), std::string::npos) << s.subject;
  EXPECT_EQ(s.fingerprint_sha256.size(), 95u);
  // 825 days from when the certificate was minted (moments ago).
  const std::int64_t now = s.not_after - 825 * 86400 + 60;
  EXPECT_EQ(s.daysLeft(now), 824);
  EXPECT_EQ(s.secondsLeft(now), 825 * 86400 - 60);
}

TEST(TlsReloadTest, ChainThroughAnIntermediateInTheFileVerifies) {
  const TestCerts& t = certs();
  config::Config c = edgeConfig(t.server_chain, t.ca);
  c.server.domains = {"chain.partner.example"};
  auto built = buildTls(c);
  EXPECT_TRUE(built.has_value()) << built.error().describe();
}

TEST(TlsReloadTest, UriSubjectAltNameCoversTheDomain) {
  const TestCerts& t = certs();
  auto built = buildTls(edgeConfig(t.server_uri, t.ca));
  EXPECT_TRUE(built.has_value()) << built.error().describe();
}

TEST(TlsReloadTest, MismatchedKeyIsRefused) {
  const TestCerts& t = certs();
  auto built = buildTls(edgeConfig({t.server_dns.cert, t.stray_key}, t.ca));
  ASSERT_FALSE(built.has_value());
  EXPECT_EQ(built.error().profile, "edge");
  EXPECT_EQ(built.error().file, t.stray_key);
  EXPECT_NE(built.error().reason.find("does not match"), std::string::npos)
      << built.error().describe();
  EXPECT_EQ(built.error().describe().rfind("tls.edge: " + t.stray_key + ": ", 0), 0u)
      << built.error().describe();
}

TEST(TlsReloadTest, ExpiredCertificateIsRefused) {
  const TestCerts& t = certs();
  config::Config c = edgeConfig(t.server_expired, t.ca);
  c.server.domains = {"expired.partner.example"};
  auto built = buildTls(c);
  ASSERT_FALSE(built.has_value());
  EXPECT_EQ(built.error().file, t.server_expired.cert);
  EXPECT_NE(built.error().reason.find("expired on 2021-01-01"), std::string::npos)
      << built.error().describe();
}

TEST(TlsReloadTest, CertificateFromAnotherCaIsRefused) {
  const TestCerts& t = certs();
  auto built = buildTls(edgeConfig(t.server_other_ca, t.ca));
  ASSERT_FALSE(built.has_value());
  EXPECT_EQ(built.error().profile, "edge");
  EXPECT_EQ(built.error().file, t.server_other_ca.cert);
  EXPECT_NE(built.error().reason.find("does not verify to the CA bundle " + t.ca),
            std::string::npos)
      << built.error().describe();
  EXPECT_NE(built.error().reason.find("unable to get local issuer certificate"), std::string::npos)
      << built.error().describe();
  // Without a CA bundle nothing is verified.
  EXPECT_TRUE(buildTls(edgeConfig(t.server_other_ca, "")).has_value());
}

TEST(TlsReloadTest, CertificateNotCoveringTheServedDomainIsRefused) {
  const TestCerts& t = certs();
  auto built = buildTls(edgeConfig(t.server_alt, t.ca));
  ASSERT_FALSE(built.has_value());
  EXPECT_EQ(built.error().file, t.server_alt.cert);
  EXPECT_NE(built.error().reason.find("does not cover the served domain partner.example"),
            std::string::npos)
      << built.error().describe();
  EXPECT_NE(built.error().reason.find("its SIP domains, RFC 5922: alt.example"), std::string::npos)
      << built.error().describe();
  // An internal listener's certificate names the edge's internal host, not the served domains.
  EXPECT_TRUE(buildTls(edgeConfig(t.server_alt, t.ca, config::Side::Internal)).has_value());
  // A wildcard never covers a domain (RFC 5922 7.2).
  EXPECT_FALSE(buildTls(edgeConfig(t.server_wildcard, t.ca)).has_value());
}

TEST(TlsReloadTest, SniCertificateCoversItsDomain) {
  const TestCerts& t = certs();
  config::Config c = edgeConfig(t.server_dns, t.ca);
  c.server.domains = {"partner.example", "alt.example"};
  // alt.example is covered by no certificate yet.
  auto uncovered = buildTls(c);
  ASSERT_FALSE(uncovered.has_value());
  EXPECT_NE(uncovered.error().reason.find("served domain alt.example"), std::string::npos);

  c.tls[0].sni = {{"alt.example", t.server_alt.cert, t.server_alt.key}};
  auto built = buildTls(c);
  ASSERT_TRUE(built.has_value()) << built.error().describe();
  ASSERT_EQ(built->certificates.size(), 2u);
  EXPECT_EQ(built->certificates[1].sni_domain, "alt.example");
  EXPECT_EQ(built->certificates[1].serial, "5EED0007");

  // An SNI certificate that does not name its domain.
  c.tls[0].sni = {{"alt.example", t.server_uri.cert, t.server_uri.key}};
  auto wrong = buildTls(c);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().file, t.server_uri.cert);
  EXPECT_NE(wrong.error().reason.find("SNI certificate for alt.example does not cover"),
            std::string::npos)
      << wrong.error().describe();
}

TEST(TlsReloadTest, OneBadProfileFailsTheWholeBuild) {
  const TestCerts& t = certs();
  config::Config c = edgeConfig(t.server_dns, t.ca);
  c.tls.push_back(profile("inside", {t.server_alt.cert, t.server_dns.key}, t.ca));
  c.listeners.push_back(tlsListener("inside", config::Side::Internal));
  auto built = buildTls(c);
  ASSERT_FALSE(built.has_value());
  EXPECT_EQ(built.error().profile, "inside");
  EXPECT_EQ(built.error().file, t.server_dns.key);
}

TEST(TlsReloadTest, MissingFileNamesIt) {
  const TestCerts& t = certs();
  const std::string missing = t.path("missing.pem");
  auto built = buildTls(edgeConfig({missing, t.server_dns.key}, t.ca));
  ASSERT_FALSE(built.has_value());
  EXPECT_EQ(built.error().file, missing);
  EXPECT_NE(built.error().reason.find("cannot open"), std::string::npos);
}

TEST(TlsReloadTest, DefaultProfileIsClientTlsElseTheFirstTlsListener) {
  config::Config c;
  EXPECT_EQ(defaultTlsProfile(c), "");
  c.listeners = {tlsListener("a", config::Side::Internal),
                 tlsListener("b", config::Side::External)};
  EXPECT_EQ(defaultTlsProfile(c), "a");
  c.b2bua.client_tls = "b";
  EXPECT_EQ(defaultTlsProfile(c), "b");
}

TEST(TlsReloadTest, ApplyReplacesStoreEntriesAndTheDefault) {
  const TestCerts& t = certs();
  transport::TlsContextStore store;
  auto first = buildTls(edgeConfig(t.server_dns, t.ca));
  ASSERT_TRUE(first.has_value());
  applyTls(*first, store);
  const transport::TlsContextsSharedPtr held = store.get("edge");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(store.get("default"), held);

  auto second = buildTls(edgeConfig(t.server_uri, t.ca));
  ASSERT_TRUE(second.has_value());
  applyTls(*second, store);
  EXPECT_NE(store.get("edge"), held);  // new handshakes get the new contexts
  EXPECT_EQ(store.get("default"), store.get("edge"));
  EXPECT_NE(held->server(), nullptr);  // whoever holds the old one keeps it
}

TEST(TlsReloadTest, DaysLeftRoundsDown) {
  CertificateStatus s;
  s.not_after = 1000 * 86400;
  EXPECT_EQ(s.daysLeft(1000 * 86400 - 1), 0);
  EXPECT_EQ(s.daysLeft(999 * 86400), 1);
  EXPECT_EQ(s.daysLeft(1000 * 86400), 0);
  EXPECT_EQ(s.daysLeft(1000 * 86400 + 1), -1);
  EXPECT_EQ(s.daysLeft(1002 * 86400), -2);
}

class TlsFileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sipedge-watch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  std::filesystem::path dir_;
};

TEST_F(TlsFileWatcherTest, FilesOfEveryProfileOnce) {
  config::Config c;
  config::TlsProfile a;
  a.certificate = "/c/a.pem";
  a.key = "/c/a.key";
  a.ca = "/c/ca.pem";
  a.sni = {{"alt.example", "/c/alt.pem", "/c/alt.key"}};
  config::TlsProfile b;
  b.ca = "/c/ca.pem";
  c.tls = {a, b};
  EXPECT_EQ(
      TlsFileWatcher::filesOf(c),
      (std::vector<std::string>{"/c/a.pem", "/c/a.key", "/c/ca.pem", "/c/alt.pem", "/c/alt.key"}));
}

TEST_F(TlsFileWatcherTest, SeesReplaceByRename) {
  const std::string cert = file("edge.pem");
  const std::string key = file("edge.key");
  write(cert, "certificate one");
  write(key, "key one");
  TlsFileWatcher w;
  w.watch({cert, key});
  EXPECT_FALSE(w.poll());

  // Same size, same content length: only the inode tells.
  write(file("edge.pem.new"), "certificate two");
  ASSERT_EQ(std::rename(file("edge.pem.new").c_str(), cert.c_str()), 0);
  EXPECT_TRUE(w.poll());
  EXPECT_FALSE(w.poll());  // reported once

  // The key follows later: a second change.
  write(file("edge.key.new"), "key two");
  ASSERT_EQ(std::rename(file("edge.key.new").c_str(), key.c_str()), 0);
  EXPECT_TRUE(w.poll());
  EXPECT_FALSE(w.poll());
}

TEST_F(TlsFileWatcherTest, SeesRewriteRemovalAndReappearance) {
  const std::string cert = file("edge.pem");
  write(cert, "one");
  TlsFileWatcher w;
  w.watch({cert});
  write(cert, "longer content");  // in place: same inode, new size
  EXPECT_TRUE(w.poll());
  std::filesystem::remove(cert);
  EXPECT_TRUE(w.poll());
  EXPECT_FALSE(w.poll());
  write(cert, "back");
  EXPECT_TRUE(w.poll());
  EXPECT_FALSE(w.poll());
}

TEST(ReloadStatusTest, MetricsText) {
  ReloadStatus status;
  CertificateStatus edge;
  edge.profile = "edge";
  edge.file = "/etc/sipedge/edge.pem";
  edge.not_after = 2000;
  CertificateStatus alt = edge;
  alt.file = "/etc/sipedge/alt \"x\".pem";
  alt.sni_domain = "alt.example";
  alt.not_after = 500;
  status.setCertificates({edge, alt});
  status.countReload(ReloadStatus::Trigger::Config, true);
  status.countReload(ReloadStatus::Trigger::Config, false);
  status.countReload(ReloadStatus::Trigger::Config, true);
  status.countReload(ReloadStatus::Trigger::Certificates, false);
  const std::string text = status.metricsText(1000);
  EXPECT_NE(text.find("# TYPE sipedge_certificate_expiry_seconds gauge\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sipedge_certificate_expiry_seconds{profile=\"edge\",file=\"/etc/sipedge/"
                      "edge.pem\"} 1000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sipedge_certificate_expiry_seconds{profile=\"edge\",file=\"/etc/sipedge/"
                      "alt \\\"x\\\".pem\"} -500\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sipedge_config_reloads_total{result=\"ok\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sipedge_config_reloads_total{result=\"error\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("sipedge_certificate_reloads_total{result=\"ok\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("sipedge_certificate_reloads_total{result=\"error\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace sipedge::app
