#include "federation.h"

#include <chrono>

#include "sipedge/ops/metrics.h"

namespace sipedge::app {

namespace {

bool usesCountries(const config::Config& c) {
  auto uses = [](const config::PartnerPolicy& p) {
    return !p.countries.empty() || !p.deny_countries.empty();
  };
  if (uses(c.federation.default_policy)) {
    return true;
  }
  for (const config::Partner& p : c.partners) {
    if (uses(p.policy)) {
      return true;
    }
  }
  return false;
}

Result<std::shared_ptr<const geo::Database>, std::string> openGeo(const config::Config& c) {
  if (c.geoip.database.empty()) {
    if (usesCountries(c)) {
      return fail(std::string("geoip.database: country rules need a GeoIP database"));
    }
    return std::shared_ptr<const geo::Database>();
  }
  auto db = geo::Database::open(c.geoip.database);
  if (!db) {
    return fail("geoip.database: " + db.error().message);
  }
  return *db;
}

}  // namespace

Result<std::unique_ptr<Federation>, std::string> Federation::create(const config::Config& config) {
  std::unique_ptr<Federation> f(new Federation());
  auto geo = openGeo(config);
  if (!geo) {
    return fail(geo.error());
  }
  f->geo_ = std::move(*geo);
  if (!config.decision_log.path.empty()) {
    auto log = ops::DecisionLog::open(config.decision_log);
    if (!log) {
      return fail("decision_log.path: " + log.error().message);
    }
    f->log_ = std::move(*log);
  }
  f->log_config_ = config.decision_log;
  f->policy_ = policy::Policy::compile(config);
  f->registrar_ = config.registrar;
  f->routing_ = config.routing;
  const location::UnixSeconds now = std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
  if (config.registrar.database.empty()) {
    f->location_ = location::makeMemoryStore();
  } else {
    location::SqliteSettings settings;
    settings.path = config.registrar.database;
    auto store = location::openSqliteStore(settings, now);
    if (!store) {
      return fail("registrar.database: " + store.error().message);
    }
    f->location_ = std::move(*store);
  }
  f->last_purge_ = now;
  if (config.registrar.auth.enabled) {
    if (!config.registrar.auth.ha1_file.empty()) {
      auto table = auth::Ha1Table::load(config.registrar.auth.ha1_file);
      if (!table) {
        return fail("registrar.auth.ha1_file: " + table.error());
      }
      f->ha1_ = std::make_unique<auth::Ha1Table>(std::move(*table));
    }  // else: the registrant's credentials come from the directory
    auto nonces = auth::NonceManager::create(config.registrar.auth.nonce_lifetime, 100000);
    if (!nonces) {
      return fail("registrar.auth: " + nonces.error());
    }
    f->nonces_ = std::move(*nonces);
  }
  return f;
}

Result<std::shared_ptr<const policy::Policy>, std::string> Federation::reload(
    const config::Config& config, std::string& warning) {
  auto geo = openGeo(config);
  if (!geo) {
    return fail(geo.error());
  }
  auto compiled = policy::Policy::compile(config);
  warning.clear();
  if (!(config.decision_log == log_config_)) {
    warning = "decision_log: changes take effect after a restart";
  }
  std::lock_guard lock(mutex_);
  policy_ = compiled;
  geo_ = std::move(*geo);
  return compiled;
}

std::shared_ptr<const policy::Policy> Federation::policy() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

std::shared_ptr<const geo::Database> Federation::geo() const {
  std::lock_guard lock(mutex_);
  return geo_;
}

std::string Federation::metricsText() const {
  ops::MetricsText m;
  m.gauge("sipedge_rate_limit_buckets", "Token buckets the rate limiter holds",
          static_cast<double>(limiter_.size()));
  if (log_) {
    const ops::DecisionLogStats s = log_->stats();
    m.counter("sipedge_decision_log_records_total", "Decision log records",
              static_cast<double>(s.written), {{"result", "written"}});
    m.counter("sipedge_decision_log_records_total", "Decision log records",
              static_cast<double>(s.dropped), {{"result", "dropped"}});
    m.counter("sipedge_decision_log_write_errors_total",
              "Failed writes, opens or renames of the decision log (full disk, ...)",
              static_cast<double>(s.write_errors));
    m.counter("sipedge_decision_log_rotations_total", "Decision log rotations",
              static_cast<double>(s.rotations));
  }
  if (location_) {
    const location::StoreStats s = location_->stats();
    m.gauge("sipedge_location_aors", "Addresses-of-record with at least one binding",
            static_cast<double>(s.aors));
    m.gauge("sipedge_location_bindings", "Registered contacts", static_cast<double>(s.bindings));
    m.counter("sipedge_location_updates_total", "Registrations that changed the bindings",
              static_cast<double>(s.updates));
    m.counter("sipedge_location_purged_total", "Bindings removed because they expired",
              static_cast<double>(s.purged));
    m.counter("sipedge_location_persisted_total", "Binding sets written to the database",
              static_cast<double>(s.persisted));
    m.counter("sipedge_location_persist_errors_total", "Failed writes to the location database",
              static_cast<double>(s.persist_errors));
  }
  if (nonces_) {
    m.gauge("sipedge_digest_nonces_tracked", "Digest nonces in the replay table",
            static_cast<double>(nonces_->tracked()));
  }
  return m.str();
}

void Federation::purgeBindings(location::UnixSeconds now) {
  if (!location_ || now - last_purge_ < registrar_.purge_interval.count() / 1000) {
    return;
  }
  last_purge_ = now;
  location_->purge(now);
}

void Federation::configure(b2bua::Settings& settings) {
  settings.policy = policy();
  settings.limiter = &limiter_;
  settings.decisions = log_.get();
  settings.location = location_.get();
  settings.registrar = registrar_;
  settings.routing = routing_;
  settings.ha1 = ha1_.get();
  settings.nonces = nonces_.get();
  settings.country = [this](std::string_view ip) -> std::string {
    std::shared_ptr<const geo::Database> db = geo();
    return db ? db->country(ip) : std::string();
  };
}

}  // namespace sipedge::app
