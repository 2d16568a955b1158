// Policy::compile and the pure decide() (include/sipedge/policy/policy.h has the rule order).
//
// Choices the header leaves open:
// - Domains are compared in lower case with one trailing dot ignored; the context's domains
//   should already be lower case, so normalising costs nothing in the common case.
// - Rules 1-2 ("federation.*") answer with [federation] unknown_action / unknown_status; every
//   later rule with the policy's deny_action / deny_status (rate limits: throttle_*).
// - A blocked domain that a partner owns names that partner in Decision::partner.
// - Rule 4 (identity): a request over TLS with a verified certificate naming at least one SIP
//   domain is judged by the certificate alone: it must name the claimed domain (whole,
//   case-insensitive, RFC 5922 7.2), whatever the source address. Anything else (UDP, TCP, TLS
//   without a verified certificate) is judged by the source address: it must be inside one of
//   the partner's `networks`, and a partner without networks cannot be reached that way.
// - Rule 7: with `countries` set, an unknown country (no GeoIP answer) is denied; with only
//   `deny_countries` set, it is allowed.
// - Rate limits of [federation.default] are kept per claimed domain ("p:federation.default/
//   DOMAIN:req"), not shared by every unlisted domain: each open-federation peer gets the
//   default's budget, and one busy peer cannot starve the others.
// - A status outside 400-699 in a hand-built Config (parse() refuses those) falls back to the
//   default (403, or 503 for throttling).

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sipedge/base/strings.h"
#include "sipedge/policy/policy.h"
#include "sipedge/sip/response.h"

namespace sipedge::policy {

namespace {

// Lower case, one trailing dot dropped. Returns `text` itself (no copy) when already normal;
// otherwise fills `storage` and returns a view of it.
std::string_view normalizeDomain(std::string_view text, std::string& storage) {
  if (!text.empty() && text.back() == '.') {
    text.remove_suffix(1);
  }
  const bool has_upper =
      std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!has_upper) {
    return text;
  }
  storage.assign(text);
  for (char& c : storage) {
    c = asciiLower(c);
  }
  return storage;
}

std::string_view reasonFor(int status) {
  if (status == 0) {
    return {};
  }
  const std::string_view known = sip::defaultReason(status);
  if (!known.empty()) {
    return known;
  }
  switch (status / 100) {
    case 4: return "Request Failure";
    case 5: return "Server Failure";
    case 6: return "Global Failure";
    default: return "Unknown";
  }
}

int validStatus(int status, int fallback) {
  return status >= 400 && status <= 699 ? status : fallback;
}

std::string ipText(const Ip& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(ip.ipv6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof buf) == nullptr) {
    return {};
  }
  return buf;
}

std::string cidrText(const config::Cidr& cidr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(cidr.ipv6 ? AF_INET6 : AF_INET, cidr.address.data(), buf, sizeof buf) == nullptr) {
    return {};
  }
  std::string out = buf;
  out += '/';
  out += std::to_string(cidr.prefix);
  return out;
}

bool prefixMatches(const std::uint8_t* network, const std::uint8_t* address, unsigned prefix) {
  const unsigned whole = prefix / 8;
  if (std::memcmp(network, address, whole) != 0) {
    return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (network[whole] & mask) == (address[whole] & mask);
}

constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

bool isV4Mapped(const Ip& ip) {
  return ip.ipv6 && std::memcmp(ip.bytes.data(), kMappedPrefix, 12) == 0;
}

// The rules of one compiled policy, by index into CompiledPolicy::rule_names.
enum Rule : std::size_t {
  kMutualTls,
  kIdentity,
  kDirection,
  kDenyNetworks,
  kNetworks,
  kDenyCountries,
  kCountries,
  kMaxMessageBytes,
  kMethods,
  kRegister,
  kInternalTargets,
  kSourceRequests,
  kRequests,
  kSourceDialogs,
  kDialogs,
  kAllow,
  kRuleCount,
};

constexpr std::string_view kRuleSuffix[kRuleCount] = {
    ".mutual_tls",
    ".identity",
    ".direction",
    ".deny_networks",
    ".networks",
    ".deny_countries",
    ".countries",
    ".max_message_bytes",
    ".methods",
    ".register",
    ".internal_targets",
    ".rate_limits.source_requests",
    ".rate_limits.requests",
    ".rate_limits.source_dialogs",
    ".rate_limits.dialogs",
    "",
};

struct Network {
  config::Cidr cidr;
  std::string text;
};

// A PartnerPolicy with everything decide() needs pre-parsed.
struct CompiledPolicy {
  std::string name;  // the partner's name, or "federation.default"
  bool is_default = false;
  std::array<std::string, kRuleCount> rule_names;
  bool inbound = true;
  bool outbound = true;
  bool require_mutual_tls = true;
  StringSet methods;  // empty: all
  bool register_allowed = false;
  // internal_targets by host: any user ("*@host"), or these users.
  struct Targets {
    bool any_user = false;
    StringSet users;
  };
  StringMap<Targets> targets;  // empty: any target
  std::vector<Network> networks;
  std::vector<Network> deny_networks;
  std::vector<std::string> countries;
  std::vector<std::string> deny_countries;
  std::uint64_t max_message_bytes = 0;
  config::RateLimitsConfig rate_limits;
  bool strip_trust_headers = true;
  bool deny_drop = false;
  int deny_status = 403;
  bool throttle_drop = false;
  int throttle_status = 503;
  std::uint32_t retry_after = 0;
  // Limiter key prefixes: "p:NAME:" and "s:NAME:" (the default policy appends the domain).
  std::string partner_key;
  std::string source_key;
};

std::vector<Network> compileNetworks(const std::vector<config::Cidr>& cidrs) {
  std::vector<Network> out;
  out.reserve(cidrs.size());
  for (const config::Cidr& c : cidrs) {
    out.push_back(Network{c, cidrText(c)});
  }
  return out;
}

CompiledPolicy compilePolicy(const config::PartnerPolicy& p, std::string name, bool is_default,
                             const config::LimitsConfig& limits) {
  CompiledPolicy c;
  const std::string prefix = is_default ? name : "partners[" + name + "]";
  for (std::size_t i = 0; i < kRuleCount; ++i) {
    c.rule_names[i] = prefix + std::string(kRuleSuffix[i]);
  }
  c.name = std::move(name);
  c.is_default = is_default;
  c.inbound = p.direction != config::PartnerDirection::Outbound;
  c.outbound = p.direction != config::PartnerDirection::Inbound;
  c.require_mutual_tls = p.require_mutual_tls;
  for (const std::string& m : p.methods) {
    c.methods.insert(m);
  }
  c.register_allowed = p.register_allowed;
  for (const std::string& t : p.internal_targets) {
    const std::size_t at = t.rfind('@');
    if (at == std::string::npos) {
      continue;  // config::parse refuses these
    }
    std::string host_storage;
    const std::string host(normalizeDomain(std::string_view(t).substr(at + 1), host_storage));
    const std::string user = t.substr(0, at);
    CompiledPolicy::Targets& entry = c.targets[host];
    if (user == "*") {
      entry.any_user = true;
    } else {
      entry.users.insert(user);
    }
  }
  c.networks = compileNetworks(p.networks);
  c.deny_networks = compileNetworks(p.deny_networks);
  c.countries = p.countries;
  c.deny_countries = p.deny_countries;
  c.max_message_bytes = p.max_message_bytes != 0 ? p.max_message_bytes : limits.max_message_bytes;
  c.rate_limits = p.rate_limits;
  c.strip_trust_headers = p.trust_headers == config::TrustHeaders::Strip;
  c.deny_drop = p.deny_action == config::DenyAction::Drop;
  c.deny_status = validStatus(p.deny_status, 403);
  c.throttle_drop = p.throttle_action == config::DenyAction::Drop;
  c.throttle_status = validStatus(p.throttle_status, 503);
  const auto ms = std::max<std::int64_t>(0, p.throttle_retry_after.count());
  c.retry_after = static_cast<std::uint32_t>(
      std::min<std::int64_t>((ms + 999) / 1000, std::numeric_limits<std::uint32_t>::max()));
  c.partner_key = "p:" + c.name + (is_default ? "/" : ":");
  c.source_key = "s:" + c.name + (is_default ? "/" : ":");
  return c;
}

bool anyOf(const std::vector<std::string>& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return iequals(s, value); });
}

const Network* findNetwork(const std::vector<Network>& list, const Ip& ip) {
  for (const Network& n : list) {
    if (contains(n.cidr, ip)) {
      return &n;
    }
  }
  return nullptr;
}

// Whether the request came over TLS with a verified certificate naming SIP domains.
bool hasVerifiedCertificate(const Context& ctx) {
  return ctx.transport == config::Transport::Tls && ctx.certificate_verified &&
         !ctx.certificate_domains.empty();
}

bool certificateCovers(const Context& ctx, std::string_view domain) {
  if (!hasVerifiedCertificate(ctx) || domain.empty()) {
    return false;
  }
  for (const std::string& d : ctx.certificate_domains) {
    std::string_view name = d;
    if (!name.empty() && name.back() == '.') {
      name.remove_suffix(1);
    }
    if (iequals(name, domain)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view verdictName(Verdict v) {
  switch (v) {
    case Verdict::Allow: return "allow";
    case Verdict::Deny: return "deny";
    case Verdict::Redirect: return "redirect";
    case Verdict::Throttle: return "throttle";
  }
  return "unknown";
}

std::string_view directionName(Direction d) {
  switch (d) {
    case Direction::Inbound: return "inbound";
    case Direction::Outbound: return "outbound";
  }
  return "unknown";
}

std::optional<Ip> Ip::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest literal it accepts is
  // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 bytes).
  char buf[INET6_ADDRSTRLEN + 1] = {};
  if (text.empty() || text.size() >= sizeof buf || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::memcpy(buf, text.data(), text.size());
  Ip ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes.data()) != 1) {
      return std::nullopt;
    }
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) {
    return std::nullopt;
  }
  ip.ipv6 = true;
  return ip;
}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4
// peer) is the IPv4 address it carries: it matches IPv4 networks and, like every IPv4 address,
// never an IPv6 network (not even ::/0 or ::ffff:0:0/96). So one rule holds whichever way the
// transport reports the peer.
bool contains(const config::Cidr& network, const Ip& ip) {
  if (!network.ipv6) {
    if (!ip.ipv6) {
      return prefixMatches(network.address.data(), ip.bytes.data(), std::min(network.prefix, 32u));
    }
    return isV4Mapped(ip) && prefixMatches(network.address.data(), ip.bytes.data() + 12,
                                           std::min(network.prefix, 32u));
  }
  return ip.ipv6 && !isV4Mapped(ip) &&
         prefixMatches(network.address.data(), ip.bytes.data(), std::min(network.prefix, 128u));
}

struct Policy::Impl {
  std::vector<config::Partner> partners;
  std::vector<CompiledPolicy> compiled;  // parallel to partners
  CompiledPolicy default_compiled;
  StringMap<std::size_t> by_domain;  // domain -> index into partners
  StringSet blocked;
  bool open = false;
  bool unknown_drop = false;
  int unknown_status = 403;
  std::string_view unknown_reason;

  const std::size_t* find(std::string_view domain) const {
    auto it = by_domain.find(domain);
    return it == by_domain.end() ? nullptr : &it->second;
  }
};

Policy::Policy() : impl_(std::make_unique<Impl>()) {}
Policy::~Policy() = default;

std::shared_ptr<const Policy> Policy::compile(const config::Config& config) {
  std::shared_ptr<Policy> policy(new Policy());
  Impl& impl = *policy->impl_;
  impl.partners = config.partners;
  impl.open = config.federation.mode == config::FederationMode::Open;
  impl.unknown_drop = config.federation.unknown_action == config::DenyAction::Drop;
  impl.unknown_status = validStatus(config.federation.unknown_status, 403);
  impl.unknown_reason = reasonFor(impl.unknown_status);
  for (const std::string& d : config.federation.blocked_domains) {
    std::string storage;
    impl.blocked.insert(std::string(normalizeDomain(d, storage)));
  }
  impl.compiled.reserve(impl.partners.size());
  for (std::size_t i = 0; i < impl.partners.size(); ++i) {
    const config::Partner& p = impl.partners[i];
    impl.compiled.push_back(compilePolicy(p.policy, p.name, false, config.limits));
    for (const std::string& d : p.domains) {
      std::string storage;
      // config::parse refuses a domain owned twice; in a hand-built Config the first wins.
      impl.by_domain.emplace(std::string(normalizeDomain(d, storage)), i);
    }
  }
  impl.default_compiled =
      compilePolicy(config.federation.default_policy, "federation.default", true, config.limits);
  return policy;
}

const config::Partner* Policy::partnerFor(std::string_view domain) const {
  std::string storage;
  const std::size_t* index = impl_->find(normalizeDomain(domain, storage));
  return index == nullptr ? nullptr : &impl_->partners[*index];
}

namespace {

Decision federationDeny(std::string_view rule, bool drop, int status, std::string_view reason) {
  Decision d;
  d.verdict = Verdict::Deny;
  d.status = drop ? 0 : status;
  d.reason = drop ? std::string_view{} : reason;
  d.rule = rule;
  return d;
}

Decision policyDeny(const CompiledPolicy& c, Rule rule) {
  Decision d;
  d.verdict = Verdict::Deny;
  d.status = c.deny_drop ? 0 : c.deny_status;
  d.reason = reasonFor(d.status);
  d.rule = c.rule_names[rule];
  d.partner = c.name;
  d.strip_trust_headers = c.strip_trust_headers;
  return d;
}

// Rules 3-12 (inbound) or 5, 9, 12 (outbound) for the policy `c` of the claimed domain.
Decision decideWith(const CompiledPolicy& c, const Context& ctx, std::string_view domain,
                    RateLimiter& limiter) {
  const bool inbound = ctx.direction == Direction::Inbound;
  std::string network_evidence;
  if (inbound) {
    // 3. mutual TLS
    if (c.require_mutual_tls && !hasVerifiedCertificate(ctx)) {
      return policyDeny(c, kMutualTls);
    }
    // 4. identity: the certificate, or else the source network, must vouch for the domain.
    if (hasVerifiedCertificate(ctx)) {
      if (!certificateCovers(ctx, domain)) {
        return policyDeny(c, kIdentity);
      }
    } else if (findNetwork(c.networks, ctx.source) == nullptr) {
      return policyDeny(c, kIdentity);
    }
  }
  // 5. direction
  if (inbound ? !c.inbound : !c.outbound) {
    return policyDeny(c, kDirection);
  }
  if (inbound) {
    // 6. networks
    if (const Network* n = findNetwork(c.deny_networks, ctx.source)) {
      Decision d = policyDeny(c, kDenyNetworks);
      d.network = n->text;
      return d;
    }
    if (!c.networks.empty()) {
      const Network* n = findNetwork(c.networks, ctx.source);
      if (n == nullptr) {
        return policyDeny(c, kNetworks);
      }
      network_evidence = n->text;
    }
    // 7. countries
    if (!ctx.country.empty() && anyOf(c.deny_countries, ctx.country)) {
      Decision d = policyDeny(c, kDenyCountries);
      d.network = network_evidence;
      return d;
    }
    if (!c.countries.empty() && (ctx.country.empty() || !anyOf(c.countries, ctx.country))) {
      Decision d = policyDeny(c, kCountries);
      d.network = network_evidence;
      return d;
    }
    // 8. size
    if (ctx.message_bytes > c.max_message_bytes) {
      Decision d = policyDeny(c, kMaxMessageBytes);
      d.network = network_evidence;
      return d;
    }
  }
  // 9. methods (case-sensitive, RFC 3261 7.1)
  if (!c.methods.empty() && c.methods.find(ctx.method) == c.methods.end()) {
    Decision d = policyDeny(c, kMethods);
    d.network = network_evidence;
    return d;
  }
  // 9b. registration from a partner (issue 6): only where the partner's `register` allows it.
  if (inbound && !c.register_allowed && ctx.method == "REGISTER") {
    Decision d = policyDeny(c, kRegister);
    d.network = network_evidence;
    return d;
  }
  double tokens_left = -1;
  if (inbound) {
    // 10. internal targets: user case-sensitive, host case-insensitive.
    if (!c.targets.empty()) {
      std::string storage;
      auto it = c.targets.find(normalizeDomain(ctx.target_host, storage));
      const bool ok = it != c.targets.end() &&
                      (it->second.any_user || it->second.users.count(ctx.target_user) > 0);
      if (!ok) {
        Decision d = policyDeny(c, kInternalTargets);
        d.network = network_evidence;
        return d;
      }
    }
    // 11. rate limits, in the order source_requests, requests, source_dialogs, dialogs (dialog
    // buckets only for a new dialog). Each bucket passed is charged even when a later one
    // refuses: a refused request still cost the partner and the source one token each of the
    // buckets before, which keeps the limiter a single take() per bucket (no refunds) and
    // errs toward throttling a flood.
    struct Step {
      Rule rule;
      const config::RateLimitConfig* rate;
      bool per_source;
      std::string_view kind;
    };
    const Step steps[] = {
        {kSourceRequests, &c.rate_limits.source_requests, true, "req"},
        {kRequests, &c.rate_limits.requests, false, "req"},
        {kSourceDialogs, &c.rate_limits.source_dialogs, true, "dlg"},
        {kDialogs, &c.rate_limits.dialogs, false, "dlg"},
    };
    std::string key;
    for (const Step& s : steps) {
      if (!(s.rate->per_second > 0) || (s.kind == "dlg" && !ctx.new_dialog)) {
        continue;
      }
      key.assign(s.per_source ? c.source_key : c.partner_key);
      if (c.is_default) {
        key += domain;
        key += ':';
      }
      if (s.per_source) {
        if (!ctx.source_text.empty()) {
          key += ctx.source_text;
        } else {
          key += ipText(ctx.source);
        }
        key += ':';
      }
      key += s.kind;
      double left = 0;
      const bool ok = limiter.take(key, *s.rate, ctx.now, left);
      tokens_left = left;
      if (!ok) {
        Decision d;
        d.verdict = Verdict::Throttle;
        d.status = c.throttle_drop ? 0 : c.throttle_status;
        d.reason = reasonFor(d.status);
        d.retry_after = c.throttle_drop ? 0 : c.retry_after;
        d.rule = c.rule_names[s.rule];
        d.partner = c.name;
        d.strip_trust_headers = c.strip_trust_headers;
        d.network = std::move(network_evidence);
        d.tokens_left = left;
        return d;
      }
    }
  }
  // 12. allow
  Decision d;
  d.verdict = Verdict::Allow;
  d.status = 0;
  d.rule = c.rule_names[kAllow];
  d.partner = c.name;
  d.strip_trust_headers = c.strip_trust_headers;
  d.network = std::move(network_evidence);
  d.tokens_left = tokens_left;
  return d;
}

}  // namespace

Decision Policy::decide(const Context& context, RateLimiter& limiter) const {
  const Impl& impl = *impl_;
  std::string storage;
  const std::string_view domain = normalizeDomain(context.claimed_domain, storage);
  const std::size_t* index = impl.find(domain);

  // 1. blocked domains
  if (impl.blocked.find(domain) != impl.blocked.end()) {
    Decision d = federationDeny("federation.blocked_domains", impl.unknown_drop,
                                impl.unknown_status, impl.unknown_reason);
    if (index != nullptr) {
      d.partner = impl.partners[*index].name;
    }
    return d;
  }
  if (index != nullptr) {
    return decideWith(impl.compiled[*index], context, domain, limiter);
  }
  // 2. unlisted domain
  if (!impl.open) {
    return federationDeny("federation.closed", impl.unknown_drop, impl.unknown_status,
                          impl.unknown_reason);
  }
  if (context.direction == Direction::Inbound) {
    if (!certificateCovers(context, domain)) {
      return federationDeny("federation.open.certificate", impl.unknown_drop, impl.unknown_status,
                            impl.unknown_reason);
    }
    if (context.srv_matches != true) {
      return federationDeny("federation.open.srv", impl.unknown_drop, impl.unknown_status,
                            impl.unknown_reason);
    }
  }
  return decideWith(impl.default_compiled, context, domain, limiter);
}

}  // namespace sipedge::policy
