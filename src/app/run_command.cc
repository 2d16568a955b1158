// `sipedge run --config FILE`: the federation edge. Loads and validates the configuration,
// builds the TLS contexts, opens the listeners on every worker and runs the B2BUA until SIGINT or
// SIGTERM.

#include <fmt/format.h>

#include <malloc.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stop_token>
#include <thread>

#include "commands.h"
#include "edge.h"
#include "edge_metrics.h"
#include "node.h"
#include "settings.h"
#include "sipedge/config/config.h"
#include "sipedge/ops/admin_server.h"
#include "sipedge/ops/collect.h"

namespace sipedge::app {

namespace {

// Stands in for an edge whose construction failed; start-up stops before any loop runs.
class NullUser final : public txn::TransactionUser {
 public:
  void onRequest(txn::ServerTransactionId, transport::Inbound&&) override {}
  void onResponse(txn::ClientTransactionId, txn::ClientResponse&&) override {}
};

// Gives freed heap pages back to the system (glibc keeps them in its arenas: after a load peak
// the resident size would otherwise stay at the peak). Every `interval` it looks at the heap and
// trims only when most of it is free (more than 16 MiB free, and more free than in use): under a
// steady load the pages would only be faulted back in. malloc_trim takes each arena's lock
// briefly; the workers' allocations wait for it at most that long.
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
      const struct mallinfo2 heap = mallinfo2();
      if (heap.fordblks > (16u << 20) && heap.fordblks > heap.uordblks) {
        malloc_trim(0);
      }
    }
  });
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
    fmt::print(stderr, "sipedge run: {}\n", loaded.error().describe());
    return 1;
  }
  const config::Config& cfg = *loaded;

  // TLS: one store entry per profile; "default" (outgoing connections) is b2bua.client_tls, or
  // the first TLS listener's profile.
  transport::TlsContextStore tls;
  std::string client_profile = cfg.b2bua.client_tls;
  for (const config::ListenerConfig& l : cfg.listeners) {
    if (client_profile.empty() && l.transport == config::Transport::Tls) {
      client_profile = l.tls_profile;
    }
  }
  for (const config::TlsProfile& p : cfg.tls) {
    auto contexts = transport::TlsContexts::build(tlsSettings(p));
    if (!contexts) {
      fmt::print(stderr, "sipedge run: tls.{}: {}\n", p.name, contexts.error().describe());
      return 1;
    }
    tls.set(p.name, *contexts);
    if (p.name == client_profile) {
      tls.set("default", *contexts);
    }
  }

  auto wait_for_signal = blockStopSignals();
  const unsigned workers = cfg.server.workers > 0
                               ? cfg.server.workers
                               : std::max(1u, std::thread::hardware_concurrency());
  std::string factory_error;
  std::vector<Edge*> edges;
  NodePool pool(workers, transportLimits(cfg), tls, layerSettings(cfg),
                [&](Node& node) -> std::unique_ptr<txn::TransactionUser> {
                  auto edge = Edge::create(cfg, node);
                  if (!edge) {
                    factory_error = edge.error();
                    return std::make_unique<NullUser>();
                  }
                  edges.push_back(edge->get());
                  return std::move(*edge);
                });
  if (!factory_error.empty()) {
    fmt::print(stderr, "sipedge run: {}\n", factory_error);
    return 1;
  }
  for (const transport::ListenerSettings& l : listenerSettings(cfg)) {
    auto bound = pool.listen(l);
    if (!bound) {
      fmt::print(stderr, "sipedge run: {}\n", bound.error());
      return 1;
    }
    fmt::print("listening {} {} ({})\n", transport::transportName(l.endpoint.transport),
               bound->toString(), l.side == transport::Side::External ? "external" : "internal");
  }
  for (std::size_t i = 0; i < edges.size(); ++i) {
    Edge* edge = edges[i];
    pool.nodes()[i]->worker().post([edge] { edge->b2bua().start(); });
  }
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
    auto started = ops::AdminServer::start(
        *admin_loop, cfg.admin.listen, [home, loops, &nodes, edges](ops::MetricsReply reply) {
          ops::collect<WorkerSample>(
              *home, loops,
              [&nodes, edges](unsigned i) { return sampleWorker(*nodes[i], *edges[i]); },
              [reply](std::vector<WorkerSample> samples) { reply(metricsText(samples)); });
        });
    if (!started) {
      fmt::print(stderr, "sipedge run: admin.listen: {}\n", started.error());
      return 1;
    }
    admin = std::move(*started);
    fmt::print("admin http://{}/metrics\n", config::toString(admin->address()));
  }
  fmt::print("sipedge running: {} worker(s), domains {}\n", workers,
             fmt::join(cfg.server.domains, ", "));
  std::fflush(stdout);
  pool.start();
  std::jthread trimmer = startHeapTrimmer(std::chrono::seconds(10));
  if (admin_loop) {
    admin_thread = std::thread([l = admin_loop.get()] { l->run(); });
  }
  const int sig = wait_for_signal();
  fmt::print(stderr, "sipedge run: signal {}, stopping\n", sig);
  if (admin_loop) {
    admin_loop->exit();
    admin_thread.join();
    admin.reset();
  }
  pool.stop();
  return 0;
}

}  // namespace sipedge::app
