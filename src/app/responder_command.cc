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
  NodePool pool(workers, transport::Limits{}, tls, layer,
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
