#pragma once

// The c-ares implementation of dns::Resolver: one per worker, on that worker's libevent loop
// (STYLE S8, S13). Its ares_channel's sockets are libevent events, one per fd; one timer follows
// ares_timeout(). Nothing blocks and no thread is started. Lookups are cached per (name, type),
// positively and negatively, until the record TTL expires.
//
// Threading: create, use and destroy it on the worker's thread only (before Worker::run() counts
// as on that thread). Callbacks run on the worker thread, each on a loop iteration of its own,
// never inside resolve(). PendingQuery handles must be destroyed on the worker thread too, and may
// outlive the resolver. Destroying the resolver with resolutions outstanding is safe: their
// callbacks never fire.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sipedge/base/random.h"
#include "sipedge/base/result.h"
#include "sipedge/base/time.h"
#include "sipedge/dns/resolver.h"

namespace sipedge::loop {
class Worker;
}
namespace sipedge::dns::detail {
class ResolverState;  // src/dns/cares_resolver.cc
}

namespace sipedge::dns {

// Each field becomes a config key (STYLE S21, S30); the member initializers are the defaults.
struct ResolverSettings {
  // Servers as "ip", "ip:port" or "[ipv6]:port" (port 53 when absent), asked in this order.
  // Empty: the servers of the system's resolv.conf.
  std::vector<std::string> servers;
  // Per try, per server. A lookup fails with a timeout after timeout x tries x (number of
  // servers), enforced by the resolver itself: c-ares would double the timeout on every round.
  Duration timeout{2000};
  int tries = 2;

  // Cache: at most max_entries (name, type) answers; when full, the one expiring soonest goes.
  std::size_t max_entries = 10000;
  // Negative answers (NXDOMAIN, no records) are kept for the SOA minimum of the answer (RFC 2308),
  // capped at negative_ttl, or for negative_ttl when the answer carries no SOA.
  std::chrono::seconds negative_ttl{30};
  // Positive answers are kept for their smallest record TTL, capped at max_ttl. TTL 0: not kept.
  std::chrono::seconds max_ttl{3600};

  // Also ask AAAA for every name whose addresses are needed.
  bool ipv6 = true;
  // Address order within one host (and one SRV target): IPv4 first by default, because a
  // federation edge in a DMZ more often has working IPv4 routes; true puts IPv6 first.
  bool prefer_ipv6 = false;

  // Records used from one answer at most (NAPTR, SRV, addresses per name); the rest are ignored.
  std::size_t max_records = 32;
};

// Counters for metrics (ops reads them on the worker thread and aggregates).
struct ResolverStats {
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t cache_evictions = 0;  // removed to make room, before expiring
  std::size_t cache_entries = 0;
  std::uint64_t queries_sent = 0;  // DNS queries handed to c-ares (one per (name, type) miss)
  std::uint64_t query_failures =
      0;                          // lookups that ended in a timeout, server failure or bad answer
  std::uint64_t resolutions = 0;  // resolve() and resolveFederation() calls
  std::uint64_t resolution_failures = 0;  // of those, the ones that ended in an error
  std::size_t lookups_in_flight = 0;
};

class CaresResolver final : public Resolver {
 public:
  // The cache expires entries by `worker`'s clock.
  [[nodiscard]] static Result<std::unique_ptr<CaresResolver>> create(loop::Worker& worker,
                                                                     ResolverSettings settings,
                                                                     Random& random);
  // The cache expires entries by `cache_clock` (tests pass a manual clock); lookup timeouts still
  // run on the worker's loop. `random` orders SRV records of equal priority (RFC 2782).
  [[nodiscard]] static Result<std::unique_ptr<CaresResolver>> create(loop::Worker& worker,
                                                                     ResolverSettings settings,
                                                                     Random& random,
                                                                     const Clock& cache_clock);
  ~CaresResolver() override;
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;

  [[nodiscard]] PendingQueryPtr resolve(const Query& query, ResolveCallback callback) override;
  [[nodiscard]] PendingQueryPtr resolveFederation(std::string domain,
                                                  ResolveCallback callback) override;

  ResolverStats stats() const;
  // Forgets every cached answer (e.g. for an admin "flush DNS cache" command).
  void clearCache();

 private:
  explicit CaresResolver(std::shared_ptr<detail::ResolverState> state);
  // The channel, its events and timers, the cache and the resolutions in progress. Handles and
  // posted deliveries refer to it only weakly, so that they do nothing once it is gone.
  std::shared_ptr<detail::ResolverState> state_;
};
using CaresResolverPtr = std::unique_ptr<CaresResolver>;

}  // namespace sipedge::dns
