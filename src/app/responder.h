#pragma once

// `sipedge responder`: a SIP UAS on sipedge's transport and transaction layers. It answers
// OPTIONS, MESSAGE, BYE, INFO, UPDATE and NOTIFY with 200, INVITE with 180 then 200 (the 2xx
// retransmitted until its ACK, RFC 3261 13.3.1.4), a CANCELed INVITE with 487, and anything else
// with 501. An INVITE whose Request-URI user starts with "ring" only rings (for CANCEL tests;
// 480 after 60 s). The integration tests and the OPTIONS load benchmark run against it.

#include <memory>
#include <string>
#include <unordered_map>

#include "node.h"
#include "sipedge/txn/layer.h"

namespace sipedge::app {

class Responder final : public txn::TransactionUser {
 public:
  explicit Responder(Node& node) : node_(node) {}

  void onRequest(txn::ServerTransactionId id, transport::Inbound&& request) override;
  void onResponse(txn::ClientTransactionId, txn::ClientResponse&&) override {}
  void onAck(transport::Inbound&& ack) override;
  void onCancelled(txn::ServerTransactionId invite, const transport::Inbound& cancel) override;

 private:
  struct Answered {  // a 2xx to an INVITE, retransmitted until the ACK
    txn::ServerTransactionId id;
    sip::Message response;
    TimerPtr timer;
    Duration interval{};
    Duration elapsed{};
  };
  struct Ringing {
    txn::ServerTransactionId id;
    std::string to_tag;
    sip::Message request;
    TimerPtr give_up;
  };
  void respond(txn::ServerTransactionId id, const sip::Message& request, int status,
               const std::string& to_tag);
  void retransmit(const std::string& call_id);
  std::string newTag();
  std::string contactFor(const transport::Inbound& in) const;

  Node& node_;
  std::unordered_map<std::string, std::unique_ptr<Answered>> answered_;  // by Call-ID
  std::unordered_map<std::uint64_t, std::unique_ptr<Ringing>> ringing_;  // by transaction
  std::uint64_t tags_ = 0;
};

}  // namespace sipedge::app
