#include "sipedge/config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sipedge::config {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMinimal = R"([server]
domains = ["example.com"]

[[listeners]]
transport = "udp"
address = "0.0.0.0:5060"
)";

// The error of a config that must fail, as "FILE:LINE:COL: PATH: MESSAGE".
std::string errorOf(const std::string& text) {
  auto result = parse(text, "t.toml");
  if (result) {
    return "(parsed)";
  }
  return result.error().describe();
}

std::string withMinimal(const std::string& extra) {
  return std::string(kMinimal) + extra;
}

// worker_port: on by default for an internal UDP listener without advertised_host, off otherwise;
// only UDP listeners may have it.
TEST(Config, ListenerWorkerPort) {
  auto c = parse(withMinimal(R"(
[[listeners]]
transport = "udp"
address = "10.0.0.5:5060"
side = "internal"

[[listeners]]
transport = "udp"
address = "10.0.0.5:5070"
side = "internal"
advertised_host = "edge.inside.example"

[[listeners]]
transport = "udp"
address = "10.0.0.5:5080"
side = "internal"
worker_port = false

[[listeners]]
transport = "udp"
address = "192.0.2.5:5090"
worker_port = true

[[listeners]]
transport = "tcp"
address = "10.0.0.5:5060"
side = "internal"
)"),
                 "t.toml");
  ASSERT_TRUE(c) << c.error().describe();
  ASSERT_EQ(c->listeners.size(), 6u);
  EXPECT_FALSE(c->listeners[0].worker_port);  // external (kMinimal's)
  EXPECT_TRUE(c->listeners[1].worker_port);
  EXPECT_FALSE(c->listeners[2].worker_port);  // advertised_host: the port may be mapped
  EXPECT_FALSE(c->listeners[3].worker_port);
  EXPECT_TRUE(c->listeners[4].worker_port);
  EXPECT_FALSE(c->listeners[5].worker_port);  // TCP
  EXPECT_EQ(errorOf(withMinimal("[[listeners]]\ntransport = \"tcp\"\naddress = \"10.0.0.5:5060\"\n"
                                "worker_port = true\n")),
            "t.toml:10:15: listeners[1].worker_port: expected false: only a UDP listener has one");
  EXPECT_EQ(errorOf(withMinimal("[[listeners]]\ntransport = \"udp\"\naddress = \"10.0.0.5:5060\"\n"
                                "worker_port = 1\n")),
            "t.toml:10:15: listeners[1].worker_port: expected a boolean (true or false), got an "
            "integer (1)");
}

TEST(ConfigError, Describe) {
  ConfigError e{"sipedge.toml", "limits.idle_timeout", 12, 7, "bad"};
  EXPECT_EQ(e.describe(), "sipedge.toml:12:7: limits.idle_timeout: bad");
  EXPECT_EQ((ConfigError{"f.toml", "", 0, 0, "cannot read"}).describe(), "f.toml: cannot read");
}

TEST(Config, MinimalHasDefaults) {
  auto c = parse(kMinimal, "t.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->server.domains, std::vector<std::string>{"example.com"});
  EXPECT_EQ(c->server.workers, 0u);
  ASSERT_EQ(c->listeners.size(), 1u);
  const ListenerConfig& l = c->listeners[0];
  EXPECT_EQ(l.name, "udp:0.0.0.0:5060");
  EXPECT_EQ(l.transport, Transport::Udp);
  EXPECT_EQ(l.address, (SocketAddress{"0.0.0.0", 5060, false}));
  EXPECT_EQ(l.side, Side::External);
  EXPECT_EQ(l.tls_profile, "");
  EXPECT_EQ(l.advertised_host, "");
  EXPECT_TRUE(c->tls.empty());
  EXPECT_EQ(c->limits, LimitsConfig{});
  EXPECT_EQ(c->limits.max_message_bytes, 65535u);
  EXPECT_EQ(c->limits.udp_max_request_bytes, 1300u);
  EXPECT_EQ(c->limits.idle_timeout, milliseconds(600000));
  EXPECT_EQ(c->txn, TxnConfig{});
  EXPECT_EQ(c->txn.t1, milliseconds(500));
  EXPECT_EQ(c->dns, DnsConfig{});
  EXPECT_TRUE(c->dns.servers.empty());
  EXPECT_EQ(c->dns.tries, 2u);
  EXPECT_EQ(c->federation.mode, FederationMode::Closed);
  EXPECT_TRUE(c->federation.blocked_domains.empty());
  EXPECT_TRUE(c->partners.empty());
}

TEST(Config, FullParsesToTypedValues) {
  const std::string text = R"(
[server]
domains = ["Example.com", "edge.example.com"]
workers = 4

[[listeners]]
name = "public-tls"
transport = "tls"
address = "[2001:db8::10]:5061"
tls = "edge"
advertised_host = "sip.example.com"

[[listeners]]
transport = "tcp"
address = "10.0.0.5:5060"
side = "internal"
advertised_host = "10.0.0.5"

[tls.edge]
certificate = "certs/edge.pem"
key = "/etc/sipedge/edge.key"
ca = "certs/ca.pem"
client_certificate = "require"
min_version = "1.3"
ciphers = "HIGH:!aNULL"
ciphersuites = "TLS_AES_256_GCM_SHA384"
groups = "X25519:P-256"

[[tls.edge.sni]]
domain = "Other.example.com"
certificate = "certs/other.pem"
key = "certs/other.key"

[tls.client]
ca = "certs/ca.pem"

[limits]
max_message_bytes = "32KiB"
max_headers = 100
max_connections = 500
max_connections_per_ip = 10
max_pending_bytes = "2MiB"
connect_timeout = "2s"
tls_handshake_timeout = "3s"
idle_timeout = "5m"
max_transactions = 1000
udp_max_request_bytes = 1200

[txn]
t1 = "250ms"
t2 = "2s"
t4 = "3s"
timer_c = "4m"
timer_d = "0s"
wait_timer = "5s"

[dns]
servers = ["192.0.2.53", "[2001:db8::53]:5353"]
timeout = "1s"
tries = 3
cache_entries = 500
negative_ttl = "10s"
max_ttl = "1h"
ipv6 = false
prefer_ipv6 = true

[federation]
mode = "open"
blocked_domains = ["bad.example"]

[[partners]]
name = "partner"
domains = ["partner.com", "sip.partner.com"]
)";
  auto c = parse(text, "/etc/sipedge/sipedge.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->server.domains, (std::vector<std::string>{"example.com", "edge.example.com"}));
  EXPECT_EQ(c->server.workers, 4u);
  ASSERT_EQ(c->listeners.size(), 2u);
  EXPECT_EQ(c->listeners[0],
            (ListenerConfig{"public-tls", Transport::Tls, SocketAddress{"2001:db8::10", 5061, true},
                            Side::External, "edge", "sip.example.com"}));
  EXPECT_EQ(c->listeners[1], (ListenerConfig{"tcp:10.0.0.5:5060", Transport::Tcp,
                                             SocketAddress{"10.0.0.5", 5060, false}, Side::Internal,
                                             "", "10.0.0.5"}));
  ASSERT_EQ(c->tls.size(), 2u);
  EXPECT_EQ(c->tls[0].name, "client");  // sorted by name
  EXPECT_EQ(c->tls[0].ca, "/etc/sipedge/certs/ca.pem");
  EXPECT_EQ(c->tls[0].certificate, "");
  const TlsProfile* edge = c->findTlsProfile("edge");
  ASSERT_NE(edge, nullptr);
  TlsProfile expected;
  expected.name = "edge";
  expected.certificate = "/etc/sipedge/certs/edge.pem";
  expected.key = "/etc/sipedge/edge.key";
  expected.ca = "/etc/sipedge/certs/ca.pem";
  expected.client_certificate = ClientCertMode::Require;
  expected.min_version = "1.3";
  expected.ciphers = "HIGH:!aNULL";
  expected.ciphersuites = "TLS_AES_256_GCM_SHA384";
  expected.groups = "X25519:P-256";
  expected.sni = {
      {"other.example.com", "/etc/sipedge/certs/other.pem", "/etc/sipedge/certs/other.key"}};
  EXPECT_EQ(*edge, expected);
  EXPECT_EQ(c->findTlsProfile("nope"), nullptr);

  LimitsConfig limits;
  limits.max_message_bytes = 32768;
  limits.max_headers = 100;
  limits.max_connections = 500;
  limits.max_connections_per_ip = 10;
  limits.max_pending_bytes = 2 << 20;
  limits.connect_timeout = milliseconds(2000);
  limits.tls_handshake_timeout = milliseconds(3000);
  limits.idle_timeout = milliseconds(300000);
  limits.max_transactions = 1000;
  limits.udp_max_request_bytes = 1200;
  EXPECT_EQ(c->limits, limits);

  EXPECT_EQ(c->txn, (TxnConfig{milliseconds(250), milliseconds(2000), milliseconds(3000),
                               milliseconds(240000), milliseconds(0), milliseconds(5000)}));
  DnsConfig dns;
  dns.servers = {{"192.0.2.53", 53, false}, {"2001:db8::53", 5353, true}};
  dns.timeout = milliseconds(1000);
  dns.tries = 3;
  dns.cache_entries = 500;
  dns.negative_ttl = milliseconds(10000);
  dns.max_ttl = milliseconds(3600000);
  dns.ipv6 = false;
  dns.prefer_ipv6 = true;
  EXPECT_EQ(c->dns, dns);
  EXPECT_EQ(c->federation.mode, FederationMode::Open);
  EXPECT_EQ(c->federation.blocked_domains, std::vector<std::string>{"bad.example"});
  ASSERT_EQ(c->partners.size(), 1u);
  EXPECT_EQ(c->partners[0], (Partner{"partner",
                                     {"partner.com", "sip.partner.com"},
                                     "/etc/sipedge/sipedge.toml",
                                     false,
                                     {},
                                     Transport::Tls,
                                     {},
                                     "partners[0]"}));
}

TEST(Config, RelativeSourceNameKeepsRelativePaths) {
  auto c = parse(withMinimal("[tls.a]\nca = \"ca.pem\"\n"), "conf/sipedge.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->tls[0].ca, "conf/ca.pem");
}

TEST(ConfigErrors, TomlSyntax) {
  EXPECT_EQ(errorOf("[server]\ndomains = [\"a.com\"\n"),
            "t.toml:2:20: Error while parsing array: encountered end-of-file");
}

// toml++ 3.3.0 reached __builtin_unreachable() for some non-ASCII code points (U+0451 here) in
// bare keys and values and in multi-line strings after a line-ending backslash; config.cc compiles
// its Unicode tables with a safe answer. Found by the config_toml fuzzer
// (fuzz/corpus/config_toml/crash-nonascii-*).
TEST(ConfigErrors, NonAsciiOutsideStrings) {
  EXPECT_EQ(errorOf("[server]\ndomains = [\"a.com\"]\ndoma\xd1\x91s = 1\n"),
            "t.toml:3:5: Error while parsing key-value pair: expected '=', saw '\xD1\x91'");
  EXPECT_EQ(errorOf("a = true\xd1\x91\n"),
            "t.toml:1:9: Error while parsing boolean: expected value-terminator, saw '\xD1\x91'");
  EXPECT_EQ(errorOf("a = '''x''''' \xd1\x91\n"),
            "t.toml:1:15: Error while parsing key-value pair: expected a comment or whitespace, "
            "saw '\xD1\x91'");
  // Valid TOML: the document parses and the unknown key is the error.
  EXPECT_EQ(errorOf("a = \"\"\"x\\\n \xd1\x91\"\"\"\n"), "t.toml:1:1: a: unknown key");
  // Comments, strings and quoted keys may hold it.
  auto c = parse(withMinimal("# \xd0\x9a\xd0\xbe\n[[partners]]\n"
                             "name = \"\xd0\x93\xd0\xb0\\\"\xd0\xb7\" # \xd1\x91\n"
                             "domains = ['x.com'] # '\xd1\x91\n"),
                 "t.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->partners[0].name, "\xd0\x93\xd0\xb0\"\xd0\xb7");
  EXPECT_EQ(errorOf("\"\xd1\x91\" = 1\n"), "t.toml:1:1: \xd1\x91: unknown key");
}

TEST(ConfigErrors, UnknownKeyWithSuggestion) {
  EXPECT_EQ(errorOf(R"([server]
domains = ["example.com"]

[[listeners]]
transport = "udp"
address = "0.0.0.0:5060"

[[listeners]]
transport = "tcp"
adress = "0.0.0.0:5060"
)"),
            R"(t.toml:10:1: listeners[1].adress: unknown key (did you mean "address"?))");
  EXPECT_EQ(errorOf(withMinimal("[limits]\n  idle_timout = \"1s\"\n")),
            R"(t.toml:8:3: limits.idle_timout: unknown key (did you mean "idle_timeout"?))");
  EXPECT_EQ(errorOf(withMinimal("[metrics]\nlevel = \"info\"\n")),
            "t.toml:7:2: metrics: unknown key");
  // The first unknown key in file order, not in the table's (sorted) order.
  EXPECT_EQ(errorOf(withMinimal("[dns]\nzzz = 1\naaa = 2\n")), "t.toml:8:1: dns.zzz: unknown key");
}

TEST(ConfigErrors, WrongType) {
  EXPECT_EQ(errorOf("[server]\ndomains = \"example.com\"\n"),
            "t.toml:2:11: server.domains: expected an array, got a string");
  EXPECT_EQ(errorOf(withMinimal("[server2]\n")).substr(0, 6), "t.toml");
  EXPECT_EQ(errorOf(withMinimal("[dns]\nipv6 = \"yes\"\n")),
            "t.toml:8:8: dns.ipv6: expected a boolean (true or false), got a string");
  EXPECT_EQ(errorOf(withMinimal("[limits]\nmax_headers = \"100\"\n")),
            "t.toml:8:15: limits.max_headers: expected an integer from 8 to 100000, got a string");
  EXPECT_EQ(
      errorOf(withMinimal("[txn]\nt1 = 500\n")),
      R"(t.toml:8:6: txn.t1: expected a duration like "30s", "500ms" or "10m", got an integer (500))");
  EXPECT_EQ(errorOf("limits = 5\n" + std::string(kMinimal)),
            "t.toml:1:10: limits: expected a table, got an integer (5)");
  EXPECT_EQ(errorOf("[server]\ndomains = [\"a.com\", 7]\n[[listeners]]\ntransport = \"udp\"\n"
                    "address = \"0.0.0.0:1\"\n"),
            "t.toml:2:21: server.domains[1]: expected a domain name, got an integer (7)");
}

TEST(ConfigErrors, BadValues) {
  EXPECT_EQ(
      errorOf(withMinimal("[limits]\nidle_timeout = \"ten\"\n")),
      R"(t.toml:8:16: limits.idle_timeout: expected a duration like "30s", "500ms" or "10m", got "ten")");
  EXPECT_EQ(
      errorOf(withMinimal("[limits]\nmax_pending_bytes = \"1MB\"\n")),
      R"(t.toml:8:21: limits.max_pending_bytes: expected a size like "512", "64KiB" or "1MiB", got "1MB")");
  EXPECT_EQ(errorOf(withMinimal("[limits]\nmax_message_bytes = 12\n")),
            "t.toml:8:21: limits.max_message_bytes: expected a size from 1024 to 16777216 bytes, "
            "got 12");
  EXPECT_EQ(
      errorOf(withMinimal("[dns]\nservers = [\"192.0.2.1\", \"ns1.example.com\"]\n")),
      R"(t.toml:8:25: dns.servers[1]: expected a server address like "192.0.2.53", "192.0.2.53:5353" or "[2001:db8::53]:53", got "ns1.example.com")");
  EXPECT_EQ(errorOf(withMinimal("[dns]\nmax_ttl = \"1500ms\"\n")),
            "t.toml:8:11: dns.max_ttl: expected a whole number of seconds, got 1500ms");
  EXPECT_EQ(errorOf(withMinimal("[federation]\nmode = \"half-open\"\n")),
            R"(t.toml:8:8: federation.mode: expected "closed" or "open", got "half-open")");
  EXPECT_EQ(
      errorOf(withMinimal("[federation]\nblocked_domains = [\"bad_domain\"]\n")),
      R"(t.toml:8:20: federation.blocked_domains[0]: expected a domain name like "example.com", got "bad_domain")");
  EXPECT_EQ(
      errorOf("[server]\ndomains = [\"example.com\"]\n[[listeners]]\ntransport = \"udp\"\n"
              "address = \"example.com:5060\"\n"),
      R"(t.toml:5:11: listeners[0].address: expected an address like "192.0.2.1:5060" or "[2001:db8::1]:5061", got "example.com:5060")");
  EXPECT_EQ(errorOf("[server]\ndomains = [\"example.com\"]\n[[listeners]]\ntransport = \"sctp\"\n"
                    "address = \"0.0.0.0:5060\"\n"),
            R"(t.toml:4:13: listeners[0].transport: expected "udp" or "tcp" or "tls", got "sctp")");
  EXPECT_EQ(errorOf(withMinimal("[tls.a]\nmin_version = \"1.1\"\n")),
            R"(t.toml:8:15: tls.a.min_version: expected "1.2" or "1.3", got "1.1")");
}

TEST(ConfigErrors, TxnSanity) {
  EXPECT_EQ(errorOf(withMinimal("[txn]\nt1 = \"0ms\"\n")),
            R"(t.toml:8:6: txn.t1: expected a duration from 1ms to 60000ms, got "0ms")");
  EXPECT_EQ(errorOf(withMinimal("[txn]\nwait_timer = \"11m\"\n")),
            R"(t.toml:8:14: txn.wait_timer: expected a duration from 0ms to 600000ms, got "11m")");
  EXPECT_EQ(errorOf(withMinimal("[txn]\nt1 = \"5s\"\n")),
            "t.toml:8:6: txn.t1: t2 (4000ms) must not be below t1 (5000ms)");
  EXPECT_EQ(errorOf(withMinimal("[txn]\nt1 = \"1s\"\nt2 = \"900ms\"\n")),
            "t.toml:9:6: txn.t2: t2 (900ms) must not be below t1 (1000ms)");
}

TEST(ConfigErrors, MissingRequired) {
  EXPECT_EQ(errorOf("[[listeners]]\ntransport = \"udp\"\naddress = \"0.0.0.0:5060\"\n"),
            "t.toml:1:1: server: missing: expected a [server] table with domains");
  EXPECT_EQ(
      errorOf("[server]\nworkers = 2\n"),
      R"(t.toml:1:1: server.domains: missing: expected a list of served domains like ["example.com"])");
  EXPECT_EQ(errorOf("[server]\ndomains = []\n"),
            "t.toml:2:11: server.domains: expected at least one served domain");
  EXPECT_EQ(errorOf("[server]\ndomains = [\"a.com\"]\n"),
            "t.toml:1:1: listeners: missing: expected at least one [[listeners]] table");
  EXPECT_EQ(
      errorOf("[server]\ndomains = [\"a.com\"]\n\n[[listeners]]\ntransport = \"udp\"\n"),
      R"(t.toml:4:1: listeners[0].address: missing: expected an address like "192.0.2.1:5060")");
  EXPECT_EQ(
      errorOf(withMinimal("[[partners]]\nname = \"p\"\n")),
      R"(t.toml:7:1: partners[0].domains: missing: expected a list of the partner's domains like ["partner.com"])");
  EXPECT_EQ(errorOf(withMinimal("[tls.a]\ncertificate = \"a.pem\"\n")),
            "t.toml:8:15: tls.a.key: missing: a profile with a certificate needs its key");
}

constexpr const char* kTlsServer = R"([server]
domains = ["example.com"]

[tls.edge]
certificate = "edge.pem"
key = "edge.key"

[tls.client]
ca = "ca.pem"

[[listeners]]
transport = "tls"
address = "0.0.0.0:5061"
)";

TEST(ConfigErrors, TlsListenerProfiles) {
  EXPECT_EQ(errorOf(kTlsServer),
            "t.toml:11:1: listeners[0].tls: missing: a TLS listener needs a tls profile (the name "
            "of a [tls.<name>] table)");
  EXPECT_EQ(
      errorOf(std::string(kTlsServer) + "tls = \"edg\"\n"),
      R"(t.toml:14:7: listeners[0].tls: no TLS profile named "edg" (defined: "client", "edge"))");
  EXPECT_EQ(
      errorOf(std::string(kTlsServer) + "tls = \"client\"\n"),
      R"(t.toml:14:7: listeners[0].tls: TLS profile "client" has no certificate, which a TLS listener needs)");
  EXPECT_TRUE(parse(std::string(kTlsServer) + "tls = \"edge\"\n", "t.toml"));
  EXPECT_EQ(
      errorOf(withMinimal("tls = \"edge\"\n")),
      R"(t.toml:7:7: listeners[0].tls: only a listener with transport "tls" takes a profile)");
}

TEST(ConfigErrors, DuplicateListener) {
  EXPECT_EQ(
      errorOf(withMinimal("\n[[listeners]]\ntransport = \"tcp\"\naddress = \"0.0.0.0:5060\"\n"
                          "\n[[listeners]]\ntransport = \"udp\"\naddress = \"0.0.0.0:5060\"\n")),
      "t.toml:14:11: listeners[2].address: duplicate listener: listeners[0] already listens "
      "on udp 0.0.0.0:5060");
  EXPECT_EQ(errorOf(withMinimal("name = \"a\"\n[[listeners]]\nname = \"a\"\ntransport = \"tcp\"\n"
                                "address = \"0.0.0.0:5060\"\n")),
            R"(t.toml:9:8: listeners[1].name: duplicate listener name: listeners[0] is also "a")");
}

TEST(ConfigErrors, DuplicatePartner) {
  EXPECT_EQ(errorOf(withMinimal(R"(
[[partners]]
name = "p1"
domains = ["p1.com"]

[[partners]]
name = "p1"
domains = ["other.com"]
)")),
            R"(t.toml:13:8: partners[1].name: duplicate partner "p1" (also defined in t.toml))");
  EXPECT_EQ(
      errorOf(withMinimal(R"(
[[partners]]
name = "p1"
domains = ["p1.com"]

[[partners]]
name = "p2"
domains = ["p2.com", "P1.com"]
)")),
      R"(t.toml:14:22: partners[1].domains[1]: domain "p1.com" already belongs to partner "p1" (t.toml))");
  EXPECT_EQ(errorOf(withMinimal("[[partners]]\nname = \"p\"\ndomains = [\"a.com\", \"a.com\"]\n")),
            R"(t.toml:9:21: partners[0].domains[1]: duplicate domain "a.com")");
}

TEST(ConfigErrors, RootKeyAfterATable) {
  EXPECT_EQ(errorOf(withMinimal("workers = 2\n")), "t.toml:7:1: listeners[0].workers: unknown key");
  EXPECT_EQ(errorOf(withMinimal("include = [\"a.toml\"]\n")),
            "t.toml:7:1: listeners[0].include: unknown key (a top-level key must come before the "
            "first [table] or [[array]] header)");
}

TEST(ConfigErrors, IncludeNeedsLoad) {
  EXPECT_EQ(errorOf("include = [\"policies/*.toml\"]\n" + std::string(kMinimal)),
            "t.toml:1:11: include: includes need the file system: use config::load (sipedge "
            "check-config FILE)");
}

// Temporary files for load().
class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sipedge-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/policies");
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(LoadTest, IncludesPartnersAndBlockedDomains) {
  write("sipedge.toml",
        "include = [\"policies/*.toml\"]\n" +
            withMinimal("[tls.a]\nca = \"ca.pem\"\n"
                        "[federation]\nblocked_domains = [\"x.com\"]\n"
                        "[[partners]]\nname = \"main\"\ndomains = [\"main.com\"]\n"));
  write("policies/a.toml", "[[partners]]\nname = \"a\"\ndomains = [\"a.com\"]\n");
  write("policies/b.toml",
        "[federation]\nblocked_domains = [\"y.com\", \"x.com\"]\n"
        "[[partners]]\nname = \"b\"\ndomains = [\"b.com\"]\n");
  auto c = load(dir_ + "/sipedge.toml");
  ASSERT_TRUE(c) << c.error().describe();
  ASSERT_EQ(c->partners.size(), 3u);
  EXPECT_EQ(c->partners[0].name, "main");
  EXPECT_EQ(c->partners[0].source, dir_ + "/sipedge.toml");
  EXPECT_EQ(c->partners[1].name, "a");
  EXPECT_EQ(c->partners[1].source, dir_ + "/policies/a.toml");
  EXPECT_EQ(c->partners[2].name, "b");
  EXPECT_EQ(c->federation.blocked_domains, (std::vector<std::string>{"x.com", "y.com"}));
  EXPECT_EQ(c->tls[0].ca, dir_ + "/ca.pem");
}

TEST_F(LoadTest, ErrorsInIncludedFileNameThatFile) {
  write("sipedge.toml",
        "include = [\"policies/*.toml\"]\n" +
            withMinimal("[[partners]]\nname = \"main\"\ndomains = [\"main.com\"]\n"));
  write("policies/a.toml", "\n[[partners]]\nname = \"a\"\ndomains = [\"MAIN.com\"]\n");
  auto c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(),
            dir_ +
                "/policies/a.toml:4:12: partners[0].domains[0]: domain \"main.com\" already "
                "belongs to partner \"main\" (" +
                dir_ + "/sipedge.toml)");

  write("policies/a.toml", "[limits]\nmax_headers = 10\n");
  c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(),
            dir_ +
                "/policies/a.toml:1:2: limits: unknown key (an included file may hold only "
                "[[partners]], [federation] blocked_domains and include)");

  write("policies/a.toml", "[federation]\nmode = \"open\"\n");
  c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(),
            dir_ +
                "/policies/a.toml:2:1: federation.mode: unknown key (an included file may set "
                "only federation.blocked_domains)");
}

TEST_F(LoadTest, MissingInclude) {
  write("sipedge.toml",
        "include = [\"policies/*.toml\", \"extra.toml\"]\n" + std::string(kMinimal));
  auto c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(),
            dir_ + "/sipedge.toml:1:31: include[1]: cannot read included file \"" + dir_ +
                "/extra.toml\": No such file or directory");
  // A wildcard that matches nothing is fine.
  write("sipedge.toml", "include = [\"policies/*.toml\"]\n" + std::string(kMinimal));
  EXPECT_TRUE(load(dir_ + "/sipedge.toml"));
}

TEST_F(LoadTest, IncludeCycle) {
  write("sipedge.toml", "include = [\"policies/a.toml\"]\n" + std::string(kMinimal));
  write("policies/a.toml", "include = [\"b.toml\"]\n");
  write("policies/b.toml", "\n\ninclude = [\"../policies/a.toml\"]\n");
  auto c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(), dir_ + "/policies/b.toml:3:12: include[0]: include cycle: \"" +
                                      dir_ + "/policies/a.toml\" is already being read");
  // Including the main file itself is a cycle too.
  write("policies/a.toml", "include = [\"../sipedge.toml\"]\n");
  c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, "include[0]");
  EXPECT_EQ(c.error().line, 1u);
  EXPECT_EQ(c.error().column, 12u);
}

TEST_F(LoadTest, MissingMainFile) {
  auto c = load(dir_ + "/nope.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(),
            dir_ + "/nope.toml: cannot read the file: No such file or directory");
}

}  // namespace
}  // namespace sipedge::config
