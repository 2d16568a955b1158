// policy::Policy: every rule of the documented order, by name, with precedence, closed and open
// federation, outbound, drop actions and rate limiting (time as constructed MonoTime values).

#include "sipedge/policy/policy.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sipedge::policy {
namespace {

using config::Cidr;
using config::DenyAction;
using config::PartnerDirection;
using config::Transport;

Cidr cidr(std::string_view text) {
  auto c = config::parseCidr(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(Cidr{});
}

Ip ip(std::string_view text) {
  auto parsed = Ip::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(Ip{});
}

MonoTime at(std::int64_t ms) {
  return MonoTime{} + std::chrono::milliseconds(ms);
}

config::Partner partner(std::string name, std::vector<std::string> domains) {
  config::Partner p;
  p.name = std::move(name);
  p.domains = std::move(domains);
  return p;
}

// A closed federation with four partners:
//   globex   mutual TLS; networks 203.0.113.0/24 and 2001:db8::/32, minus 203.0.113.128/25;
//            countries US, CA; 4000 bytes; a few methods; targets *@acme.example, ceo@corp.example
//   initech  inbound only, no TLS needed from 198.51.100.0/26; deny_countries KP; drops denials
//   hooli    outbound only
//   nonet    no TLS needed, but no networks either
config::Config baseConfig() {
  config::Config c;
  c.server.domains = {"acme.example", "corp.example"};
  c.federation.blocked_domains = {"evil.example", "old.globex.example"};

  config::Partner globex = partner("globex", {"globex.example", "old.globex.example"});
  globex.policy.methods = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"};
  globex.policy.internal_targets = {"*@acme.example", "ceo@corp.example"};
  globex.policy.networks = {cidr("203.0.113.0/24"), cidr("2001:db8::/32")};
  globex.policy.deny_networks = {cidr("203.0.113.128/25")};
  globex.policy.countries = {"US", "CA"};
  globex.policy.max_message_bytes = 4000;
  c.partners.push_back(globex);

  config::Partner initech = partner("initech", {"initech.example"});
  initech.policy.direction = PartnerDirection::Inbound;
  initech.policy.require_mutual_tls = false;
  initech.policy.networks = {cidr("198.51.100.0/26")};
  initech.policy.deny_countries = {"KP"};
  initech.policy.deny_action = DenyAction::Drop;
  c.partners.push_back(initech);

  config::Partner hooli = partner("hooli", {"hooli.example"});
  hooli.policy.direction = PartnerDirection::Outbound;
  c.partners.push_back(hooli);

  config::Partner nonet = partner("nonet", {"nonet.example"});
  nonet.policy.require_mutual_tls = false;
  c.partners.push_back(nonet);
  return c;
}

// The storage behind a Context (which holds views).
struct Request {
  Direction direction = Direction::Inbound;
  Transport transport = Transport::Tls;
  std::string source = "203.0.113.10";
  bool verified = true;
  std::vector<std::string> certs = {"globex.example"};
  std::string method = "INVITE";
  std::string claimed = "globex.example";
  std::string user = "alice";
  std::string host = "acme.example";
  std::size_t bytes = 1000;
  bool new_dialog = true;
  std::string country = "US";
  std::optional<bool> srv;
  MonoTime now{};

  Context context() const {
    Context c;
    c.direction = direction;
    c.transport = transport;
    c.source = ip(source);
    c.source_text = source;
    c.certificate_verified = verified;
    c.certificate_domains = certs;
    c.method = method;
    c.claimed_domain = claimed;
    c.target_user = user;
    c.target_host = host;
    c.message_bytes = bytes;
    c.new_dialog = new_dialog;
    c.country = country;
    c.srv_matches = srv;
    c.now = now;
    return c;
  }
};

// Plain UDP from initech's network.
Request initechUdp() {
  Request r;
  r.transport = Transport::Udp;
  r.verified = false;
  r.certs = {};
  r.source = "198.51.100.5";
  r.claimed = "initech.example";
  return r;
}

Request outbound(std::string domain) {
  Request r;
  r.direction = Direction::Outbound;
  r.transport = Transport::Udp;
  r.verified = false;
  r.certs = {};
  r.source = "10.0.0.5";
  r.claimed = std::move(domain);
  r.user = "";
  r.host = "";
  r.country = "";
  return r;
}

struct Expected {
  Verdict verdict;
  int status;
  std::string_view reason;
  std::string rule;
  std::string partner;
  std::string network = "";
};

struct Case {
  std::string name;
  std::function<void(config::Config&)> configure;
  std::function<void(Request&)> request;
  Expected expected;
};

const Expected kAllowGlobex{Verdict::Allow, 0, "", "partners[globex]", "globex", "203.0.113.0/24"};

std::vector<Case> cases() {
  auto none = [](config::Config&) {};
  auto open = [](config::Config& c) { c.federation.mode = config::FederationMode::Open; };
  auto newcomer = [](Request& r) {
    r.claimed = "newcomer.example";
    r.certs = {"newcomer.example"};
    r.srv = true;
  };
  return {
      {"allow_partner", none, [](Request&) {}, kAllowGlobex},
      {"claimed_domain_case_and_dot", none, [](Request& r) { r.claimed = "GLOBEX.Example."; },
       kAllowGlobex},
      // 1. blocked domains
      {"blocked_unlisted",
       none,
       [](Request& r) { r.claimed = "evil.example"; },
       {Verdict::Deny, 403, "Forbidden", "federation.blocked_domains", ""}},
      {"blocked_beats_listed_partner",
       none,
       [](Request& r) {
         r.claimed = "old.globex.example";
         r.certs = {"old.globex.example"};
       },
       {Verdict::Deny, 403, "Forbidden", "federation.blocked_domains", "globex"}},
      {"blocked_unknown_status",
       [](config::Config& c) { c.federation.unknown_status = 404; },
       [](Request& r) { r.claimed = "evil.example"; },
       {Verdict::Deny, 404, "Not Found", "federation.blocked_domains", ""}},
      {"blocked_drop",
       [](config::Config& c) { c.federation.unknown_action = DenyAction::Drop; },
       [](Request& r) { r.claimed = "evil.example"; },
       {Verdict::Deny, 0, "", "federation.blocked_domains", ""}},
      // 2. closed federation
      {"closed_unknown_domain",
       none,
       [](Request& r) { r.claimed = "unknown.example"; },
       {Verdict::Deny, 403, "Forbidden", "federation.closed", ""}},
      {"closed_empty_domain",
       none,
       [](Request& r) { r.claimed = ""; },
       {Verdict::Deny, 403, "Forbidden", "federation.closed", ""}},
      {"closed_drop",
       [](config::Config& c) { c.federation.unknown_action = DenyAction::Drop; },
       [](Request& r) { r.claimed = "unknown.example"; },
       {Verdict::Deny, 0, "", "federation.closed", ""}},
      // 2. open federation
      {"open_allows_unlisted_with_default_policy",
       open,
       newcomer,
       {Verdict::Allow, 0, "", "federation.default", "federation.default"}},
      {"open_certificate_must_cover",
       open,
       [=](Request& r) {
         newcomer(r);
         r.certs = {"other.example"};
       },
       {Verdict::Deny, 403, "Forbidden", "federation.open.certificate", ""}},
      {"open_certificate_must_be_verified",
       open,
       [=](Request& r) {
         newcomer(r);
         r.verified = false;
       },
       {Verdict::Deny, 403, "Forbidden", "federation.open.certificate", ""}},
      {"open_certificate_needs_tls",
       open,
       [=](Request& r) {
         newcomer(r);
         r.transport = Transport::Tcp;
       },
       {Verdict::Deny, 403, "Forbidden", "federation.open.certificate", ""}},
      {"open_srv_mismatch",
       open,
       [=](Request& r) {
         newcomer(r);
         r.srv = false;
       },
       {Verdict::Deny, 403, "Forbidden", "federation.open.srv", ""}},
      {"open_srv_not_looked_up",
       open,
       [=](Request& r) {
         newcomer(r);
         r.srv = std::nullopt;
       },
       {Verdict::Deny, 403, "Forbidden", "federation.open.srv", ""}},
      {"open_default_policy_rules",
       [](config::Config& c) {
         c.federation.mode = config::FederationMode::Open;
         c.federation.default_policy.methods = {"OPTIONS", "MESSAGE"};
         c.federation.default_policy.deny_status = 405;
       },
       newcomer,
       {Verdict::Deny, 405, "Method Not Allowed", "federation.default.methods",
        "federation.default"}},
      {"open_blocked_still_blocked",
       open,
       [=](Request& r) {
         newcomer(r);
         r.claimed = "evil.example";
         r.certs = {"evil.example"};
       },
       {Verdict::Deny, 403, "Forbidden", "federation.blocked_domains", ""}},
      {"open_listed_partner_keeps_its_policy",
       open,
       [](Request& r) { r.method = "MESSAGE"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].methods", "globex", "203.0.113.0/24"}},
      // 3. mutual TLS
      {"mutual_tls_udp",
       none,
       [](Request& r) {
         r.transport = Transport::Udp;
         r.verified = false;
         r.certs = {};
       },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].mutual_tls", "globex"}},
      {"mutual_tls_unverified",
       none,
       [](Request& r) { r.verified = false; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].mutual_tls", "globex"}},
      {"mutual_tls_no_sip_domains",
       none,
       [](Request& r) { r.certs = {}; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].mutual_tls", "globex"}},
      // 4. identity
      {"identity_certificate_of_another_partner",
       none,
       [](Request& r) { r.certs = {"initech.example"}; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].identity", "globex"}},
      {"identity_no_suffix_match",
       none,
       [](Request& r) { r.certs = {"example"}; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].identity", "globex"}},
      {"identity_certificate_case_insensitive", none,
       [](Request& r) {
         r.certs = {"other.example", "GLOBEX.EXAMPLE"};
       },
       kAllowGlobex},
      {"identity_without_tls_from_network",
       none,
       [](Request& r) { r = initechUdp(); },
       {Verdict::Allow, 0, "", "partners[initech]", "initech", "198.51.100.0/26"}},
      {"identity_without_tls_outside_networks",
       none,
       [](Request& r) {
         r = initechUdp();
         r.source = "198.51.100.200";
       },
       {Verdict::Deny, 0, "", "partners[initech].identity", "initech"}},
      {"identity_spoofed_over_tls_from_inside_networks",
       none,
       [](Request& r) {
         r = initechUdp();
         r.transport = Transport::Tls;
         r.verified = true;
         r.certs = {"globex.example"};
       },
       {Verdict::Deny, 0, "", "partners[initech].identity", "initech"}},
      {"identity_unverified_tls_counts_as_no_tls",
       none,
       [](Request& r) {
         r = initechUdp();
         r.transport = Transport::Tls;
         r.certs = {"globex.example"};
       },
       {Verdict::Allow, 0, "", "partners[initech]", "initech", "198.51.100.0/26"}},
      {"identity_partner_without_networks_needs_tls",
       none,
       [](Request& r) {
         r = initechUdp();
         r.claimed = "nonet.example";
       },
       {Verdict::Deny, 403, "Forbidden", "partners[nonet].identity", "nonet"}},
      // 5. direction
      {"direction_outbound_only_partner",
       none,
       [](Request& r) {
         r.claimed = "hooli.example";
         r.certs = {"hooli.example"};
       },
       {Verdict::Deny, 403, "Forbidden", "partners[hooli].direction", "hooli"}},
      // 6. networks
      {"deny_networks_beats_networks",
       none,
       [](Request& r) { r.source = "203.0.113.200"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].deny_networks", "globex",
        "203.0.113.128/25"}},
      {"networks_outside",
       none,
       [](Request& r) { r.source = "192.0.2.1"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].networks", "globex"}},
      {"networks_ipv6",
       none,
       [](Request& r) { r.source = "2001:db8::5"; },
       {Verdict::Allow, 0, "", "partners[globex]", "globex", "2001:db8::/32"}},
      {"networks_ipv4_mapped_ipv6", none, [](Request& r) { r.source = "::ffff:203.0.113.10"; },
       kAllowGlobex},
      {"networks_ipv4_mapped_in_deny_network",
       none,
       [](Request& r) { r.source = "::ffff:203.0.113.129"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].deny_networks", "globex",
        "203.0.113.128/25"}},
      {"networks_other_ipv6",
       none,
       [](Request& r) { r.source = "2001:db9::5"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].networks", "globex"}},
      // 7. countries
      {"deny_countries",
       none,
       [](Request& r) {
         r = initechUdp();
         r.country = "KP";
       },
       {Verdict::Deny, 0, "", "partners[initech].deny_countries", "initech", "198.51.100.0/26"}},
      {"deny_countries_unknown_country_allowed",
       none,
       [](Request& r) {
         r = initechUdp();
         r.country = "";
       },
       {Verdict::Allow, 0, "", "partners[initech]", "initech", "198.51.100.0/26"}},
      {"countries_not_listed",
       none,
       [](Request& r) { r.country = "FR"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].countries", "globex", "203.0.113.0/24"}},
      {"countries_unknown_country_denied",
       none,
       [](Request& r) { r.country = ""; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].countries", "globex", "203.0.113.0/24"}},
      {"countries_case_insensitive", none, [](Request& r) { r.country = "ca"; }, kAllowGlobex},
      // 8. size
      {"max_message_bytes",
       none,
       [](Request& r) { r.bytes = 4001; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].max_message_bytes", "globex",
        "203.0.113.0/24"}},
      {"max_message_bytes_at_limit", none, [](Request& r) { r.bytes = 4000; }, kAllowGlobex},
      {"max_message_bytes_from_limits",
       [](config::Config& c) { c.limits.max_message_bytes = 2000; },
       [](Request& r) {
         r = initechUdp();
         r.bytes = 2001;
       },
       {Verdict::Deny, 0, "", "partners[initech].max_message_bytes", "initech", "198.51.100.0/26"}},
      // 9. methods
      {"methods_not_listed",
       none,
       [](Request& r) { r.method = "MESSAGE"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].methods", "globex", "203.0.113.0/24"}},
      {"methods_case_sensitive",
       none,
       [](Request& r) { r.method = "invite"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].methods", "globex", "203.0.113.0/24"}},
      {"methods_empty_list_allows_all",
       none,
       [](Request& r) {
         r = initechUdp();
         r.method = "PUBLISH";
       },
       {Verdict::Allow, 0, "", "partners[initech]", "initech", "198.51.100.0/26"}},
      // 9b. registration from partners: refused unless `register = true`
      {"register_refused_by_default",
       none,
       [](Request& r) {
         r = initechUdp();
         r.method = "REGISTER";
       },
       {Verdict::Deny, 0, "", "partners[initech].register", "initech", "198.51.100.0/26"}},
      {"register_allowed_for_partner",
       [](config::Config& c) { c.partners[1].policy.register_allowed = true; },
       [](Request& r) {
         r = initechUdp();
         r.method = "REGISTER";
       },
       {Verdict::Allow, 0, "", "partners[initech]", "initech", "198.51.100.0/26"}},
      {"register_checked_after_methods",
       none,
       [](Request& r) { r.method = "REGISTER"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].methods", "globex", "203.0.113.0/24"}},
      // 10. internal targets
      {"targets_user_not_listed",
       none,
       [](Request& r) { r.host = "corp.example"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].internal_targets", "globex",
        "203.0.113.0/24"}},
      {"targets_listed_user", none,
       [](Request& r) {
         r.user = "ceo";
         r.host = "corp.example";
       },
       kAllowGlobex},
      {"targets_user_case_sensitive",
       none,
       [](Request& r) {
         r.user = "CEO";
         r.host = "corp.example";
       },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].internal_targets", "globex",
        "203.0.113.0/24"}},
      {"targets_wildcard_host_case_insensitive", none,
       [](Request& r) {
         r.user = "anyone";
         r.host = "ACME.example";
       },
       kAllowGlobex},
      {"targets_other_host",
       none,
       [](Request& r) { r.host = "elsewhere.example"; },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].internal_targets", "globex",
        "203.0.113.0/24"}},
      // statuses, reasons and trust headers
      {"deny_status_and_reason",
       [](config::Config& c) { c.partners[0].policy.deny_status = 488; },
       [](Request& r) { r.method = "MESSAGE"; },
       {Verdict::Deny, 488, "Not Acceptable Here", "partners[globex].methods", "globex",
        "203.0.113.0/24"}},
      {"deny_status_without_standard_reason",
       [](config::Config& c) { c.partners[0].policy.deny_status = 499; },
       [](Request& r) { r.method = "MESSAGE"; },
       {Verdict::Deny, 499, "Request Failure", "partners[globex].methods", "globex",
        "203.0.113.0/24"}},
      {"deny_status_6xx",
       [](config::Config& c) { c.partners[0].policy.deny_status = 603; },
       [](Request& r) { r.method = "MESSAGE"; },
       {Verdict::Deny, 603, "Decline", "partners[globex].methods", "globex", "203.0.113.0/24"}},
      // outbound: rules 1, 2, 5, 9, 12 only
      {"outbound_allow",
       none,
       [](Request& r) { r = outbound("globex.example"); },
       {Verdict::Allow, 0, "", "partners[globex]", "globex"}},
      {"outbound_ignores_inbound_rules",
       none,
       [](Request& r) {
         r = outbound("globex.example");
         r.source = "192.0.2.1";
         r.country = "KP";
         r.bytes = 1 << 20;
         r.user = "nobody";
         r.host = "nowhere.example";
       },
       {Verdict::Allow, 0, "", "partners[globex]", "globex"}},
      {"outbound_direction",
       none,
       [](Request& r) { r = outbound("initech.example"); },
       {Verdict::Deny, 0, "", "partners[initech].direction", "initech"}},
      {"outbound_only_partner",
       none,
       [](Request& r) { r = outbound("hooli.example"); },
       {Verdict::Allow, 0, "", "partners[hooli]", "hooli"}},
      {"outbound_methods",
       none,
       [](Request& r) {
         r = outbound("globex.example");
         r.method = "MESSAGE";
       },
       {Verdict::Deny, 403, "Forbidden", "partners[globex].methods", "globex"}},
      {"outbound_blocked",
       none,
       [](Request& r) { r = outbound("evil.example"); },
       {Verdict::Deny, 403, "Forbidden", "federation.blocked_domains", ""}},
      {"outbound_closed",
       none,
       [](Request& r) { r = outbound("unknown.example"); },
       {Verdict::Deny, 403, "Forbidden", "federation.closed", ""}},
      {"outbound_open_default_policy",
       open,
       [](Request& r) { r = outbound("unknown.example"); },
       {Verdict::Allow, 0, "", "federation.default", "federation.default"}},
      {"outbound_open_default_direction",
       [](config::Config& c) {
         c.federation.mode = config::FederationMode::Open;
         c.federation.default_policy.direction = PartnerDirection::Inbound;
       },
       [](Request& r) { r = outbound("unknown.example"); },
       {Verdict::Deny, 403, "Forbidden", "federation.default.direction", "federation.default"}},
  };
}

class PolicyRules : public ::testing::TestWithParam<Case> {};

TEST_P(PolicyRules, Decides) {
  const Case& c = GetParam();
  config::Config config = baseConfig();
  c.configure(config);
  Request request;
  c.request(request);
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  const Decision d = policy->decide(request.context(), limiter);
  EXPECT_EQ(verdictName(d.verdict), verdictName(c.expected.verdict));
  EXPECT_EQ(d.status, c.expected.status);
  EXPECT_EQ(d.reason, c.expected.reason);
  EXPECT_EQ(d.rule, c.expected.rule);
  EXPECT_EQ(d.partner, c.expected.partner);
  EXPECT_EQ(d.network, c.expected.network);
  EXPECT_EQ(d.retry_after, 0u);
  EXPECT_EQ(d.tokens_left, -1);  // no rate limits configured
  EXPECT_EQ(limiter.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, PolicyRules, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Policy, NamesVerdictsAndDirections) {
  EXPECT_EQ(verdictName(Verdict::Allow), "allow");
  EXPECT_EQ(verdictName(Verdict::Deny), "deny");
  EXPECT_EQ(verdictName(Verdict::Redirect), "redirect");
  EXPECT_EQ(verdictName(Verdict::Throttle), "throttle");
  EXPECT_EQ(directionName(Direction::Inbound), "inbound");
  EXPECT_EQ(directionName(Direction::Outbound), "outbound");
}

TEST(Policy, PartnerForLooksUpByDomain) {
  auto policy = Policy::compile(baseConfig());
  const config::Partner* p = policy->partnerFor("old.globex.example");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "globex");
  ASSERT_NE(policy->partnerFor("Initech.Example"), nullptr);
  EXPECT_EQ(policy->partnerFor("Initech.Example")->name, "initech");
  EXPECT_EQ(policy->partnerFor("unknown.example"), nullptr);
  EXPECT_EQ(policy->partnerFor(""), nullptr);
}

TEST(Policy, TrustHeadersFollowThePolicy) {
  config::Config config = baseConfig();
  config.partners[0].policy.trust_headers = config::TrustHeaders::Keep;
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  Request request;
  EXPECT_FALSE(policy->decide(request.context(), limiter).strip_trust_headers);
  request = initechUdp();
  EXPECT_TRUE(policy->decide(request.context(), limiter).strip_trust_headers);
}

TEST(Policy, DecisionsAreComparableValues) {
  auto policy = Policy::compile(baseConfig());
  MemoryRateLimiter limiter;
  Request request;
  const Decision a = policy->decide(request.context(), limiter);
  EXPECT_EQ(a, policy->decide(request.context(), limiter));
  request.method = "MESSAGE";
  EXPECT_NE(a, policy->decide(request.context(), limiter));
}

TEST(Policy, SnapshotOutlivesTheConfig) {
  std::shared_ptr<const Policy> policy;
  {
    config::Config config = baseConfig();
    policy = Policy::compile(config);
  }
  MemoryRateLimiter limiter;
  Request request;
  EXPECT_EQ(policy->decide(request.context(), limiter).rule, "partners[globex]");
  EXPECT_EQ(policy->partnerFor("globex.example")->name, "globex");
}

// ---- rate limits ---------------------------------------------------------------------------

// Records the keys taken, and delegates to a MemoryRateLimiter.
class RecordingLimiter final : public RateLimiter {
 public:
  bool take(std::string_view key, const config::RateLimitConfig& rate, MonoTime now,
            double& left) override {
    keys.emplace_back(key);
    return inner.take(key, rate, now, left);
  }
  std::vector<std::string> keys;
  MemoryRateLimiter inner;
};

TEST(PolicyRateLimits, PerSourceBucketRefillsWithTime) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.source_requests = {1, 2};
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  Request r;
  r.now = at(1000);
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  Decision second = policy->decide(r.context(), limiter);
  EXPECT_EQ(second.verdict, Verdict::Allow);
  EXPECT_DOUBLE_EQ(second.tokens_left, 0);

  const Decision third = policy->decide(r.context(), limiter);
  EXPECT_EQ(third.verdict, Verdict::Throttle);
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(third.reason, "Service Unavailable");
  EXPECT_EQ(third.retry_after, 5u);
  EXPECT_EQ(third.rule, "partners[globex].rate_limits.source_requests");
  EXPECT_EQ(third.partner, "globex");
  EXPECT_EQ(third.network, "203.0.113.0/24");
  EXPECT_DOUBLE_EQ(third.tokens_left, 0);

  // Another source of the same partner has its own bucket.
  Request other = r;
  other.source = "203.0.113.11";
  EXPECT_EQ(policy->decide(other.context(), limiter).verdict, Verdict::Allow);

  // Half a second refills half a token: still throttled; a whole second refills one.
  r.now = at(1500);
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Throttle);
  r.now = at(2000);
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Throttle);
  // A long pause refills up to the burst only.
  r.now = at(60000);
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Throttle);
}

TEST(PolicyRateLimits, PerPartnerBucketCoversAllSources) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.requests = {1, 3};
  config.partners[0].policy.throttle_status = 480;
  config.partners[0].policy.throttle_retry_after = std::chrono::milliseconds(2500);
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  Request r;
  for (const char* source : {"203.0.113.1", "203.0.113.2", "203.0.113.3"}) {
    r.source = source;
    EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow) << source;
  }
  r.source = "203.0.113.4";
  const Decision d = policy->decide(r.context(), limiter);
  EXPECT_EQ(d.verdict, Verdict::Throttle);
  EXPECT_EQ(d.rule, "partners[globex].rate_limits.requests");
  EXPECT_EQ(d.status, 480);
  EXPECT_EQ(d.reason, "Temporarily Unavailable");
  EXPECT_EQ(d.retry_after, 3u);  // whole seconds, rounded up
  // Another partner is not affected.
  Request initech = initechUdp();
  EXPECT_EQ(policy->decide(initech.context(), limiter).verdict, Verdict::Allow);
}

TEST(PolicyRateLimits, DialogBucketsOnlyForNewDialogs) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.dialogs = {1, 1};
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  Request r;
  r.new_dialog = true;
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  const Decision d = policy->decide(r.context(), limiter);
  EXPECT_EQ(d.verdict, Verdict::Throttle);
  EXPECT_EQ(d.rule, "partners[globex].rate_limits.dialogs");
  r.new_dialog = false;
  r.method = "OPTIONS";
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
}

TEST(PolicyRateLimits, SourceDialogsBucket) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.source_dialogs = {0.5, 1};
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  Request r;
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  EXPECT_EQ(policy->decide(r.context(), limiter).rule,
            "partners[globex].rate_limits.source_dialogs");
  r.now = at(2000);  // 0.5/s: one token after two seconds
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
}

TEST(PolicyRateLimits, KeysAndOrder) {
  config::Config config = baseConfig();
  auto& limits = config.partners[0].policy.rate_limits;
  limits.source_requests = {10, 10};
  limits.requests = {10, 10};
  limits.source_dialogs = {10, 10};
  limits.dialogs = {10, 10};
  auto policy = Policy::compile(config);
  RecordingLimiter limiter;
  Request r;
  const Decision d = policy->decide(r.context(), limiter);
  EXPECT_EQ(d.verdict, Verdict::Allow);
  EXPECT_DOUBLE_EQ(d.tokens_left, 9);  // the last bucket taken
  EXPECT_EQ(limiter.keys, (std::vector<std::string>{"s:globex:203.0.113.10:req", "p:globex:req",
                                                    "s:globex:203.0.113.10:dlg", "p:globex:dlg"}));
  limiter.keys.clear();
  r.new_dialog = false;
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  EXPECT_EQ(limiter.keys, (std::vector<std::string>{"s:globex:203.0.113.10:req", "p:globex:req"}));
}

TEST(PolicyRateLimits, ZeroRateIsNoLimitAndTakesNothing) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.requests = {0, 5};
  auto policy = Policy::compile(config);
  RecordingLimiter limiter;
  Request r;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  }
  EXPECT_TRUE(limiter.keys.empty());
}

// Documented choice: a bucket passed is charged even when a later bucket refuses; a bucket
// after the refusing one is not consulted.
TEST(PolicyRateLimits, EarlierBucketsAreChargedWhenALaterOneRefuses) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.source_requests = {1, 3};
  config.partners[0].policy.rate_limits.requests = {1, 1};
  auto policy = Policy::compile(config);
  RecordingLimiter limiter;
  Request r;
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  const Decision d = policy->decide(r.context(), limiter);
  EXPECT_EQ(d.rule, "partners[globex].rate_limits.requests");
  double left = 0;
  const config::RateLimitConfig source_rate{1, 3};
  EXPECT_TRUE(limiter.inner.take("s:globex:203.0.113.10:req", source_rate, r.now, left));
  EXPECT_DOUBLE_EQ(left, 0);  // 3 - 2 decisions - this take

  // A refusing first bucket leaves the later ones untouched.
  limiter.keys.clear();
  EXPECT_EQ(policy->decide(r.context(), limiter).rule,
            "partners[globex].rate_limits.source_requests");
  EXPECT_EQ(limiter.keys, (std::vector<std::string>{"s:globex:203.0.113.10:req"}));
}

TEST(PolicyRateLimits, ThrottleDrop) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.requests = {1, 1};
  config.partners[0].policy.throttle_action = DenyAction::Drop;
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  Request r;
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow);
  const Decision d = policy->decide(r.context(), limiter);
  EXPECT_EQ(d.verdict, Verdict::Throttle);
  EXPECT_EQ(d.status, 0);
  EXPECT_EQ(d.reason, "");
  EXPECT_EQ(d.retry_after, 0u);
}

TEST(PolicyRateLimits, BurstDefaultsToRateRoundedUp) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.requests = {2.5, 0};
  auto policy = Policy::compile(config);
  MemoryRateLimiter limiter;
  Request r;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Allow) << i;
  }
  EXPECT_EQ(policy->decide(r.context(), limiter).verdict, Verdict::Throttle);
}

TEST(PolicyRateLimits, DefaultPolicyBucketsPerDomain) {
  config::Config config = baseConfig();
  config.federation.mode = config::FederationMode::Open;
  config.federation.default_policy.rate_limits.requests = {1, 1};
  config.federation.default_policy.rate_limits.source_requests = {5, 5};
  auto policy = Policy::compile(config);
  RecordingLimiter limiter;
  Request a;
  a.claimed = "a.example";
  a.certs = {"a.example"};
  a.srv = true;
  Request b = a;
  b.claimed = "b.example";
  b.certs = {"b.example"};
  EXPECT_EQ(policy->decide(a.context(), limiter).verdict, Verdict::Allow);
  const Decision throttled = policy->decide(a.context(), limiter);
  EXPECT_EQ(throttled.verdict, Verdict::Throttle);
  EXPECT_EQ(throttled.rule, "federation.default.rate_limits.requests");
  EXPECT_EQ(throttled.partner, "federation.default");
  EXPECT_EQ(policy->decide(b.context(), limiter).verdict, Verdict::Allow);
  EXPECT_EQ(limiter.keys[0], "s:federation.default/a.example:203.0.113.10:req");
  EXPECT_EQ(limiter.keys[1], "p:federation.default/a.example:req");
}

TEST(PolicyRateLimits, RateLimitsComeAfterEveryOtherRule) {
  config::Config config = baseConfig();
  config.partners[0].policy.rate_limits.requests = {1, 1};
  auto policy = Policy::compile(config);
  RecordingLimiter limiter;
  Request r;
  r.method = "MESSAGE";  // denied by rule 9: no token taken
  EXPECT_EQ(policy->decide(r.context(), limiter).rule, "partners[globex].methods");
  EXPECT_TRUE(limiter.keys.empty());
  // Outbound requests are not rate limited.
  Request out = outbound("globex.example");
  EXPECT_EQ(policy->decide(out.context(), limiter).verdict, Verdict::Allow);
  EXPECT_TRUE(limiter.keys.empty());
}

}  // namespace
}  // namespace sipedge::policy
