// config::lint: one test per warning, with its position.
#include "sipedge/config/lint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sipedge::config {
namespace {

// A served domain, a UDP listener and a mutual-TLS listener (client_certificate "request" by
// default): 11 lines; warningsWith() adds the key (line 12), then the test's lines from 13.
constexpr const char* kBase = R"([server]
domains = ["acme.test"]
[[listeners]]
transport = "udp"
address = "127.0.0.1:5060"
[[listeners]]
transport = "tls"
address = "127.0.0.1:5061"
tls = "edge"
[tls.edge]
certificate = "e.pem"
)";

std::vector<std::string> warningsOf(const std::string& text) {
  auto c = parse(text, "t.toml");
  if (!c) {
    return {"(error) " + c.error().describe()};
  }
  std::vector<std::string> out;
  for (const ConfigWarning& w : lint(*c)) {
    out.push_back(w.describe());
  }
  return out;
}

std::vector<std::string> warningsWith(const std::string& extra) {
  return warningsOf(std::string(kBase) + "key = \"e.key\"\n" + extra);
}

using Lines = std::vector<std::string>;

TEST(Lint, Describe) {
  EXPECT_EQ((ConfigWarning{"a.toml", "federation.mode", 3, 8, "open"}).describe(),
            "a.toml:3:8: warning: federation.mode: open");
  EXPECT_EQ((ConfigWarning{"a.toml", "", 0, 0, "x"}).describe(), "a.toml: warning: x");
}

TEST(Lint, CleanConfigHasNoWarnings) {
  EXPECT_EQ(warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"), Lines{});
}

TEST(Lint, OpenFederationWithoutBlockedDomains) {
  EXPECT_EQ(warningsWith("[federation]\nmode = \"open\"\n"),
            Lines{"t.toml:14:8: warning: federation.mode: open federation with no "
                  "blocked_domains: any domain whose certificate and DNS check out may send; list "
                  "the domains to refuse in federation.blocked_domains"});
  EXPECT_EQ(warningsWith("[federation]\nmode = \"open\"\nblocked_domains = [\"spam.test\"]\n"),
            Lines{});
}

TEST(Lint, DefaultPolicyInClosedFederation) {
  EXPECT_EQ(warningsWith("[federation.default]\nmethods = [\"MESSAGE\"]\n"),
            Lines{"t.toml:13:1: warning: federation.default: [federation.default] applies only to "
                  "open federation (mode = \"open\"): here it has no effect"});
}

TEST(Lint, PartnerWithAllDomainsBlocked) {
  EXPECT_EQ(
      warningsWith("[federation]\nblocked_domains = [\"p.test\"]\n[[partners]]\nname = \"p\"\n"
                   "domains = [\"p.test\"]\n"),
      (Lines{"t.toml:17:12: warning: partners[0].domains[0]: \"p.test\" is also in "
             "federation.blocked_domains, which wins: its requests never reach this partner's "
             "rules",
             "t.toml:15:1: warning: partners[0]: partner \"p\" can never match: all its domains "
             "are blocked"}));
}

TEST(Lint, PartnerDomainThatIsServed) {
  EXPECT_EQ(warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\", \"acme.test\"]\n"),
            Lines{"t.toml:15:22: warning: partners[0].domains[1]: \"acme.test\" is one of "
                  "server.domains: this partner could send as the served domain's own users"});
}

TEST(Lint, MutualTlsWithoutAListenerThatAsks) {
  const std::string none = "key = \"e.key\"\nclient_certificate = \"none\"\n";
  EXPECT_EQ(warningsOf(std::string(kBase) + none +
                       "[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"),
            Lines{"t.toml:14:1: warning: partners[0].require_mutual_tls: partner \"p\" can never "
                  "send inbound: it requires mutual TLS, but no external TLS listener asks for a "
                  "client certificate (client_certificate = \"request\" or \"require\")"});
  // Outbound only: no inbound to worry about.
  EXPECT_EQ(warningsOf(std::string(kBase) + none +
                       "[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\ndirection = "
                       "\"outbound\"\n"),
            Lines{});
}

TEST(Lint, PlainTransportWithoutNetworks) {
  EXPECT_EQ(warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                         "require_mutual_tls = false\n"),
            Lines{"t.toml:16:22: warning: partners[0].require_mutual_tls: require_mutual_tls = "
                  "false without networks: any host can claim partner \"p\"'s domains over plain "
                  "UDP or TCP; list the partner's source networks"});
  EXPECT_EQ(warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                         "require_mutual_tls = false\nnetworks = [\"192.0.2.0/24\"]\n"),
            Lines{});
}

TEST(Lint, InternalTargetsOnAnOutboundPartner) {
  EXPECT_EQ(warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\ndirection = "
                         "\"outbound\"\ninternal_targets = [\"*@acme.test\"]\n"),
            Lines{"t.toml:17:20: warning: partners[0].internal_targets: internal_targets apply "
                  "to inbound requests, and direction = \"outbound\": they have no effect"});
}

TEST(Lint, NetworksAllDenied) {
  EXPECT_EQ(
      warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                   "networks = [\"10.1.0.0/16\"]\ndeny_networks = [\"10.0.0.0/8\"]\n"),
      (Lines{"t.toml:16:13: warning: partners[0].networks[0]: 10.1.0.0/16 is inside "
             "deny_networks[0] (10.0.0.0/8), which wins: it allows nothing",
             "t.toml:16:12: warning: partners[0].networks: partner \"p\" can never match: every "
             "network in networks is inside deny_networks"}));
}

TEST(Lint, ShadowedNetworks) {
  EXPECT_EQ(warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                         "networks = [\"10.0.0.0/8\", \"192.0.2.0/24\", \"10.2.0.0/16\"]\n"
                         "deny_networks = [\"10.2.3.0/24\", \"10.2.3.4\", \"2001:db8::/32\"]\n"),
            (Lines{"t.toml:16:43: warning: partners[0].networks[2]: 10.2.0.0/16 is already "
                   "covered by networks[0] (10.0.0.0/8)",
                   "t.toml:17:33: warning: partners[0].deny_networks[1]: 10.2.3.4/32 is already "
                   "covered by deny_networks[0] (10.2.3.0/24)",
                   "t.toml:17:45: warning: partners[0].deny_networks[2]: 2001:db8::/32 is "
                   "outside every networks entry: it has no effect"}));
}

TEST(Lint, Countries) {
  const std::string geoip = "[geoip]\ndatabase = \"g.mmdb\"\n";
  EXPECT_EQ(warningsWith(geoip + "[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                                 "countries = [\"DE\"]\ndeny_countries = [\"DE\", \"RU\"]\n"),
            (Lines{"t.toml:18:14: warning: partners[0].countries[0]: \"DE\" is also in "
                   "deny_countries, which wins",
                   "t.toml:18:13: warning: partners[0].countries: partner \"p\" can never match: "
                   "every country in countries is in deny_countries",
                   "t.toml:19:25: warning: partners[0].deny_countries[1]: \"RU\" is not in "
                   "countries, so it is refused anyway: this entry has no effect"}));
}

TEST(Lint, ShadowedInternalTargets) {
  EXPECT_EQ(warningsWith("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                         "internal_targets = [\"jerry@acme.test\", \"*@acme.test\"]\n"),
            Lines{"t.toml:16:21: warning: partners[0].internal_targets[0]: \"jerry@acme.test\" is "
                  "already covered by internal_targets[1] (\"*@acme.test\")"});
}

TEST(Lint, DefaultPolicyRulesInOpenFederation) {
  EXPECT_EQ(warningsWith("[federation]\nmode = \"open\"\nblocked_domains = [\"x.test\"]\n"
                         "[federation.default]\nnetworks = [\"10.0.0.0/8\", \"10.0.0.0/8\"]\n"),
            Lines{"t.toml:17:27: warning: federation.default.networks[1]: 10.0.0.0/8 is already "
                  "covered by networks[0] (10.0.0.0/8)"});
}

}  // namespace
}  // namespace sipedge::config
