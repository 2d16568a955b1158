// `sipedge responder`: runs the Responder UAS on N workers until SIGINT or SIGTERM.

#include <fmt/format.h>

#include <cstdio>
#include <thread>

#include "commands.h"
#include "listen_spec.h"
#include "node.h"
#include "responder.h"

namespace sipedge::app {

void addResponderCommand(CLI::App& app, ResponderCommandOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "responder",
      "Answer SIP requests on the given listeners (a test UAS: OPTIONS/MESSAGE/BYE 200, INVITE "
      "180+200, CANCEL 487, others 501) until SIGINT or SIGTERM");
  cmd->add_option("--listen", opts.listen,
                  "TRANSPORT:ADDRESS:PORT[/external|/internal], e.g. udp:127.0.0.1:5060 "
                  "(port 0: any; repeatable)")
      ->required();
  cmd->add_option("--cert", opts.cert, "TLS certificate chain (PEM), for tls listeners");
  cmd->add_option("--key", opts.key, "TLS private key (PEM)");
  cmd->add_option("--ca", opts.ca, "CA bundle (PEM) that client certificates must chain to");
  cmd->add_option("--client-cert", opts.client_cert, "none, request or require")
      ->check(CLI::IsMember({"none", "request", "require"}));
  cmd->add_option("--workers", opts.workers, "worker threads (default: one per core)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-transactions", opts.max_transactions,
                  "transactions per worker before new requests get 503 (default 200000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  cmd->add_option("--max-connections", opts.max_connections,
                  "TCP/TLS connections per process (default 10000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  cmd->add_option("--max-connections-per-ip", opts.max_connections_per_ip,
                  "inbound TCP/TLS connections per source address (default 100)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  cmd->add_option("--idle-timeout", opts.idle_timeout_s,
                  "seconds before an idle connection is closed (default 600)")
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--tls-handshake-timeout", opts.tls_handshake_timeout_ms,
                  "milliseconds a TLS handshake may take (default 5000)")
      ->check(CLI::Range(1, 600000));
}

int runResponderCommand(const ResponderCommandOptions& opts) {
  std::vector<transport::ListenerSettings> listeners;
  bool tls_needed = false;
  for (const std::string& spec : opts.listen) {
    auto s = parseListenSpec(spec);
    if (!s) {
      fmt::print(stderr, "sipedge responder: {}\n", s.error());
      return 2;
    }
    tls_needed = tls_needed || s->endpoint.transport == transport::Transport::Tls;
    listeners.push_back(*s);
  }
  transport::TlsContextStore tls;
  if (tls_needed || !opts.cert.empty()) {
    transport::TlsSettings settings;
    settings.certificate_file = opts.cert;
    settings.key_file = opts.key;
    settings.ca_file = opts.ca;
    settings.client_cert = opts.client_cert == "require"   ? transport::ClientCertMode::Require
                           : opts.client_cert == "request" ? transport::ClientCertMode::Request
                                                           : transport::ClientCertMode::None;
    if (settings.certificate_file.empty() || settings.key_file.empty()) {
      fmt::print(stderr, "sipedge responder: a tls listener needs --cert and --key\n");
      return 2;
    }
    auto contexts = transport::TlsContexts::build(settings);
    if (!contexts) {
      fmt::print(stderr, "sipedge responder: TLS: {}\n", contexts.error().describe());
      return 1;
    }
    tls.set("default", *contexts);
  }

  auto wait_for_signal = blockStopSignals();
  unsigned workers = opts.workers > 0 ? static_cast<unsigned>(opts.workers)
                                      : std::max(1u, std::thread::hardware_concurrency());
  txn::LayerSettings layer;
  if (opts.max_transactions > 0) {
    layer.max_transactions = opts.max_transactions;
  }
  transport::Limits limits;
  if (opts.max_connections > 0) {
    limits.max_connections = opts.max_connections;
  }
  if (opts.max_connections_per_ip > 0) {
    limits.max_connections_per_ip = opts.max_connections_per_ip;
  }
  if (opts.idle_timeout_s > 0) {
    limits.idle_timeout = Duration{opts.idle_timeout_s * 1000LL};
  }
  if (opts.tls_handshake_timeout_ms > 0) {
    limits.tls_handshake_timeout = Duration{opts.tls_handshake_timeout_ms};
  }
  NodePool pool(workers, limits, tls, layer,
                [](Node& node) { return std::make_unique<Responder>(node); });
  for (const auto& l : listeners) {
    auto bound = pool.listen(l);
    if (!bound) {
      fmt::print(stderr, "sipedge responder: {}\n", bound.error());
      return 1;
    }
    std::string name(transport::transportName(l.endpoint.transport));
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    fmt::print("listening {} {}\n", name, bound->toString());
  }
  std::fflush(stdout);
  pool.start();
  int sig = wait_for_signal();
  fmt::print(stderr, "sipedge responder: signal {}, stopping\n", sig);
  pool.stop();
  return 0;
}

}  // namespace sipedge::app
