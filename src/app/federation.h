#pragma once

// What the workers share for federation policy (issue 5): the compiled policy snapshot, the rate
// limiter's buckets, the decision log writer and the GeoIP database; and for the registrar
// (issue 6): the location store, the HA1 table and the digest nonces. Built once at start-up;
// reload() builds a new policy (and GeoIP database) and the caller hands the new snapshot to each
// worker's B2BUA on that worker's thread.

#include <memory>
#include <mutex>
#include <string>

#include "sipedge/auth/ha1_table.h"
#include "sipedge/auth/nonce.h"
#include "sipedge/b2bua/b2bua.h"
#include "sipedge/base/result.h"
#include "sipedge/config/config.h"
#include "sipedge/geo/geo.h"
#include "sipedge/location/location.h"
#include "sipedge/ops/decision_log.h"
#include "sipedge/policy/policy.h"

namespace sipedge::app {

class Federation {
 public:
  // Opens the decision log (when configured) and the GeoIP database (when configured), and
  // compiles the policy. An error names the setting and the reason.
  [[nodiscard]] static Result<std::unique_ptr<Federation>, std::string> create(
      const config::Config& config);

  // A new policy and GeoIP database from a new configuration. On error nothing changes. The
  // decision log keeps its file and settings ([decision_log] changes need a restart: `warning`
  // says so, empty otherwise).
  [[nodiscard]] Result<std::shared_ptr<const policy::Policy>, std::string> reload(
      const config::Config& config, std::string& warning);

  // Fills a worker's B2BUA settings with the current snapshot, the limiter, the log and GeoIP.
  void configure(b2bua::Settings& settings);

  std::shared_ptr<const policy::Policy> policy() const;

  // The decision log writer's and the rate limiter's figures as Prometheus text (any thread).
  std::string metricsText() const;
  // Removes expired bindings when registrar.purge_interval has passed since the last purge (the
  // main thread calls it every few seconds).
  void purgeBindings(location::UnixSeconds now);
  location::Store* location() { return location_.get(); }
  ops::DecisionLog* decisionLog() { return log_.get(); }
  const policy::MemoryRateLimiter& limiter() const { return limiter_; }

 private:
  Federation() = default;
  std::shared_ptr<const geo::Database> geo() const;

  policy::MemoryRateLimiter limiter_;
  std::unique_ptr<ops::DecisionLog> log_;
  config::DecisionLogConfig log_config_;
  mutable std::mutex mutex_;  // guards the two snapshots below (read once per request: GeoIP)
  std::shared_ptr<const policy::Policy> policy_;
  std::shared_ptr<const geo::Database> geo_;
  std::unique_ptr<location::Store> location_;
  std::unique_ptr<auth::Ha1Table> ha1_;
  auth::NonceManagerPtr nonces_;
  config::RegistrarConfig registrar_;
  config::RoutingConfig routing_;
  location::UnixSeconds last_purge_ = 0;
};

}  // namespace sipedge::app
