#pragma once

// `sipedge probe`: sends OPTIONS (or MESSAGE) to a SIP URI and prints every step an operator
// needs to judge a federation link: the DNS answers (RFC 3263), the target chosen, the TLS peer
// certificate and its verification, the request, each response with its timing; failover to the
// next target on a transport error or a timeout; min/median/max latency over --count probes.

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node.h"
#include "sipedge/dns/cares_resolver.h"
#include "sipedge/txn/layer.h"

namespace sipedge::app {

struct ProbeSettings {
  std::string uri;
  std::string method = "OPTIONS";
  std::string body;
  std::optional<transport::Transport> transport;  // forces the transport (URI parameter wins)
  Duration timeout{5000};                         // per request
  int count = 1;
  Duration interval{200};  // between probes
  std::string from;        // default sip:probe@<local address>
  std::vector<std::string> dns_servers;
  // Send to this address (an outbound proxy, e.g. sipedge's edge) instead of where DNS says; the
  // URI's host is still the name a TLS certificate must cover.
  std::optional<transport::Address> proxy;
};

class Probe final : public txn::TransactionUser {
 public:
  Probe(Node& node, ProbeSettings settings, std::FILE* out);
  ~Probe() override;

  // Runs on the worker thread; `done(exit_code)` is called once, on that thread.
  void start(std::function<void(int)> done);

  void onRequest(txn::ServerTransactionId id, transport::Inbound&& request) override;
  void onResponse(txn::ClientTransactionId id, txn::ClientResponse&& response) override;

 private:
  void onResolved(dns::ResolveResult result);
  void sendProbe();
  void tryTarget();
  void onTimeout();
  void finishAttempt(bool success, const std::string& failure, bool failover);
  void nextProbe();
  void finish(int code, const std::string& summary);
  void printPeer(const transport::PeerIdentity& peer);
  double elapsedMs() const;
  template <typename... Args>
  void line(const char* fmt, Args&&... args);

  Node& node_;
  ProbeSettings settings_;
  std::FILE* out_;
  std::function<void(int)> done_;
  std::unique_ptr<dns::CaresResolver> resolver_;
  dns::PendingQueryPtr query_;
  std::string domain_;  // the URI host: SNI and the name the certificate must cover
  bool numeric_host_ = false;
  std::vector<dns::Target> targets_;
  std::size_t target_index_ = 0;
  int probe_number_ = 0;
  int cseq_ = 0;
  std::optional<txn::ClientTransactionId> current_;
  MonoTime sent_at_{};
  TimerPtr timeout_timer_;
  TimerPtr next_timer_;
  std::vector<double> latencies_;
  std::vector<std::string> failures_;
  bool printed_peer_ = false;
  std::string last_reason_;
};

}  // namespace sipedge::app
