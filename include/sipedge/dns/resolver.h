#pragma once

// The DNS seam (STYLE S25, S26): RFC 3263 server location for a SIP URI, and the open-federation
// SRV lookup, behind an interface so that b2bua and its tests can use a fake. CaresResolver
// (cares_resolver.h) is the real one.
//
// Asynchronous by contract (STYLE S12): resolve() returns a PendingQuery that the caller owns.
// Destroying it, or calling cancel(), guarantees the callback never fires. The callback never
// fires from inside resolve() itself, even for an answer that needs no lookup, so a caller is
// never re-entered.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/dns/rfc3263.h"

namespace sipedge::dns {

// One place to send the request to.
struct Target {
  std::string ip;  // an IPv4 or IPv6 address literal, without brackets
  std::uint16_t port = 0;
  Transport transport = Transport::Udp;
  std::string srv_name;  // the SRV owner name it came from; empty when no SRV was used
  std::string host;      // the name whose A/AAAA record gave `ip`; the address for a numeric host
  bool operator==(const Target&) const = default;
};

struct Resolution {
  // In the order to try: failover walks this list (RFC 3263 4.3, 4.4). All targets share the
  // transport chosen by NAPTR/SRV: resolution never falls back from TLS to a weaker transport
  // once an SRV name for TLS answered.
  std::vector<Target> targets;
  // One human-readable line per lookup and answer, and per decision taken on them, e.g.
  //   NAPTR partner.example: order 10 pref 50 S SIPS+D2T -> _sips._tcp.partner.example (ttl 300)
  //   SRV _sips._tcp.partner.example: 10 60 5061 edge1.partner.example (ttl 300)
  //   A edge1.partner.example: 192.0.2.10 (ttl 297, cached)
  //   NAPTR x.example: no records (ttl 30)
  // `sipedge probe` prints these. They may contain names from DNS answers: non-printable
  // characters are replaced with '?'.
  std::vector<std::string> trace;
};

enum class DnsErrorKind : std::uint8_t {
  NotFound,       // NXDOMAIN: the name does not exist
  NoRecords,      // the name exists, but nothing usable answered (no SRV/A/AAAA, "." SRV)
  Timeout,        // no answer within timeout x tries (per server)
  ServerFailure,  // SERVFAIL, REFUSED, connection refused, no server configured
  BadResponse,    // a malformed or unparseable answer
  InvalidName,    // the name to resolve is not a valid DNS name
  Other,          // anything else (out of memory, ...)
};
std::string_view errorKindName(DnsErrorKind kind);

struct DnsError {
  DnsErrorKind kind = DnsErrorKind::Other;
  std::string name;    // the domain being resolved (the URI host, or the federation domain)
  std::string reason;  // e.g. "no such domain (NXDOMAIN)", "timeout (SRV _sip._tcp.example.com)"
  std::vector<std::string> trace;  // the lookups made before failing, as in Resolution::trace
  // "example.com: no such domain (NXDOMAIN)"
  std::string describe() const;
};

using ResolveResult = Result<Resolution, DnsError>;
using ResolveCallback = std::function<void(ResolveResult)>;

// The caller's handle on one resolution. Destroying it cancels: the callback never fires after.
class PendingQuery {
 public:
  virtual ~PendingQuery() = default;
  // Idempotent. Safe after the callback fired, and from inside any resolver callback.
  virtual void cancel() = 0;
};
using PendingQueryPtr = std::unique_ptr<PendingQuery>;

class Resolver {
 public:
  virtual ~Resolver() = default;

  // RFC 3263: NAPTR -> SRV -> A/AAAA, with the shortcuts of dns::plan (numeric host: no lookup;
  // explicit port: A/AAAA only; transport parameter: its SRV name directly). When NAPTR gives
  // nothing usable, the SRV names of srvTargets() in order (TLS, TCP, UDP; TLS only for sips:),
  // the first that leads to an address wins. When no SRV name has records, A/AAAA of the host at
  // the default port of the planned transport (5060, 5061 for TLS), RFC 3263 4.2.
  [[nodiscard]] virtual PendingQueryPtr resolve(const Query& query, ResolveCallback callback) = 0;

  // Open federation: SRV _sipfederationtls._tcp.<domain> -> A/AAAA, transport TLS. No fallback
  // when the SRV record is missing: the domain does not federate this way.
  [[nodiscard]] virtual PendingQueryPtr resolveFederation(std::string domain,
                                                          ResolveCallback callback) = 0;
};
using ResolverPtr = std::unique_ptr<Resolver>;

}  // namespace sipedge::dns
