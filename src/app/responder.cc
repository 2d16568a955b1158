#include "responder.h"

#include <fmt/format.h>

#include "sipedge/sip/response.h"

namespace sipedge::app {

std::string Responder::newTag() {
  return fmt::format("r{:x}{:x}", node_.random().below(0xffffff), ++tags_);
}

std::string Responder::contactFor(const transport::Inbound& in) const {
  std::string host = in.local.isUnspecified() ? "127.0.0.1" : in.local.ipForUri();
  std::string transport_param =
      in.source.transport == transport::Transport::Udp
          ? ""
          : fmt::format(";transport={}",
                        in.source.transport == transport::Transport::Tcp ? "tcp" : "tls");
  return fmt::format("<sip:responder@{}:{}{}>", host, in.local.port(), transport_param);
}

void Responder::respond(txn::ServerTransactionId id, const sip::Message& request, int status,
                        const std::string& to_tag) {
  auto response = sip::makeResponse(request, status, {}, to_tag);
  if (response) {
    (void)node_.layer().respond(id, std::move(*response));
  }
}

void Responder::onRequest(txn::ServerTransactionId id, transport::Inbound&& in) {
  const sip::Message& request = in.message;
  std::string tag = newTag();
  switch (request.method()) {
    case sip::Method::Options: {
      sip::ExtraHeader extra[] = {
          {"Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, NOTIFY"},
          {"Accept", "application/sdp, text/plain"}};
      auto response = sip::makeResponse(request, 200, {}, tag, extra);
      if (response) {
        (void)node_.layer().respond(id, std::move(*response));
      }
      return;
    }
    case sip::Method::Invite: {
      respond(id, request, 180, tag);
      if (request.requestUri().user.starts_with("ring")) {
        auto r = std::make_unique<Ringing>(Ringing{id, tag, request.clone(), nullptr});
        std::uint64_t key = id.value;
        r->give_up = node_.worker().createTimer([this, key] {
          auto it = ringing_.find(key);
          if (it == ringing_.end()) {
            return;
          }
          respond(it->second->id, it->second->request, 480, it->second->to_tag);
          // Not inside the timer's own callback: free it on a later loop turn.
          node_.worker().post([this, key] { ringing_.erase(key); });
        });
        r->give_up->enable(Duration{60000});
        ringing_[key] = std::move(r);
        return;
      }
      std::string contact = contactFor(in);
      sip::ExtraHeader extra[] = {{"Contact", contact}};
      auto ok = sip::makeResponse(request, 200, {}, tag, extra);
      if (!ok) {
        return;
      }
      auto a = std::make_unique<Answered>(
          Answered{id, ok->clone(), nullptr, node_.layer().settings().timers.t1, Duration{0}});
      std::string call_id(request.callId());
      a->timer = node_.worker().createTimer([this, call_id] { retransmit(call_id); });
      a->timer->enable(a->interval);
      answered_[call_id] = std::move(a);
      (void)node_.layer().respond(id, std::move(*ok));
      return;
    }
    case sip::Method::Bye:
    case sip::Method::Message:
    case sip::Method::Info:
    case sip::Method::Update:
    case sip::Method::Notify:
    case sip::Method::Prack: respond(id, request, 200, tag); return;
    default: respond(id, request, 501, tag); return;
  }
}

void Responder::retransmit(const std::string& call_id) {
  auto it = answered_.find(call_id);
  if (it == answered_.end()) {
    return;
  }
  Answered& a = *it->second;
  const auto& timers = node_.layer().settings().timers;
  a.elapsed += a.interval;
  if (a.elapsed >= timers.timerB()) {
    // No ACK within 64*T1: the dialog is over (RFC 3261 13.3.1.4). Free it on a later turn.
    node_.worker().post([this, call_id] { answered_.erase(call_id); });
    return;
  }
  (void)node_.layer().respond(a.id, a.response.clone());
  a.interval = std::min(a.interval * 2, timers.t2);
  a.timer->enable(a.interval);
}

void Responder::onAck(transport::Inbound&& ack) {
  auto it = answered_.find(std::string(ack.message.callId()));
  if (it != answered_.end()) {
    it->second->timer->disable();
    std::string call_id = it->first;
    node_.worker().post([this, call_id] { answered_.erase(call_id); });
  }
}

void Responder::onCancelled(txn::ServerTransactionId invite, const transport::Inbound&) {
  auto it = ringing_.find(invite.value);
  if (it == ringing_.end()) {
    return;
  }
  respond(invite, it->second->request, 487, it->second->to_tag);
  it->second->give_up->disable();
  ringing_.erase(it);
}

}  // namespace sipedge::app
