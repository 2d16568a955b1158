#pragma once

// One worker's stack (DESIGN.md Concurrency): its libevent loop, its transport, its transaction
// layer and the transaction user on top, all owned here and used on the worker's thread only.
// NodePool runs several, one thread each, sharing listening addresses through SO_REUSEPORT.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sipedge/base/random.h"
#include "sipedge/base/result.h"
#include "sipedge/loop/worker.h"
#include "sipedge/transport/worker_transport.h"
#include "sipedge/txn/layer.h"

namespace sipedge::app {

class Node final : public transport::MessageHandler {
 public:
  using UserFactory = std::function<std::unique_ptr<txn::TransactionUser>(Node&)>;

  Node(unsigned index, const transport::Limits& limits, transport::ConnectionBudget& budget,
       const transport::TlsContextStore& tls, txn::LayerSettings layer_settings,
       const UserFactory& make_user);
  // Members are destroyed in reverse order: the layer, then the user, then the transport.
  ~Node() override = default;

  unsigned index() const { return index_; }
  loop::Worker& worker() { return worker_; }
  transport::WorkerTransport& transport() { return *transport_; }
  txn::Layer& layer() { return *layer_; }
  Random& random() { return random_; }

  // Responses to client transactions another worker owns (the branch names it, see
  // txn/branch.h) are handed over to that worker's loop; everything else goes to this layer.
  void onMessage(transport::Inbound&& in) override;

  // The nodes of the pool, by index, for hand-over. Set once, before the loops run.
  void setPeers(const std::vector<Node*>* peers) { peers_ = peers; }
  std::uint64_t handedOver() const { return handed_over_; }

 private:
  unsigned index_;
  loop::Worker worker_;
  EngineRandom random_;
  std::unique_ptr<transport::WorkerTransport> transport_;
  std::unique_ptr<txn::TransactionUser> user_;
  std::unique_ptr<txn::Layer> layer_;
  const std::vector<Node*>* peers_ = nullptr;
  std::uint64_t handed_over_ = 0;
};

class NodePool {
 public:
  NodePool(unsigned workers, const transport::Limits& limits, const transport::TlsContextStore& tls,
           const txn::LayerSettings& layer_settings, const Node::UserFactory& make_user);
  ~NodePool();

  // Opens the listener on every node (the first picks the port when 0 is asked). Before start().
  [[nodiscard]] Result<transport::Address, std::string> listen(
      transport::ListenerSettings settings);
  void start();
  // Stops accepting, lets each loop finish, joins the threads.
  void stop();
  std::vector<std::unique_ptr<Node>>& nodes() { return nodes_; }

 private:
  transport::ConnectionBudget budget_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Node*> peers_;  // the same nodes, for hand-over
  std::vector<std::thread> threads_;
};

// Blocks SIGINT and SIGTERM in the calling thread (call before starting threads, which inherit
// the mask) and returns a function that waits for one of them. No signal handler runs.
std::function<int()> blockStopSignals();

}  // namespace sipedge::app
