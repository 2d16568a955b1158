// The configuration reaches the runtime modules' settings unchanged.

#include "../../src/app/settings.h"

#include <gtest/gtest.h>

namespace sipedge::app {
namespace {

config::Config parse(std::string_view text) {
  auto c = config::parse(text, "/etc/sipedge/sipedge.toml");
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
  return c ? *c : config::Config{};
}

TEST(SettingsTest, EveryConfiguredValueReachesItsModule) {
  config::Config c = parse(R"(
[server]
domains = ["acme.example"]

[[listeners]]
transport = "tls"
address = "[::1]:5061"
side = "internal"
tls = "edge"
advertised_host = "edge.acme.example"

[[listeners]]
transport = "udp"
address = "127.0.0.1:5060"

[tls.edge]
certificate = "certs/edge.pem"
key = "certs/edge.key"
ca = "/etc/ssl/partners.pem"
client_certificate = "require"
min_version = "1.3"
groups = "X25519"

[limits]
max_message_bytes = "32KiB"
max_headers = 100
max_connections = 500
max_connections_per_ip = 7
max_pending_bytes = "2MiB"
connect_timeout = "2s"
tls_handshake_timeout = "3s"
idle_timeout = "1m"
max_transactions = 1234
udp_max_request_bytes = 1000

[txn]
t1 = "250ms"
t2 = "2s"
t4 = "3s"
timer_c = "200s"
timer_d = "40s"
wait_timer = "5s"

[dns]
servers = ["127.0.0.1:5353", "::1"]
timeout = "1s"
tries = 3
cache_entries = 50
negative_ttl = "10s"
max_ttl = "5m"
ipv6 = false
)");
  transport::Limits l = transportLimits(c);
  EXPECT_EQ(l.max_connections, 500u);
  EXPECT_EQ(l.max_connections_per_ip, 7u);
  EXPECT_EQ(l.max_pending_bytes, 2u << 20);
  EXPECT_EQ(l.connect_timeout, Duration{2000});
  EXPECT_EQ(l.tls_handshake_timeout, Duration{3000});
  EXPECT_EQ(l.idle_timeout, Duration{60000});
  EXPECT_EQ(l.parse.max_message_bytes, 32u * 1024);
  EXPECT_EQ(l.parse.max_headers, 100u);

  txn::LayerSettings t = layerSettings(c);
  EXPECT_EQ(t.timers.t1, Duration{250});
  EXPECT_EQ(t.timers.t2, Duration{2000});
  EXPECT_EQ(t.timers.t4, Duration{3000});
  EXPECT_EQ(t.timers.timer_c, Duration{200000});
  EXPECT_EQ(t.timers.timer_d, Duration{40000});
  EXPECT_EQ(t.timers.waitTimer(), Duration{5000});
  EXPECT_EQ(t.max_transactions, 1234u);
  EXPECT_EQ(t.max_udp_request_bytes, 1000u);

  dns::ResolverSettings d = resolverSettings(c);
  EXPECT_EQ(d.servers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"}));
  EXPECT_EQ(d.timeout, Duration{1000});
  EXPECT_EQ(d.tries, 3);
  EXPECT_EQ(d.max_entries, 50u);
  EXPECT_EQ(d.negative_ttl, std::chrono::seconds{10});
  EXPECT_EQ(d.max_ttl, std::chrono::seconds{300});
  EXPECT_FALSE(d.ipv6);

  ASSERT_NE(c.findTlsProfile("edge"), nullptr);
  transport::TlsSettings s = tlsSettings(*c.findTlsProfile("edge"));
  EXPECT_EQ(s.certificate_file, "/etc/sipedge/certs/edge.pem");
  EXPECT_EQ(s.key_file, "/etc/sipedge/certs/edge.key");
  EXPECT_EQ(s.ca_file, "/etc/ssl/partners.pem");
  EXPECT_EQ(s.client_cert, transport::ClientCertMode::Require);
  EXPECT_EQ(s.min_version, "1.3");
  EXPECT_EQ(s.groups, "X25519");

  auto listeners = listenerSettings(c);
  ASSERT_EQ(listeners.size(), 2u);
  EXPECT_EQ(listeners[0].endpoint.toString(), "TLS [::1]:5061");
  EXPECT_EQ(listeners[0].side, transport::Side::Internal);
  EXPECT_EQ(listeners[0].tls_profile, "edge");
  EXPECT_EQ(listeners[0].advertised_host, "edge.acme.example");
  EXPECT_EQ(listeners[1].endpoint.toString(), "UDP 127.0.0.1:5060");
  EXPECT_EQ(listeners[1].side, transport::Side::External);
}

TEST(SettingsTest, DefaultsAgreeWithTheModulesOwnDefaults) {
  config::Config c = parse(R"(
[server]
domains = ["acme.example"]
[[listeners]]
transport = "udp"
address = "127.0.0.1:5060"
)");
  transport::Limits l = transportLimits(c);
  transport::Limits own;
  EXPECT_EQ(l.max_connections, own.max_connections);
  EXPECT_EQ(l.max_connections_per_ip, own.max_connections_per_ip);
  EXPECT_EQ(l.max_pending_bytes, own.max_pending_bytes);
  EXPECT_EQ(l.connect_timeout, own.connect_timeout);
  EXPECT_EQ(l.tls_handshake_timeout, own.tls_handshake_timeout);
  EXPECT_EQ(l.idle_timeout, own.idle_timeout);
  EXPECT_EQ(l.parse.max_message_bytes, own.parse.max_message_bytes);
  EXPECT_EQ(l.parse.max_headers, own.parse.max_headers);
  txn::LayerSettings t = layerSettings(c);
  txn::LayerSettings own_t;
  EXPECT_EQ(t.timers.t1, own_t.timers.t1);
  EXPECT_EQ(t.timers.t2, own_t.timers.t2);
  EXPECT_EQ(t.timers.t4, own_t.timers.t4);
  EXPECT_EQ(t.timers.timer_c, own_t.timers.timer_c);
  EXPECT_EQ(t.timers.timer_d, own_t.timers.timer_d);
  EXPECT_EQ(t.timers.waitTimer(), own_t.timers.timerB());  // 64*T1 unless set
  EXPECT_EQ(t.max_transactions, own_t.max_transactions);
  EXPECT_EQ(t.max_udp_request_bytes, own_t.max_udp_request_bytes);
  dns::ResolverSettings d = resolverSettings(c);
  dns::ResolverSettings own_d;
  EXPECT_EQ(d.servers, own_d.servers);
  EXPECT_EQ(d.timeout, own_d.timeout);
  EXPECT_EQ(d.tries, own_d.tries);
  EXPECT_EQ(d.max_entries, own_d.max_entries);
  EXPECT_EQ(d.negative_ttl, own_d.negative_ttl);
  EXPECT_EQ(d.max_ttl, own_d.max_ttl);
  EXPECT_EQ(d.ipv6, own_d.ipv6);
  EXPECT_EQ(d.prefer_ipv6, own_d.prefer_ipv6);
}

}  // namespace
}  // namespace sipedge::app
