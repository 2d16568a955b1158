#pragma once

// Federation policy (DESIGN.md `policy`, issue 5): a pure decision over one request's context.
//
// - Policy::compile(config) builds an immutable snapshot from a validated Config: partners by
//   domain, parsed networks, method and target sets. A reload compiles a new one; requests in
//   progress keep the snapshot they started with (shared_ptr<const Policy>).
// - decide(context, limiter) evaluates the rules in one fixed order (below) and returns a
//   Decision value: the verdict, the status and reason to send (or drop), the rule that decided
//   and the evidence. It reads no clock (the time is in the context) and touches no socket; the
//   only state it changes is the rate limiter's token buckets.
//
// Rule order (the first that fails decides; the rule names appear in the decision log):
//   inbound (partner -> inside):
//     1. "federation.blocked_domains"  the claimed domain (From host) is blocked
//     2. "federation.closed"           no partner has that domain and the federation is closed
//        "federation.open.certificate" open federation: the certificate does not cover it
//        "federation.open.srv"         open federation: its _sipfederationtls._tcp SRV does not
//                                      point at the connecting address (context.srv_matches)
//     3. "partners[NAME].mutual_tls"   the partner requires mutual TLS and the request did not
//                                      come over TLS with a verified certificate
//     4. "partners[NAME].identity"     the certificate (or, without TLS, the source network)
//                                      does not cover the claimed domain: no spoofing of one
//                                      partner through another's connection
//     5. "partners[NAME].direction"    the partner may not send inbound
//     6. "partners[NAME].deny_networks" / ".networks"    source address
//     7. "partners[NAME].deny_countries" / ".countries"  source country (context.country)
//     8. "partners[NAME].max_message_bytes"
//     9. "partners[NAME].methods"
//        "partners[NAME].register"     a REGISTER from a partner without `register = true`
//    10. "partners[NAME].internal_targets"  the Request-URI's user@host
//    11. "partners[NAME].rate_limits.source_requests" / ".requests" / ".source_dialogs" /
//        ".dialogs"  (verdict Throttle)
//    12. "partners[NAME]" allow
//   outbound (inside -> partner): the target domain (Request-URI host) is the claimed domain;
//   rules 1, 2 (closed only), 5 (outbound), 9 and 12 apply.
//   For [federation.default] the name is "federation.default" instead of "partners[NAME]".

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sipedge/base/time.h"
#include "sipedge/config/config.h"

namespace sipedge::policy {

enum class Verdict : std::uint8_t { Allow, Deny, Redirect, Throttle };
std::string_view verdictName(Verdict v);  // "allow", "deny", "redirect", "throttle"

enum class Direction : std::uint8_t { Inbound, Outbound };
std::string_view directionName(Direction d);  // "inbound", "outbound"

// An IP address in binary form, for network matching.
struct Ip {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  bool ipv6 = false;
  // nullopt unless `text` is an IPv4 or IPv6 literal (no brackets, no port).
  static std::optional<Ip> parse(std::string_view text);
  bool operator==(const Ip&) const = default;
};
bool contains(const config::Cidr& network, const Ip& ip);

// Everything decide() looks at. Views: the caller keeps the storage alive during the call.
struct Context {
  Direction direction = Direction::Inbound;
  config::Transport transport = config::Transport::Udp;
  Ip source;
  std::string_view source_text;  // "IP" as the transport saw it (for limiter keys)
  // TLS: what the peer's certificate says (transport::PeerIdentity).
  bool certificate_verified = false;
  std::span<const std::string> certificate_domains;  // PeerIdentity::sipDomains()
  std::string_view method;                           // as on the wire, e.g. "INVITE"
  std::string_view claimed_domain;  // inbound: From host; outbound: Request-URI host (lower case)
  std::string_view target_user;     // inbound: Request-URI user
  std::string_view target_host;     // inbound: Request-URI host (lower case)
  std::size_t message_bytes = 0;
  bool new_dialog = false;   // INVITE, SUBSCRIBE or REFER outside a dialog
  std::string_view country;  // ISO code from GeoIP; empty: unknown / no database
  // Open federation: whether the claimed domain's _sipfederationtls._tcp SRV targets resolve to
  // the source address. nullopt: not looked up (open federation's rule then denies).
  std::optional<bool> srv_matches;
  MonoTime now{};
};

// Rate limiting state: token buckets by key, shared by the workers (thread-safe). An interface
// so that a shared store (Redis) can replace the in-process one (DESIGN.md "Growth").
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Takes one token from the bucket `key` (created full). Returns whether one was there, and in
  // `left` the tokens left after the call (for the decision's evidence).
  virtual bool take(std::string_view key, const config::RateLimitConfig& rate, MonoTime now,
                    double& left) = 0;
};

// The in-process limiter: buckets in mutex-sharded hash maps; buckets full again (idle for
// burst / per_second) are dropped when a shard grows past `max_buckets / shards` (then, if that
// is not enough, those closest to full), so a flood of source addresses cannot grow it without
// bound.
class MemoryRateLimiter final : public RateLimiter {
 public:
  explicit MemoryRateLimiter(std::size_t max_buckets = 1 << 20);
  ~MemoryRateLimiter() override;
  bool take(std::string_view key, const config::RateLimitConfig& rate, MonoTime now,
            double& left) override;
  std::size_t size() const;

 private:
  struct Shard;
  std::unique_ptr<Shard[]> shards_;
  std::size_t max_per_shard_;
};

struct Decision {
  Verdict verdict = Verdict::Deny;
  int status = 0;                 // the response to send; 0: drop without an answer
  std::string_view reason;        // its reason phrase (static storage)
  std::uint32_t retry_after = 0;  // seconds, Throttle with a response
  std::string rule;               // which rule decided, e.g. "partners[globex].methods"
  std::string partner;            // the partner's name; "federation.default"; empty: none matched
  bool strip_trust_headers = true;
  // Evidence for the decision log.
  std::string network;      // the CIDR that matched (allow or deny list), if any
  double tokens_left = -1;  // the bucket that decided (or the last one taken); -1: none
  bool operator==(const Decision&) const = default;
};

class Policy {
 public:
  // From a Config that config::parse/load accepted (so it cannot fail).
  static std::shared_ptr<const Policy> compile(const config::Config& config);

  Decision decide(const Context& context, RateLimiter& limiter) const;

  // The partner (by name) that owns `domain`, nullptr when none does.
  const config::Partner* partnerFor(std::string_view domain) const;

  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;
  ~Policy();

 private:
  Policy();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipedge::policy
