#include "node.h"

#include <pthread.h>

#include <csignal>

#include "sipedge/b2bua/ids.h"
#include "sipedge/txn/branch.h"

namespace sipedge::app {

Node::Node(unsigned index, const transport::Limits& limits, transport::ConnectionBudget& budget,
           const transport::TlsContextStore& tls, txn::LayerSettings layer_settings,
           const UserFactory& make_user)
    : index_(index),
      worker_("worker-" + std::to_string(index)),
      random_(std::random_device{}() ^ (static_cast<std::uint64_t>(index) << 32)) {
  transport_ =
      std::make_unique<transport::WorkerTransport>(worker_, index, limits, budget, tls, *this);
  user_ = make_user(*this);
  layer_settings.worker = index;
  layer_ =
      std::make_unique<txn::Layer>(layer_settings, *transport_, worker_, worker_, random_, *user_);
}

void Node::onMessage(transport::Inbound&& in) {
  if (peers_ != nullptr) {
    std::optional<unsigned> owner;
    if (in.message.isResponse() && !in.message.vias().empty()) {
      auto branch = in.message.vias().front().params.get("branch");
      owner = branch ? txn::workerOfBranch(*branch) : std::nullopt;
    } else if (in.message.isRequest() && in.source.transport == transport::Transport::Udp &&
               in.message.to() != nullptr && !in.message.to()->tag.empty()) {
      // An in-dialog request: the To-tag sipedge minted names the worker that owns the dialog.
      // (Over TCP/TLS it stays: only this worker can answer on its connection, and a dialog's
      // requests arrive on the connection of the worker that set it up.)
      owner = b2bua::workerOfId(in.message.to()->tag);
    }
    if (owner && *owner != index_ && *owner < peers_->size()) {
      // std::function needs a copyable callable: the message travels in a shared_ptr.
      Node* to = (*peers_)[*owner];
      auto moved = std::make_shared<transport::Inbound>(std::move(in));
      ++handed_over_;
      to->worker().post([to, moved] { to->layer().onMessage(std::move(*moved)); });
      return;
    }
  }
  layer_->onMessage(std::move(in));
}

NodePool::NodePool(unsigned workers, const transport::Limits& limits,
                   const transport::TlsContextStore& tls, const txn::LayerSettings& layer_settings,
                   const Node::UserFactory& make_user)
    : budget_(limits) {
  for (unsigned i = 0; i < workers; ++i) {
    nodes_.push_back(std::make_unique<Node>(i, limits, budget_, tls, layer_settings, make_user));
    peers_.push_back(nodes_.back().get());
  }
  for (auto& node : nodes_) {
    node->setPeers(&peers_);
  }
}

NodePool::~NodePool() {
  stop();
  // Each node is destroyed on this thread after its loop has stopped: nothing runs concurrently.
  nodes_.clear();
}

Result<transport::Address, std::string> NodePool::listen(transport::ListenerSettings settings) {
  transport::Address bound;
  for (auto& node : nodes_) {
    auto r = node->transport().listen(settings);
    if (!r) {
      return fail(r.error());
    }
    bound = *r;
    settings.endpoint.address.setPort(bound.port());  // the others share the first one's port
  }
  return bound;
}

void NodePool::start() {
  for (auto& node : nodes_) {
    Node* n = node.get();
    threads_.emplace_back([n] {
      // "worker-N" in top -H, ps -L and /proc/PID/task/*/comm (at most 15 characters).
      pthread_setname_np(pthread_self(), n->worker().name().substr(0, 15).c_str());
      n->worker().run();
    });
  }
}

void NodePool::stop() {
  if (threads_.empty()) {
    return;
  }
  for (auto& node : nodes_) {
    Node* n = node.get();
    n->worker().post([n] { n->transport().closeListeners(); });
    n->worker().exit();
  }
  for (auto& t : threads_) {
    t.join();
  }
  threads_.clear();
}

std::function<int()> blockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return [set] {
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
  };
}

}  // namespace sipedge::app
