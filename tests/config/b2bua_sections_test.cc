// The sections the B2BUA reads: directory, next hops, next-hop health, b2bua, admin, and the
// partners' outbound address.
#include <gtest/gtest.h>

#include <string>

#include "sipedge/config/config.h"

namespace sipedge::config {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMinimal = R"([server]
domains = ["acme.test"]

[[listeners]]
transport = "udp"
address = "127.0.0.1:5060"
)";

std::string errorOf(const std::string& extra) {
  auto result = parse(std::string(kMinimal) + extra, "t.toml");
  return result ? "(parsed)" : result.error().describe();
}

TEST(B2buaSections, Defaults) {
  auto c = parse(kMinimal, "t.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->directory, DirectoryConfig{});
  EXPECT_EQ(c->directory.backend, DirectoryBackend::Static);
  EXPECT_EQ(c->directory.not_found_status, 404);
  EXPECT_TRUE(c->next_hops.empty());
  EXPECT_EQ(c->next_hop_health.interval, milliseconds(5000));
  EXPECT_EQ(c->b2bua.max_dialog_lifetime, milliseconds(12 * 3600 * 1000));
  EXPECT_EQ(c->b2bua.idle_check, milliseconds(0));  // off
  EXPECT_FALSE(c->admin.enabled);
}

TEST(B2buaSections, FullParse) {
  auto c = parse(std::string(kMinimal) + R"(
[directory]
backend = "ldap"
not_found_status = 480
unavailable_retry_after = "10s"

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@nyc.acme.test" }]

[[directory.static.users]]
external = "jerry@ACME.test"
internal = "js@nyc.acme.test"
targets = [{ uri = "sip:js-desk@nyc.acme.test", q = 0.8 }, { uri = "sip:js-m@nyc.acme.test" }]

[directory.ldap]
uri = "ldap://127.0.0.1:3890"
bind_dn = "cn=sipedge,dc=acme,dc=test"
password_file = "ldap.secret"
base = "ou=people,dc=acme,dc=test"
timeout = "1s"

[directory.cache]
positive_ttl = "5m"
negative_ttl = "30s"
max_entries = 50

[[next_hops]]
address = "127.0.0.3:5080"
[[next_hops]]
name = "backup"
transport = "tls"
address = "127.0.0.4:5061"
priority = 2
weight = 10
tls_server_name = "proxy.nyc.acme.test"

[next_hop_health]
interval = "2s"
failures = 3

[b2bua]
max_dialog_lifetime = "2h"
idle_check = "15m"
pass_headers = ["X-Trace"]
drop_headers = ["Subject"]
pass_user_agent = true

[b2bua.to_partners]
drop_headers = ["Organization", "Priority"]

[b2bua.to_inside]
pass_headers = ["X-Partner-Trace"]

[admin]
listen = "127.0.0.1:9090"

[[partners]]
name = "partner"
domains = ["partner.test"]
address = "127.0.0.2:5061"
)",
                 "/etc/sipedge/sipedge.toml");
  ASSERT_TRUE(c) << c.error().describe();
  const DirectoryConfig& d = c->directory;
  EXPECT_EQ(d.backend, DirectoryBackend::Ldap);
  EXPECT_EQ(d.not_found_status, 480);
  EXPECT_EQ(d.unavailable_retry_after, milliseconds(10000));
  ASSERT_EQ(d.static_map.users.size(), 1u);
  EXPECT_EQ(d.static_map.users[0].external, "jerry@acme.test");
  EXPECT_EQ(d.static_map.users[0].internal, "js@nyc.acme.test");
  ASSERT_EQ(d.static_map.users[0].targets.size(), 2u);
  EXPECT_EQ(d.static_map.users[0].targets[0],
            (StaticDirectoryConfig::Target{"sip:js-desk@nyc.acme.test", 0.8}));
  EXPECT_EQ(d.static_map.users[0].targets[1].q, 1.0);
  ASSERT_EQ(d.static_map.rules.size(), 1u);
  EXPECT_EQ(d.static_map.rules[0].internal, "{user}@nyc.acme.test");
  EXPECT_EQ(d.ldap.uri, "ldap://127.0.0.1:3890");
  EXPECT_EQ(d.ldap.password_file, "/etc/sipedge/ldap.secret");
  EXPECT_EQ(d.ldap.timeout, milliseconds(1000));
  EXPECT_EQ(d.ldap.external_filter, "(sipExternalAddress={aor})");
  EXPECT_EQ(d.cache.positive_ttl, milliseconds(300000));
  EXPECT_EQ(d.cache.max_entries, 50u);
  ASSERT_EQ(c->next_hops.size(), 2u);
  EXPECT_EQ(c->next_hops[0].name, "udp:127.0.0.3:5080");
  EXPECT_EQ(c->next_hops[0].priority, 1u);
  EXPECT_EQ(c->next_hops[1].name, "backup");
  EXPECT_EQ(c->next_hops[1].transport, Transport::Tls);
  EXPECT_EQ(c->next_hops[1].weight, 10u);
  EXPECT_EQ(c->next_hops[1].tls_server_name, "proxy.nyc.acme.test");
  EXPECT_EQ(c->next_hop_health.interval, milliseconds(2000));
  EXPECT_EQ(c->next_hop_health.failures, 3u);
  EXPECT_EQ(c->b2bua.max_dialog_lifetime, milliseconds(7200000));
  EXPECT_EQ(c->b2bua.idle_check, milliseconds(900000));
  EXPECT_EQ(c->b2bua.pass_headers, std::vector<std::string>{"x-trace"});
  EXPECT_EQ(c->b2bua.drop_headers, std::vector<std::string>{"subject"});
  EXPECT_TRUE(c->b2bua.pass_user_agent);
  EXPECT_EQ(c->b2bua.to_partners.drop_headers,
            (std::vector<std::string>{"organization", "priority"}));
  EXPECT_EQ(c->b2bua.to_inside.pass_headers, std::vector<std::string>{"x-partner-trace"});
  EXPECT_TRUE(c->b2bua.to_inside.drop_headers.empty());
  EXPECT_TRUE(c->admin.enabled);
  EXPECT_EQ(c->admin.listen, (SocketAddress{"127.0.0.1", 9090, false}));
  ASSERT_EQ(c->partners.size(), 1u);
  EXPECT_TRUE(c->partners[0].has_address);
  EXPECT_EQ(c->partners[0].address, (SocketAddress{"127.0.0.2", 5061, false}));
  EXPECT_EQ(c->partners[0].transport, Transport::Tls);
}

TEST(B2buaSections, Errors) {
  EXPECT_EQ(errorOf("[directory]\nbackend = \"sql\"\n"),
            R"(t.toml:8:11: directory.backend: expected "static" or "ldap", got "sql")");
  EXPECT_EQ(errorOf("[directory]\nbackend = \"ldap\"\n"),
            "t.toml:8:11: directory.ldap: missing: backend \"ldap\" needs a [directory.ldap] table "
            "with uri and base");
  EXPECT_EQ(
      errorOf("[directory.static]\nrules = [{ external = \"jerry@acme.test\", internal = "
              "\"{user}@x.test\" }]\n"),
      R"(t.toml:8:23: directory.static.rules[0].external: expected a rule side like "{user}@example.com", got "jerry@acme.test")");
  EXPECT_EQ(
      errorOf("[directory.static]\nusers = [{ external = \"jerry\", internal = \"js@x.test\" }]\n"),
      R"(t.toml:8:23: directory.static.users[0].external: expected an address like "jerry@example.com", got "jerry")");
  EXPECT_EQ(
      errorOf("[directory.static]\nusers = [{ external = \"j@a.test\", internal = \"js@x.test\", "
              "targets = [{ uri = \"mailto:j@x\" }] }]\n"),
      R"(t.toml:8:78: directory.static.users[0].targets[0].uri: expected a sip: or sips: URI, got "mailto:j@x")");
  EXPECT_EQ(
      errorOf("[directory.static]\nusers = [{ external = \"j@a.test\", internal = \"js@x.test\", "
              "targets = [{ uri = \"sip:j@x\", q = 2.0 }] }]\n"),
      R"(t.toml:8:93: directory.static.users[0].targets[0].q: expected a q-value from 0.0 to 1.0, got a floating-point number)");
  EXPECT_EQ(
      errorOf("[directory.static]\nusers = [{ external = \"j@a.test\", internal = \"a@x.test\" }, "
              "{ external = \"j@a.test\", internal = \"b@x.test\" }]\n"),
      R"(t.toml:8:73: directory.static.users[1].external: duplicate external address "j@a.test")");
  EXPECT_EQ(
      errorOf("[directory.ldap]\nuri = \"http://x\"\nbase = \"dc=x\"\n"),
      R"(t.toml:8:7: directory.ldap.uri: expected an LDAP URI like "ldap://127.0.0.1:389" or "ldaps://host", got "http://x")");
  EXPECT_EQ(errorOf("[directory.ldap]\nuri = \"ldap://x\"\nbase = \"dc=x\"\nbind_dn = \"cn=a\"\n"),
            "t.toml:10:11: directory.ldap.password_file: missing: a bind_dn needs a password_file");
  EXPECT_EQ(
      errorOf("[directory.ldap]\nuri = \"ldap://x\"\nbase = \"dc=x\"\nexternal_filter = "
              "\"mail={aor}\"\n"),
      R"x(t.toml:10:19: directory.ldap.external_filter: expected an LDAP filter in parentheses like "(mail={aor})", got "mail={aor}")x");
  EXPECT_EQ(
      errorOf("[[next_hops]]\naddress = \"127.0.0.3\"\n"),
      R"x(t.toml:8:11: next_hops[0].address: expected an address like "192.0.2.1:5060" or "[2001:db8::1]:5061", got "127.0.0.3")x");
  EXPECT_EQ(errorOf("[[next_hops]]\naddress = \"127.0.0.3:0\"\n"),
            "t.toml:8:11: next_hops[0].address: a next hop needs a port other than 0");
  EXPECT_EQ(errorOf("[[next_hops]]\ntransport = \"tls\"\naddress = \"127.0.0.3:5061\"\n"),
            "t.toml:7:1: next_hops[0].tls_server_name: missing: a TLS next hop needs the name its "
            "certificate covers");
  EXPECT_EQ(errorOf("[[next_hops]]\naddress = \"127.0.0.3:5060\"\n[[next_hops]]\naddress = "
                    "\"127.0.0.3:5060\"\n"),
            "t.toml:10:11: next_hops[1].address: duplicate next hop: next_hops[0] is also "
            "udp:127.0.0.3:5060");
  EXPECT_EQ(
      errorOf("[b2bua]\npass_headers = [\"X Bad\"]\n"),
      R"(t.toml:8:17: b2bua.pass_headers[0]: expected a header name like "X-Custom", got "X Bad")");
  EXPECT_EQ(
      errorOf("[b2bua]\nidle_check = 30\n"),
      R"(t.toml:8:14: b2bua.idle_check: expected a duration like "30s", "500ms" or "10m", got an integer (30))");
  EXPECT_EQ(
      errorOf("[b2bua]\nidle_check = \"25h\"\n"),
      R"(t.toml:8:14: b2bua.idle_check: expected a duration from 0ms to 86400000ms, got "25h")");
  EXPECT_EQ(errorOf("[b2bua]\nclient_tls = \"nope\"\n"),
            R"(t.toml:8:14: b2bua.client_tls: no TLS profile named "nope")");
  EXPECT_EQ(
      errorOf("[admin]\nlisten = \"localhost:80\"\n"),
      R"x(t.toml:8:10: admin.listen: expected an address like "192.0.2.1:5060" or "[2001:db8::1]:5061", got "localhost:80")x");
  EXPECT_EQ(
      errorOf("[b2bua.to_inside]\npass_header = [\"X\"]\n"),
      R"(t.toml:8:1: b2bua.to_inside.pass_header: unknown key (did you mean "pass_headers"?))");
  EXPECT_EQ(errorOf("[admin]\nlisen = \"127.0.0.1:80\"\n"),
            R"(t.toml:8:1: admin.lisen: unknown key (did you mean "listen"?))");
  EXPECT_EQ(errorOf("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\ntransport = \"udp\"\n"),
            "t.toml:10:13: partners[0].transport: a transport applies only with an address "
            "(otherwise DNS chooses)");
}

// The commented example the demo runs: it must load, and mean what its comments say.
TEST(ExampleConfig, LoadsWithTheDocumentedValues) {
  auto c = load(std::string(SIPEDGE_SOURCE_DIR) + "/policies/example.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->server.domains, std::vector<std::string>{"acme.example"});
  ASSERT_EQ(c->listeners.size(), 3u);
  EXPECT_EQ(c->listeners[1].transport, Transport::Tls);
  EXPECT_EQ(c->listeners[2].side, Side::Internal);
  ASSERT_EQ(c->tls.size(), 1u);
  EXPECT_EQ(c->tls[0].certificate, std::string(SIPEDGE_SOURCE_DIR) + "/certs/dev/edge.pem");
  EXPECT_EQ(c->tls[0].client_certificate, ClientCertMode::Require);
  EXPECT_EQ(c->directory.backend, DirectoryBackend::Static);
  ASSERT_EQ(c->directory.static_map.users.size(), 1u);
  EXPECT_EQ(c->directory.static_map.users[0].internal, "js@nyc.acme.example");
  ASSERT_EQ(c->next_hops.size(), 1u);
  EXPECT_EQ(c->next_hops[0].address, (SocketAddress{"127.0.0.1", 5080, false}));
  EXPECT_TRUE(c->admin.enabled);
  ASSERT_EQ(c->partners.size(), 1u);
  EXPECT_FALSE(c->partners[0].has_address);
  // What is commented out is the default.
  EXPECT_EQ(c->limits, LimitsConfig{});
  EXPECT_EQ(c->txn, TxnConfig{});
  EXPECT_EQ(c->dns, DnsConfig{});
  EXPECT_EQ(c->directory.cache, DirectoryCacheConfig{});
  EXPECT_EQ(c->b2bua, B2buaConfig{});
  // Issue 5's policy: the demo's partner may come over UDP from loopback, to any acme.example
  // user; the rest is commented out, so default.
  const PartnerPolicy& p = c->partners[0].policy;
  EXPECT_FALSE(p.require_mutual_tls);
  EXPECT_EQ(p.networks.size(), 2u);
  EXPECT_EQ(p.internal_targets, std::vector<std::string>{"*@acme.example"});
  EXPECT_EQ(p.methods.size(), 12u);
  EXPECT_EQ(p.rate_limits.requests, (RateLimitConfig{50, 100}));
  PartnerPolicy rest = p;
  rest.require_mutual_tls = true;
  rest.networks.clear();
  rest.internal_targets.clear();
  rest.methods.clear();
  rest.rate_limits = {};
  EXPECT_EQ(rest, PartnerPolicy{});
  EXPECT_EQ(c->federation.unknown_action, DenyAction::Respond);
  EXPECT_EQ(c->federation.default_policy, PartnerPolicy{});
  EXPECT_EQ(c->geoip, GeoIpConfig{});
  EXPECT_EQ(c->decision_log.path, std::string(SIPEDGE_SOURCE_DIR) + "/var/decisions.log");
  DecisionLogConfig log = c->decision_log;
  log.path.clear();
  EXPECT_EQ(log, DecisionLogConfig{});
  EXPECT_EQ(c->logging, LoggingConfig{});
}

}  // namespace
}  // namespace sipedge::config
