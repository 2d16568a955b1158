#include "edge_metrics.h"

#include "sipedge/ops/metrics.h"

namespace sipedge::app {

WorkerSample sampleWorker(Node& node, Edge& edge) {
  WorkerSample s;
  s.b2bua = edge.b2bua().stats();
  s.txn = node.layer().counters();
  s.transactions = node.layer().transactionCount();
  s.transport = node.transport().counters();
  s.connections = node.transport().connectionCount();
  s.directory = edge.directory().stats();
  const b2bua::NextHopSet& hops = edge.b2bua().nextHops();
  for (std::size_t i = 0; i < hops.size(); ++i) {
    s.next_hops.emplace_back(hops.hop(i).name, hops.up(i));
  }
  return s;
}

std::string metricsText(const std::vector<WorkerSample>& samples) {
  ops::MetricsText m;
  auto sum = [&](auto field) {
    double total = 0;
    for (const WorkerSample& s : samples) {
      total += static_cast<double>(field(s));
    }
    return total;
  };
  m.gauge("sipedge_dialogs", "Dialogs held (both legs count as one)",
          sum([](const WorkerSample& s) { return s.b2bua.dialogs; }));
  m.gauge("sipedge_relays_pending", "Relayed requests waiting for a final response",
          sum([](const WorkerSample& s) { return s.b2bua.pending; }));
  m.gauge("sipedge_transactions", "SIP transactions (client and server)",
          sum([](const WorkerSample& s) { return s.transactions; }));
  m.gauge("sipedge_connections", "Open TCP/TLS connections",
          sum([](const WorkerSample& s) { return s.connections; }));
  m.counter("sipedge_dialogs_created_total", "Dialogs set up",
            sum([](const WorkerSample& s) { return s.b2bua.dialogs_created; }));
  m.counter("sipedge_requests_total", "New out-of-dialog requests",
            sum([](const WorkerSample& s) { return s.b2bua.inbound_requests; }),
            {{"direction", "inbound"}});
  m.counter("sipedge_requests_total", "New out-of-dialog requests",
            sum([](const WorkerSample& s) { return s.b2bua.outbound_requests; }),
            {{"direction", "outbound"}});
  m.counter("sipedge_rejected_total", "Requests sipedge answered itself with a failure",
            sum([](const WorkerSample& s) { return s.b2bua.rejected; }));
  m.counter("sipedge_failovers_total", "Requests retried on the next next hop",
            sum([](const WorkerSample& s) { return s.b2bua.failovers; }));
  const std::pair<const char*, std::uint64_t b2bua::Stats::*> verdicts[] = {
      {"allow", &b2bua::Stats::policy_allowed},
      {"deny", &b2bua::Stats::policy_denied},
      {"throttle", &b2bua::Stats::policy_throttled},
  };
  for (const auto& [verdict, field] : verdicts) {
    m.counter("sipedge_policy_decisions_total", "Policy decisions by verdict",
              sum([field](const WorkerSample& s) { return s.b2bua.*field; }),
              {{"verdict", verdict}});
  }
  m.counter("sipedge_policy_dropped_total",
            "Requests denied or throttled without an answer (deny_action / throttle_action drop)",
            sum([](const WorkerSample& s) { return s.b2bua.policy_dropped; }));
  m.counter("sipedge_registrations_total", "REGISTER requests answered, by result",
            sum([](const WorkerSample& s) { return s.b2bua.registrations; }), {{"result", "ok"}});
  m.counter("sipedge_registrations_total", "REGISTER requests answered, by result",
            sum([](const WorkerSample& s) { return s.b2bua.registrations_failed; }),
            {{"result", "failed"}});
  m.counter("sipedge_redirects_total", "Requests answered with a redirect (3xx)",
            sum([](const WorkerSample& s) { return s.b2bua.redirects; }));
  m.counter("sipedge_forked_total", "Requests sent to several registered contacts",
            sum([](const WorkerSample& s) { return s.b2bua.forked; }));
  m.counter("sipedge_fork_branches_total", "Client transactions of requests to registered contacts",
            sum([](const WorkerSample& s) { return s.b2bua.branches; }));
  for (auto [reason, field] : {std::pair<const char*, std::uint64_t b2bua::Stats::*>{
                                   "session_expired", &b2bua::Stats::session_expired},
                               {"lifetime", &b2bua::Stats::lifetime_expired},
                               {"idle", &b2bua::Stats::idle_ended}}) {
    m.counter("sipedge_dialogs_ended_total",
              "Dialogs sipedge ended itself, by reason (no session refresh, max_dialog_lifetime, "
              "the idle check)",
              sum([field](const WorkerSample& s) { return s.b2bua.*field; }), {{"reason", reason}});
  }
  m.counter("sipedge_idle_probes_total", "In-dialog OPTIONS sent by the idle check",
            sum([](const WorkerSample& s) { return s.b2bua.idle_probes; }));
  m.counter("sipedge_messages_total", "SIP messages",
            sum([](const WorkerSample& s) { return s.transport.messages_in; }),
            {{"direction", "in"}});
  m.counter("sipedge_messages_total", "SIP messages",
            sum([](const WorkerSample& s) { return s.transport.messages_out; }),
            {{"direction", "out"}});
  m.counter("sipedge_retransmissions_absorbed_total",
            "Retransmitted requests, ACKs and responses a transaction absorbed",
            sum([](const WorkerSample& s) { return s.txn.retransmissions_absorbed; }));
  m.counter("sipedge_transaction_timeouts_total", "Transactions that timed out",
            sum([](const WorkerSample& s) { return s.txn.timeouts; }));
  m.gauge("sipedge_directory_cache_entries", "Directory cache entries",
          sum([](const WorkerSample& s) { return s.directory.cache_entries; }));
  m.counter("sipedge_directory_lookups_total", "Directory lookups",
            sum([](const WorkerSample& s) { return s.directory.lookups; }));
  m.counter("sipedge_directory_unavailable_total",
            "Requests refused with 503 because the directory was unavailable",
            sum([](const WorkerSample& s) { return s.b2bua.directory_unavailable; }));
  if (!samples.empty()) {
    // Every worker checks every hop; a hop is up when the workers that checked it agree.
    const auto& first = samples.front().next_hops;
    for (std::size_t i = 0; i < first.size(); ++i) {
      double up = 0;
      for (const WorkerSample& s : samples) {
        up += (i < s.next_hops.size() && s.next_hops[i].second) ? 1 : 0;
      }
      m.gauge("sipedge_next_hop_up", "1 when a next hop answers its health checks",
              up == static_cast<double>(samples.size()) ? 1 : 0, {{"next_hop", first[i].first}});
    }
  }
  return m.str();
}

}  // namespace sipedge::app
