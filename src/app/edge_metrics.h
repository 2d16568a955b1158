#pragma once

// The live counts of `sipedge run` as Prometheus text (/metrics on the admin listener): one
// sample per worker, taken on that worker's thread (ops::collect), summed here.

#include <string>
#include <vector>

#include "edge.h"
#include "node.h"

namespace sipedge::app {

struct WorkerSample {
  b2bua::Stats b2bua;
  txn::LayerCounters txn;
  std::uint64_t transactions = 0;
  transport::TransportCounters transport;
  std::uint64_t connections = 0;
  identity::DirectoryStats directory;
  std::vector<std::pair<std::string, bool>> next_hops;  // name, up
};

// On the node's thread.
WorkerSample sampleWorker(Node& node, Edge& edge);
std::string metricsText(const std::vector<WorkerSample>& samples);

}  // namespace sipedge::app
