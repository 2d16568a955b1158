#pragma once

// One worker's federation edge: the identity directory, the DNS resolver and the B2BUA on top of
// that worker's Node (the B2BUA holds references to the first two, so they live here together).

#include <memory>

#include "federation.h"
#include "node.h"
#include "sipedge/b2bua/b2bua.h"
#include "sipedge/config/config.h"
#include "sipedge/dns/resolver.h"
#include "sipedge/identity/directory.h"

namespace sipedge::app {

// From the configuration to the B2BUA's settings (served domains, header rules, next hops,
// partner routes, directory answers).
b2bua::Settings b2buaSettings(const config::Config& c, unsigned worker);

class Edge final : public txn::TransactionUser {
 public:
  // Builds the worker's directory and resolver; a failure is fatal to start-up (the message says
  // why). Called from NodePool's user factory, on the main thread, before the loops run.
  // `federation` (shared by all workers, outliving them) gives the policy, rate limiter,
  // decision log and GeoIP database.
  static Result<std::unique_ptr<Edge>, std::string> create(const config::Config& config, Node& node,
                                                           Federation& federation);

  b2bua::B2bua& b2bua() { return *b2bua_; }
  const identity::Directory& directory() const { return *directory_; }

  void onRequest(txn::ServerTransactionId id, transport::Inbound&& in) override {
    b2bua_->onRequest(id, std::move(in));
  }
  void onResponse(txn::ClientTransactionId id, txn::ClientResponse&& r) override {
    b2bua_->onResponse(id, std::move(r));
  }
  void onAck(transport::Inbound&& ack) override { b2bua_->onAck(std::move(ack)); }
  void onStrayResponse(transport::Inbound&& r) override { b2bua_->onStrayResponse(std::move(r)); }
  void onCancelled(txn::ServerTransactionId id, const transport::Inbound& c) override {
    b2bua_->onCancelled(id, c);
  }
  void onTimerC(txn::ClientTransactionId id) override { b2bua_->onTimerC(id); }
  void onServerFailure(txn::ServerTransactionId id, txn::ServerFailure f) override {
    b2bua_->onServerFailure(id, f);
  }

 private:
  Edge() = default;
  std::unique_ptr<identity::Directory> directory_;
  dns::ResolverPtr resolver_;
  std::unique_ptr<b2bua::B2bua> b2bua_;
};

}  // namespace sipedge::app
