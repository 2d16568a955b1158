// Fuzz target: policy::Policy::decide over a small Config and a sequence of requests, both carved
// from the input (structured input, STYLE 34). The first bytes choose the federation settings and
// up to four partners (domains from a fixed pool, networks, methods, targets, countries, rate
// limits, statuses); the rest is a sequence of requests (direction, transport, source address,
// certificate, method, domains, size, country, SRV result, time step). Once the bytes run out, the
// run ends.
//
// Properties, for every decision:
//  - status is 0 or 400-699; an Allow has status 0; a reason exactly when a status; retry_after
//    only on a Throttle with a status; the rule is never empty;
//  - a Throttle comes from a "...rate_limits.*" rule, and rate limits only ever turn an Allow into
//    a Throttle: the same request decided with a limiter that always grants gives the same
//    verdict, rule and status unless the real one throttled (and then it allows);
//  - the rule names the partner: "partners[NAME]..." with Decision::partner NAME, which owns the
//    claimed domain (partnerFor), or "federation.default..." with that partner name, or a
//    "federation." rule with no partner (or the owner, for a blocked domain);
//  - a blocked claimed domain is always denied by "federation.blocked_domains";
//  - an inbound Allow for a listed partner is vouched for: a verified TLS certificate that names
//    the claimed domain, or a source inside one of the partner's networks;
//  - the limiter stays within its bound.

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_bytes.h"
#include "fuzz_check.h"
#include "sipedge/policy/policy.h"

namespace {

using namespace sipedge;
using namespace sipedge::policy;

using sipedge::fuzz::Bytes;

constexpr std::array<std::string_view, 6> kDomains = {"a.example", "b.example", "c.example",
                                                      "d.example", "e.example", "f.example"};
constexpr std::array<std::string_view, 6> kMethods = {"INVITE",  "ACK",     "BYE",
                                                      "OPTIONS", "MESSAGE", "invite"};
constexpr std::array<std::string_view, 4> kTargets = {"*@acme.example", "alice@acme.example",
                                                      "bob@corp.example", "*@corp.example"};
constexpr std::array<std::string_view, 4> kCountries = {"US", "CA", "KP", "FR"};
constexpr std::array<int, 8> kStatuses = {403, 404, 480, 488, 499, 503, 603, 699};
constexpr std::array<double, 5> kRates = {0, 0, 0.5, 1, 10};
constexpr std::array<std::uint32_t, 4> kBursts = {0, 1, 2, 5};

// A subset of `options`, one bit each.
template <std::size_t N>
std::vector<std::string> subset(Bytes& in, const std::array<std::string_view, N>& options) {
  const std::uint8_t mask = in.next();
  std::vector<std::string> out;
  for (std::size_t i = 0; i < N && i < 8; ++i) {
    if ((mask >> i) & 1) {
      out.emplace_back(options[i]);
    }
  }
  return out;
}

// A valid CIDR (no bits past the prefix), mostly within 10.0.0.0/8 and 2001:db8::/32 so that
// sources land in it often.
config::Cidr cidr(Bytes& in) {
  config::Cidr c;
  c.ipv6 = (in.next() % 4) == 0;
  const unsigned bits = c.ipv6 ? 128 : 32;
  c.prefix = in.next() % (bits + 1);
  if (c.ipv6) {
    c.address[0] = 0x20;
    c.address[1] = 0x01;
    c.address[2] = 0x0d;
    c.address[3] = 0xb8;
    c.address[4] = in.next();
    c.address[15] = in.next();
  } else {
    c.address[0] = 10;
    c.address[1] = in.next() % 4;
    c.address[2] = in.next() % 4;
    c.address[3] = in.next();
  }
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned start = i * 8;
    if (start >= c.prefix) {
      c.address[i] = 0;
    } else if (start + 8 > c.prefix) {
      c.address[i] &= static_cast<std::uint8_t>(0xFF << (8 - (c.prefix - start)));
    }
  }
  return c;
}

config::RateLimitConfig rate(Bytes& in) {
  return {in.pick(kRates), in.pick(kBursts)};
}

config::PartnerPolicy partnerPolicy(Bytes& in) {
  config::PartnerPolicy p;
  p.direction = static_cast<config::PartnerDirection>(in.next() % 3);
  const std::uint8_t flags = in.next();
  if (flags & 1) {
    p.methods = subset(in, kMethods);
    std::erase(p.methods, "invite");  // config refuses lower case
  }
  if (flags & 2) {
    p.internal_targets = subset(in, kTargets);
  }
  p.require_mutual_tls = (flags & 4) != 0;
  if (flags & 8) {
    const int n = 1 + in.next() % 2;
    for (int i = 0; i < n; ++i) {
      p.networks.push_back(cidr(in));
    }
  }
  if (flags & 16) {
    p.deny_networks.push_back(cidr(in));
  }
  if (flags & 32) {
    p.countries = subset(in, kCountries);
    p.deny_countries = subset(in, kCountries);
  }
  if (flags & 64) {
    const std::array<std::uint64_t, 3> sizes = {0, 100, 4000};
    p.max_message_bytes = in.pick(sizes);
  }
  if (flags & 128) {
    p.rate_limits.source_requests = rate(in);
    p.rate_limits.requests = rate(in);
    p.rate_limits.source_dialogs = rate(in);
    p.rate_limits.dialogs = rate(in);
  }
  const std::uint8_t actions = in.next();
  p.trust_headers = (actions & 1) ? config::TrustHeaders::Keep : config::TrustHeaders::Strip;
  p.deny_action = (actions & 2) ? config::DenyAction::Drop : config::DenyAction::Respond;
  p.throttle_action = (actions & 4) ? config::DenyAction::Drop : config::DenyAction::Respond;
  p.deny_status = in.pick(kStatuses);
  p.throttle_status = in.pick(kStatuses);
  p.throttle_retry_after = config::Duration(in.next() * 100);
  return p;
}

config::Config makeConfig(Bytes& in) {
  config::Config c;
  c.limits.max_message_bytes = 1000 + in.next() * 10;
  c.federation.mode = in.bit() ? config::FederationMode::Open : config::FederationMode::Closed;
  c.federation.unknown_action = in.bit() ? config::DenyAction::Drop : config::DenyAction::Respond;
  c.federation.unknown_status = in.pick(kStatuses);
  c.federation.blocked_domains = subset(in, kDomains);
  c.federation.default_policy = partnerPolicy(in);
  const int partners = in.next() % 5;
  std::vector<bool> owned(kDomains.size(), false);
  for (int i = 0; i < partners; ++i) {
    config::Partner p;
    p.name = "p" + std::to_string(i);
    const std::uint8_t mask = in.next();
    for (std::size_t d = 0; d < kDomains.size(); ++d) {
      if (((mask >> d) & 1) && !owned[d]) {
        owned[d] = true;
        p.domains.emplace_back(kDomains[d]);
      }
    }
    p.policy = partnerPolicy(in);
    c.partners.push_back(std::move(p));
  }
  return c;
}

// A domain: from the pool (sometimes in upper case or with a trailing dot), or raw bytes.
std::string domain(Bytes& in) {
  const std::uint8_t how = in.next();
  std::string d(kDomains[how % kDomains.size()]);
  switch ((how >> 4) % 4) {
    case 1:
      std::transform(d.begin(), d.end(), d.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      break;
    case 2: d += '.'; break;
    case 3: d = in.take(in.next() % 16); break;
    default: break;
  }
  return d;
}

std::string sourceText(Bytes& in) {
  const std::uint8_t kind = in.next() % 4;
  const std::uint8_t b2 = in.next() % 4;
  const std::uint8_t b3 = in.next();
  const std::uint8_t b4 = in.next();
  const std::string v4 =
      "10." + std::to_string(b2 % 4) + "." + std::to_string(b3 % 4) + "." + std::to_string(b4);
  switch (kind) {
    case 0: return v4;
    case 1: return "::ffff:" + v4;
    case 2: return "2001:db8:" + std::to_string(b3) + "::" + std::to_string(b4);
    default: return std::to_string(b3) + ".0.2." + std::to_string(b4);
  }
}

class GrantAll final : public RateLimiter {
 public:
  bool take(std::string_view, const config::RateLimitConfig&, MonoTime, double& left) override {
    left = 1;
    return true;
  }
};

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string normalized(std::string_view d) {
  std::string out(d);
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
  }
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void checkDecision(const Decision& d, const config::Config& config, const Policy& policy,
                   const Context& ctx) {
  FUZZ_CHECK(d.status == 0 || (d.status >= 400 && d.status <= 699));
  FUZZ_CHECK(d.reason.empty() == (d.status == 0));
  FUZZ_CHECK(!d.rule.empty());
  if (d.verdict == Verdict::Allow) {
    FUZZ_CHECK(d.status == 0);
  }
  FUZZ_CHECK(d.verdict != Verdict::Redirect);
  if (d.verdict == Verdict::Throttle) {
    FUZZ_CHECK(d.rule.find(".rate_limits.") != std::string::npos);
    FUZZ_CHECK(ctx.direction == Direction::Inbound);
  } else {
    FUZZ_CHECK(d.retry_after == 0);
    FUZZ_CHECK(d.rule.find(".rate_limits.") == std::string::npos);
  }
  if (d.status == 0) {
    FUZZ_CHECK(d.retry_after == 0);
  }
  if (!d.network.empty()) {
    FUZZ_CHECK(d.network.find('/') != std::string::npos);
  }

  const std::string claimed = normalized(ctx.claimed_domain);
  const config::Partner* owner = policy.partnerFor(ctx.claimed_domain);
  const bool blocked =
      std::find(config.federation.blocked_domains.begin(), config.federation.blocked_domains.end(),
                claimed) != config.federation.blocked_domains.end();
  if (blocked) {
    FUZZ_CHECK(d.rule == "federation.blocked_domains");
    FUZZ_CHECK(d.verdict == Verdict::Deny);
  }
  if (startsWith(d.rule, "partners[")) {
    FUZZ_CHECK(owner != nullptr);
    FUZZ_CHECK(d.partner == owner->name);
    FUZZ_CHECK(startsWith(d.rule, "partners[" + owner->name + "]"));
    if (d.verdict == Verdict::Allow) {
      FUZZ_CHECK(d.rule == "partners[" + owner->name + "]");
    }
  } else if (startsWith(d.rule, "federation.default")) {
    FUZZ_CHECK(owner == nullptr);
    FUZZ_CHECK(config.federation.mode == config::FederationMode::Open);
    FUZZ_CHECK(d.partner == "federation.default");
  } else {
    FUZZ_CHECK(startsWith(d.rule, "federation."));
    FUZZ_CHECK(d.verdict == Verdict::Deny);
    FUZZ_CHECK(d.partner.empty() || (owner != nullptr && d.partner == owner->name));
  }

  if (d.verdict == Verdict::Allow && ctx.direction == Direction::Inbound && owner != nullptr) {
    bool vouched = false;
    if (ctx.transport == config::Transport::Tls && ctx.certificate_verified) {
      for (const std::string& name : ctx.certificate_domains) {
        vouched = vouched || normalized(name) == claimed;
      }
    }
    for (const config::Cidr& n : owner->policy.networks) {
      vouched = vouched || contains(n, ctx.source);
    }
    FUZZ_CHECK(vouched);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const config::Config config = makeConfig(in);
  const auto policy = Policy::compile(config);
  MemoryRateLimiter limiter(64);
  GrantAll grant_all;
  MonoTime now{};

  for (int step = 0; step < 64 && !in.empty(); ++step) {
    const std::uint8_t flags = in.next();
    const std::string source = sourceText(in);
    const std::optional<Ip> ip = Ip::parse(source);
    FUZZ_CHECK(ip.has_value());
    std::vector<std::string> certs;
    const int cert_count = in.next() % 3;
    for (int i = 0; i < cert_count; ++i) {
      certs.push_back(domain(in));
    }
    const std::string method(in.pick(kMethods));
    const std::string claimed = domain(in);
    const std::string target(in.pick(kTargets));
    const std::string user = target.substr(0, target.find('@'));
    const std::string host = target.substr(target.find('@') + 1);
    const std::string country(in.pick(kCountries));
    now += std::chrono::milliseconds(in.next() * 20);

    Context ctx;
    ctx.direction = (flags & 1) ? Direction::Outbound : Direction::Inbound;
    ctx.transport = static_cast<config::Transport>(((flags >> 1) & 3) % 3);
    ctx.source = *ip;
    ctx.source_text = source;
    ctx.certificate_verified = (flags & 8) != 0;
    ctx.certificate_domains = certs;
    ctx.method = method;
    ctx.claimed_domain = claimed;
    ctx.target_user = user == "*" ? std::string_view("carol") : std::string_view(user);
    ctx.target_host = host;
    ctx.message_bytes = static_cast<std::size_t>(in.next()) * 40;
    ctx.new_dialog = (flags & 16) != 0;
    ctx.country = (flags & 32) ? std::string_view(country) : std::string_view();
    switch ((flags >> 6) % 4) {
      case 0: ctx.srv_matches = std::nullopt; break;
      case 1: ctx.srv_matches = false; break;
      default: ctx.srv_matches = true; break;
    }
    ctx.now = now;

    const Decision real = policy->decide(ctx, limiter);
    checkDecision(real, config, *policy, ctx);
    const Decision ideal = policy->decide(ctx, grant_all);
    checkDecision(ideal, config, *policy, ctx);
    FUZZ_CHECK(ideal.verdict != Verdict::Throttle);
    FUZZ_CHECK(policy->decide(ctx, grant_all) == ideal);  // pure: same input, same decision
    if (real.verdict == Verdict::Throttle) {
      FUZZ_CHECK(ideal.verdict == Verdict::Allow);
    } else {
      FUZZ_CHECK(real.verdict == ideal.verdict);
      FUZZ_CHECK(real.rule == ideal.rule);
      FUZZ_CHECK(real.status == ideal.status);
      FUZZ_CHECK(real.network == ideal.network);
    }
    FUZZ_CHECK(real.partner == ideal.partner);
    FUZZ_CHECK(limiter.size() <= 64);
  }
  return 0;
}
