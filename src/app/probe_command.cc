// `sipedge probe URI`: one worker, a UDP socket on each address family, a TLS client profile.

#include <fmt/format.h>

#include <future>

#include "commands.h"
#include "probe.h"

namespace sipedge::app {

void addProbeCommand(CLI::App& app, ProbeCommandOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "probe",
      "Send OPTIONS (or MESSAGE) to a SIP URI and show DNS, the target, TLS, the request and "
      "the responses with timing; exit 1 with a one-line reason when it fails");
  cmd->add_option("uri", opts.uri, "sip: or sips: URI, e.g. sips:bob@partner.example")->required();
  cmd->add_option("--method", opts.method, "OPTIONS or MESSAGE")
      ->check(CLI::IsMember({"OPTIONS", "MESSAGE"}));
  cmd->add_option("--body", opts.body, "body text (MESSAGE)");
  cmd->add_option("--transport", opts.transport,
                  "udp, tcp or tls (a transport= URI parameter "
                  "wins)")
      ->check(CLI::IsMember({"udp", "tcp", "tls"}));
  cmd->add_option("--cert", opts.cert, "client certificate chain (PEM) for mutual TLS");
  cmd->add_option("--key", opts.key, "client private key (PEM)");
  cmd->add_option("--ca", opts.ca, "CA bundle (PEM) to verify the server (default: system)");
  cmd->add_option("--timeout", opts.timeout_ms, "milliseconds to wait for a final response")
      ->check(CLI::Range(1, 600000));
  cmd->add_option("--count", opts.count, "number of probes (latency min/median/max)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--interval", opts.interval_ms, "milliseconds between probes")
      ->check(CLI::Range(0, 600000));
  cmd->add_option("--from", opts.from, "From URI (default sip:probe@<local address>)");
  cmd->add_option("--dns-server", opts.dns_servers,
                  "DNS server IP[:PORT] to ask instead of resolv.conf's (repeatable)");
  cmd->add_option("--proxy", opts.proxy,
                  "IP:PORT to send to instead of resolving the URI (an outbound proxy, e.g. "
                  "sipedge's edge); the URI's host is still the name the TLS certificate must "
                  "cover");
}

int runProbeCommand(const ProbeCommandOptions& opts) {
  ProbeSettings settings;
  settings.uri = opts.uri;
  settings.method = opts.method;
  settings.body = opts.body;
  if (!opts.transport.empty()) {
    settings.transport = transport::parseTransport(opts.transport);
  }
  settings.timeout = Duration{opts.timeout_ms};
  settings.count = opts.count;
  settings.interval = Duration{opts.interval_ms};
  settings.from = opts.from;
  settings.dns_servers = opts.dns_servers;
  if (!opts.proxy.empty()) {
    settings.proxy = transport::Address::parseHostPort(opts.proxy);
    if (!settings.proxy) {
      fmt::print(stderr, "sipedge probe: --proxy: expected IP:PORT like 127.0.0.1:5060, got '{}'\n",
                 opts.proxy);
      return 2;
    }
  }
  if (settings.method == "MESSAGE" && settings.body.empty()) {
    settings.body = "sipedge probe";
  }

  transport::TlsContextStore tls;
  transport::TlsSettings tls_settings;
  tls_settings.certificate_file = opts.cert;
  tls_settings.key_file = opts.key;
  tls_settings.ca_file = opts.ca;
  if (opts.cert.empty() != opts.key.empty()) {
    fmt::print(stderr, "sipedge probe: --cert and --key go together\n");
    return 2;
  }
  auto contexts = transport::TlsContexts::build(tls_settings);
  if (!contexts) {
    fmt::print(stderr, "sipedge probe: TLS: {}\n", contexts.error().describe());
    return 1;
  }
  tls.set("default", *contexts);

  Probe* probe = nullptr;
  txn::LayerSettings layer;
  layer.send_trying = false;
  NodePool pool(1, transport::Limits{}, tls, layer, [&](Node& node) {
    auto p = std::make_unique<Probe>(node, settings, stdout);
    probe = p.get();
    return p;
  });
  bool any = false;
  for (const char* local : {"0.0.0.0", "::"}) {
    transport::ListenerSettings l;
    l.endpoint =
        transport::Endpoint{*transport::Address::parseIp(local, 0), transport::Transport::Udp};
    l.side = transport::Side::External;
    any = pool.listen(l).has_value() || any;
  }
  if (!any) {
    fmt::print(stderr, "sipedge probe: cannot open a UDP socket\n");
    return 1;
  }
  std::promise<int> result;
  Node& node = *pool.nodes().front();
  node.worker().post([&] { probe->start([&](int code) { result.set_value(code); }); });
  pool.start();
  int code = result.get_future().get();
  pool.stop();
  return code;
}

}  // namespace sipedge::app
