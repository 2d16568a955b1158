// `sipedge run --config FILE`: the federation edge. Loads and validates the configuration,
// builds the TLS contexts, opens the listeners on every worker and runs the B2BUA until SIGINT or
// SIGTERM. SIGHUP reloads the configuration (applyConfig below); a change of a certificate, key
// or CA file on disk rebuilds the TLS contexts (rotateCertificates).

#include <fmt/format.h>

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>
#include <tuple>

#include "commands.h"
#include "edge.h"
#include "edge_metrics.h"
#include "heap.h"
#include "node.h"
#include "settings.h"
#include "sipedge/base/log.h"
#include "sipedge/config/config.h"
#include "sipedge/ops/admin_server.h"
#include "sipedge/ops/collect.h"
#include "tls_reload.h"

namespace sipedge::app {

namespace {

// Stands in for an edge whose construction failed; start-up stops before any loop runs.
class NullUser final : public txn::TransactionUser {
 public:
  void onRequest(txn::ServerTransactionId, transport::Inbound&&) override {}
  void onResponse(txn::ClientTransactionId, txn::ClientResponse&&) override {}
};

// Gives freed heap pages back to the system (allocators keep them: after a load peak the resident
// size would otherwise stay at the peak for a while, with glibc for good). Every `interval` it
// looks at the heap and releases only when most of it is idle (more than 16 MiB, and more idle
// than in use): under a steady load the pages would only be faulted back in. Releasing takes each
// arena's lock briefly; the workers' allocations wait for it at most that long.
std::jthread startHeapTrimmer(std::chrono::seconds interval) {
  return std::jthread([interval](std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    while (!stop.stop_requested()) {
      wake.wait_for(lock, stop, interval, [] { return false; });  // wakes early on stop
      if (stop.stop_requested()) {
        break;
      }
      const HeapUsage heap = heapUsage();
      if (heap.idle > (16u << 20) && heap.idle > heap.in_use) {
        releaseIdleHeap();
      }
    }
  });
}

// How often the main thread looks at the certificate, key and CA files.
constexpr std::chrono::seconds kCertificatePollInterval{2};

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SIGINT and SIGTERM (stop) and SIGHUP (reload), blocked in the calling thread before the workers
// start (threads inherit the mask) and taken synchronously with sigtimedwait: no handler runs.
class RunSignals {
 public:
  RunSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // The signal that arrived, or 0 when `timeout` passed without one.
  int wait(std::chrono::milliseconds timeout) {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    const timespec ts{static_cast<time_t>(secs.count()),
                      static_cast<long>((timeout - secs).count()) * 1000000L};
    const int sig = sigtimedwait(&set_, nullptr, &ts);
    return sig > 0 ? sig : 0;  // EAGAIN: timeout; EINTR: another signal, treated alike
  }

 private:
  sigset_t set_{};
};

log::Level logLevel(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::Error: return log::Level::Error;
    case config::LogLevel::Warning: return log::Level::Warning;
    case config::LogLevel::Info: return log::Level::Info;
    case config::LogLevel::Debug: return log::Level::Debug;
  }
  return log::Level::Info;
}

Result<void, std::string> configureLog(const config::LoggingConfig& c) {
  return log::configure(logLevel(c.level),
                        c.format == config::LogFormat::Json ? log::Format::Json : log::Format::Text,
                        c.file);
}

// What a reload works on: the snapshot in service and the pieces a reload replaces.
struct Reloadable {
  std::shared_ptr<const config::Config> current;  // the configuration in service
  transport::TlsContextStore& tls;
  TlsFileWatcher& watcher;
  ReloadStatus& status;
  // Federation policy: rebuilt by Federation::reload, then handed to every worker's B2BUA.
  Federation* federation = nullptr;
  std::function<void(std::shared_ptr<const policy::Policy>)> publish_policy;
};

// Where outbound requests to partners go (b2bua::Settings::partner_routes, fixed at start).
std::vector<std::tuple<std::vector<std::string>, config::SocketAddress, config::Transport>>
partnerRoutes(const config::Config& c) {
  std::vector<std::tuple<std::vector<std::string>, config::SocketAddress, config::Transport>> out;
  for (const config::Partner& p : c.partners) {
    if (p.has_address) {
      out.emplace_back(p.domains, p.address, p.transport);
    }
  }
  return out;
}

// Sections a reload does not apply: a change is logged, the running edge keeps the old values.
// Remove an entry when its section becomes reloadable in applyConfig.
void warnNotReloaded(const config::Config& old, const config::Config& next) {
  struct Section {
    const char* name;
    bool changed;
  };
  const Section sections[] = {
      {"listeners", old.listeners != next.listeners},
      {"server.workers", old.server.workers != next.server.workers},
      {"admin", old.admin != next.admin},
      {"server.domains", old.server.domains != next.server.domains},
      {"limits", old.limits != next.limits},
      {"txn", old.txn != next.txn},
      {"dns", old.dns != next.dns},
      // [federation], [[partners]] policy and [geoip] are reloaded; a partner's address is not.
      {"partners (address, transport)", partnerRoutes(old) != partnerRoutes(next)},
      {"directory", old.directory != next.directory},
      {"next_hops", old.next_hops != next.next_hops},
      {"next_hop_health", old.next_hop_health != next.next_hop_health},
      {"b2bua", old.b2bua != next.b2bua},
      {"decision_log", old.decision_log != next.decision_log},
      {"registrar", old.registrar != next.registrar},
      {"routing", old.routing != next.routing},
  };
  for (const Section& s : sections) {
    if (s.changed) {
      log::warning("config", "reload: [{}] changed; it needs a restart to take effect", s.name);
    }
  }
}

// ==== The reload hook ===========================================================================
// Applies a new, validated configuration snapshot (config::load succeeded) to the running edge:
// on SIGHUP, and on the admin reload when there is one. All or nothing:
//   1. prepare: build everything the new snapshot needs and may fail on (today the TLS contexts
//      of every profile, with their checks), touching nothing in service; on an error return it,
//      and nothing has changed;
//   2. commit: swap it all in. Only steps that cannot fail belong here, except the first, which
//      may fail as long as nothing before it changed anything (a reload that swaps inside, such
//      as Federation::reload, goes there). New handshakes and new transactions see the new
//      snapshot; calls and connections in progress keep what they started with.
// To make more of the snapshot reloadable (the policy snapshot, the decision log): build it in
// step 1 (or as the first step of 2), swap it in step 2, and remove its entry from
// warnNotReloaded.
Result<void, std::string> applyConfig(std::shared_ptr<const config::Config> next, Reloadable& r) {
  // 1. prepare. The watchers' snapshots come first: a file that changes while the contexts are
  // built is then seen by the next poll.
  TlsFileWatcher next_watcher;
  next_watcher.watch(TlsFileWatcher::filesOf(*next));
  TlsFileWatcher old_watcher;
  old_watcher.watch(TlsFileWatcher::filesOf(*r.current));
  auto tls = buildTls(*next);
  if (!tls) {
    r.watcher = std::move(old_watcher);  // the files were read just now: no second attempt
    return fail(tls.error().describe());
  }
  // 2. commit. The policy first: Federation::reload may still fail (the GeoIP database) and
  // swaps its snapshot inside only when it succeeds.
  if (r.federation != nullptr) {
    std::string warning;
    auto policy = r.federation->reload(*next, warning);
    if (!policy) {
      r.watcher = std::move(old_watcher);
      return fail(policy.error());
    }
    if (!warning.empty()) {
      log::warning("config", "reload: {}", warning);
    }
    r.publish_policy(std::move(*policy));
  }
  applyTls(*tls, r.tls);
  r.watcher = std::move(next_watcher);
  r.status.setCertificates(tls->certificates);
  if (auto logged = configureLog(next->logging); !logged) {
    // Not worth refusing the rest for: the log keeps its old destination and says so.
    log::error("config", "reload: logging.file: {}; logging continues as before", logged.error());
  }
  logCertificates(tls->certificates, unixNow());
  warnNotReloaded(*r.current, *next);
  r.current = std::move(next);
  return {};
}
// ================================================================================================

// SIGHUP: the configuration file again, then applyConfig.
void reloadConfig(const std::string& path, Reloadable& r) {
  log::info("config", "SIGHUP: reloading {}", path);
  auto loaded = config::load(path);
  if (!loaded) {
    r.status.countReload(ReloadStatus::Trigger::Config, false);
    log::error("config", "reload failed, the configuration in service is kept: {}",
               loaded.error().describe());
    return;
  }
  auto applied = applyConfig(std::make_shared<const config::Config>(std::move(*loaded)), r);
  r.status.countReload(ReloadStatus::Trigger::Config, applied.has_value());
  if (!applied) {
    log::error("config",
               "reload failed, the configuration and certificates in service are kept: {}",
               applied.error());
    return;
  }
  log::info("config", "reloaded {}", path);
}

// A certificate, key or CA file changed on disk: every TLS profile of the configuration in
// service rebuilt, all or nothing.
void rotateCertificates(Reloadable& r) {
  auto tls = buildTls(*r.current);
  r.status.countReload(ReloadStatus::Trigger::Certificates, tls.has_value());
  if (!tls) {
    log::error("tls", "certificate files changed, but the certificates in service are kept: {}",
               tls.error().describe());
    return;
  }
  applyTls(*tls, r.tls);
  r.status.setCertificates(tls->certificates);
  log::info("tls", "certificate files changed: new TLS contexts serve new handshakes");
  logCertificates(tls->certificates, unixNow());
}

}  // namespace

void addRunCommand(CLI::App& app, RunCommandOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "run", "Run the federation edge (B2BUA) from a configuration file until SIGINT or SIGTERM");
  cmd->add_option("--config,-c", opts.config, "the TOML configuration file")->required();
}

int runRunCommand(const RunCommandOptions& opts) {
  auto loaded = config::load(opts.config);
  if (!loaded) {
    log::error("config", "{}", loaded.error().describe());
    return 1;
  }
  // The snapshot the workers were built from stays alive for the whole run; reloads replace
  // `reload.current`.
  const auto startup = std::make_shared<const config::Config>(std::move(*loaded));
  const config::Config& cfg = *startup;
  if (auto logged = configureLog(cfg.logging); !logged) {
    log::error("config", "logging.file: {}", logged.error());
    return 1;
  }

  // TLS: one store entry per profile, plus "default" (outgoing connections): b2bua.client_tls,
  // or the first TLS listener's profile.
  transport::TlsContextStore tls;
  TlsFileWatcher watcher;
  watcher.watch(TlsFileWatcher::filesOf(cfg));
  ReloadStatus reload_status;
  {
    auto built = buildTls(cfg);
    if (!built) {
      log::error("tls", "{}", built.error().describe());
      return 1;
    }
    applyTls(*built, tls);
    logCertificates(built->certificates, unixNow());
    reload_status.setCertificates(std::move(built->certificates));
  }
  Reloadable reload{startup, tls, watcher, reload_status, nullptr, {}};

  RunSignals signals;
  const unsigned workers = cfg.server.workers > 0
                               ? cfg.server.workers
                               : std::max(1u, std::thread::hardware_concurrency());
  // Federation policy, decision log, GeoIP: shared by the workers, outliving them.
  auto federation = Federation::create(cfg);
  if (!federation) {
    log::error("policy", "{}", federation.error());
    return 1;
  }
  std::string factory_error;
  std::vector<Edge*> edges;
  NodePool pool(workers, transportLimits(cfg), tls, layerSettings(cfg),
                [&](Node& node) -> std::unique_ptr<txn::TransactionUser> {
                  auto edge = Edge::create(cfg, node, **federation);
                  if (!edge) {
                    factory_error = edge.error();
                    return std::make_unique<NullUser>();
                  }
                  edges.push_back(edge->get());
                  return std::move(*edge);
                });
  if (!factory_error.empty()) {
    log::error("app", "{}", factory_error);
    return 1;
  }
  for (const transport::ListenerSettings& l : listenerSettings(cfg)) {
    auto bound = pool.listen(l);
    if (!bound) {
      log::error("app", "{}", bound.error());
      return 1;
    }
    fmt::print("listening {} {} ({})\n", transport::transportName(l.endpoint.transport),
               bound->toString(), l.side == transport::Side::External ? "external" : "internal");
  }
  for (std::size_t i = 0; i < edges.size(); ++i) {
    Edge* edge = edges[i];
    pool.nodes()[i]->worker().post([edge] { edge->b2bua().start(); });
  }
  reload.federation = federation->get();
  reload.publish_policy = [&pool, edges](std::shared_ptr<const policy::Policy> policy) {
    for (std::size_t i = 0; i < edges.size(); ++i) {
      Edge* edge = edges[i];
      pool.nodes()[i]->worker().post([edge, policy] { edge->b2bua().setPolicy(policy); });
    }
  };
  // The admin listener (/metrics, /health) on a loop of its own: it never blocks a worker.
  std::unique_ptr<loop::Worker> admin_loop;
  std::unique_ptr<ops::AdminServer> admin;
  std::thread admin_thread;
  if (cfg.admin.enabled) {
    admin_loop = std::make_unique<loop::Worker>("admin");
    std::vector<loop::Worker*> loops;
    for (auto& node : pool.nodes()) {
      loops.push_back(&node->worker());
    }
    auto& nodes = pool.nodes();
    loop::Worker* home = admin_loop.get();
    const ReloadStatus* status = &reload_status;
    const Federation* fed = federation->get();
    auto started = ops::AdminServer::start(
        *admin_loop, cfg.admin.listen,
        [home, loops, &nodes, edges, status, fed](ops::MetricsReply reply) {
          ops::collect<WorkerSample>(
              *home, loops,
              [&nodes, edges](unsigned i) { return sampleWorker(*nodes[i], *edges[i]); },
              [reply, status, fed](std::vector<WorkerSample> samples) {
                reply(metricsText(samples) + status->metricsText(unixNow()) + fed->metricsText());
              });
        });
    if (!started) {
      log::error("app", "admin.listen: {}", started.error());
      return 1;
    }
    admin = std::move(*started);
    fmt::print("admin http://{}/metrics\n", config::toString(admin->address()));
  }
  fmt::print("sipedge running: {} worker(s), domains {}, allocator {}\n", workers,
             fmt::join(cfg.server.domains, ", "), allocatorName());
  std::fflush(stdout);
  pool.start();
  std::jthread trimmer = startHeapTrimmer(std::chrono::seconds(10));
  if (admin_loop) {
    admin_thread = std::thread([l = admin_loop.get()] { l->run(); });
  }
  log::info("app", "running: {} worker(s), domains {}", workers,
            fmt::join(cfg.server.domains, ", "));
  int sig = 0;
  while (sig != SIGINT && sig != SIGTERM) {
    sig = signals.wait(kCertificatePollInterval);
    if (sig == SIGHUP) {
      reloadConfig(opts.config, reload);
    } else if (sig == 0 && watcher.poll()) {
      rotateCertificates(reload);
    }
    (*federation)->purgeBindings(unixNow());
  }
  log::info("app", "{}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (admin_loop) {
    admin_loop->exit();
    admin_thread.join();
    admin.reset();
  }
  pool.stop();
  return 0;
}

}  // namespace sipedge::app
