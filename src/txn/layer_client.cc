// txn::Layer, client side: request, cancel and the responses to them (RFC 3261 17.1, 9.1,
// 18.1.1).

#include <utility>

#include "layer_internal.h"
#include "table.h"

namespace sipedge::txn {

Result<ClientTransactionId, LayerError> Layer::request(sip::Message request,
                                                       transport::Destination destination,
                                                       RequestOptions options) {
  Entry entry(*this, EntryKind::Api);
  using Kind = LayerError::Kind;
  if (!request.isRequest() || !hasTransactionHeaders(request)) {
    return fail(LayerError{Kind::InvalidMessage, "a request with Via, From, To, Call-ID, CSeq"});
  }
  if (request.method() == sip::Method::Ack || request.method() == sip::Method::Cancel) {
    return fail(LayerError{Kind::InvalidMessage, "ACK and CANCEL: use sendAck() and cancel()"});
  }
  if (request.cseq()->method_text != request.methodText()) {
    return fail(LayerError{Kind::InvalidMessage, "the CSeq method differs from the method"});
  }
  auto key = newClientKey(request.vias().front().branch, request.methodText());
  if (!key) {
    return fail(key.error());
  }
  std::string bytes = request.serialize();
  if (destination.endpoint.transport == transport::Transport::Udp &&
      settings_.max_udp_request_bytes != 0 && bytes.size() > settings_.max_udp_request_bytes) {
    // 18.1.1: too large for UDP. Without a TCP listener the request stays on UDP.
    transport::Destination tcp = destination;
    tcp.endpoint.transport = transport::Transport::Tcp;
    auto address = sender_.viaFor(tcp);
    std::optional<std::string> via =
        address ? viaWithAddress(request.vias().front(), *address) : std::nullopt;
    if (via) {
      request.removeTopVia();
      if (!request.pushVia(*via)) {
        return fail(LayerError{Kind::InvalidMessage, "top Via cannot be rewritten for TCP"});
      }
      destination = tcp;
      bytes = request.serialize();
      ++counters_.switched_to_tcp;
    }
  }
  return startClient(std::move(*key), requestParts(request), std::move(bytes), destination,
                     options);
}

Result<ClientTransactionId, LayerError> Layer::requestText(std::string bytes, RequestParts parts,
                                                           std::string_view branch,
                                                           transport::Destination destination,
                                                           RequestOptions options) {
  Entry entry(*this, EntryKind::Api);
  using Kind = LayerError::Kind;
  if (destination.endpoint.transport == transport::Transport::Udp &&
      settings_.max_udp_request_bytes != 0 && bytes.size() > settings_.max_udp_request_bytes) {
    // request() checks it and can move it to TCP.
    auto parsed = sip::parseMessage(bytes, sip::ParseOptions{});
    if (!parsed) {
      return fail(LayerError{Kind::InvalidMessage, parsed.error().reason()});
    }
    return request(std::move(*parsed), destination, options);
  }
  if (parts.method == "ACK" || parts.method == "CANCEL") {
    return fail(LayerError{Kind::InvalidMessage, "ACK and CANCEL: use sendAck() and cancel()"});
  }
  auto key = newClientKey(branch, parts.method);
  if (!key) {
    return fail(key.error());
  }
  return startClient(std::move(*key), std::move(parts), std::move(bytes), destination, options);
}

Result<Key, LayerError> Layer::newClientKey(std::string_view branch, std::string_view method) {
  using Kind = LayerError::Kind;
  if (!isRfc3261Branch(branch)) {
    return fail(LayerError{Kind::NoBranch, std::string(branch)});
  }
  if (table_->size() >= settings_.max_transactions) {
    ++counters_.rejected_over_limit;
    return fail(LayerError{Kind::Overloaded, {}});
  }
  Key key = clientKeyOf(branch, method);
  if (table_->findByKey(true, key) != nullptr) {
    return fail(LayerError{Kind::Duplicate, std::string(branch)});
  }
  return key;
}

ClientTransactionId Layer::startClient(Key key, RequestParts parts, std::string bytes,
                                       transport::Destination destination, RequestOptions options) {
  auto t = std::make_unique<Transaction>();
  t->key = std::move(key);
  t->destination = destination;
  const bool invite = parts.method == "INVITE";
  ClientSide client;
  client.parts = std::move(parts);
  client.request = std::move(bytes);
  t->role = std::move(client);
  Transaction& ref = insert(std::move(t));
  const ClientTransactionId id{ref.id};
  Effects e = apply(ref, start(invite ? Machine::InviteClient : Machine::NonInviteClient,
                               transport::isReliable(destination.endpoint.transport),
                               settings_.timers, options.proxy_timer_c));
  finish(ref, e, std::nullopt);  // a send that failed at once: a 503 once this call returns
  return id;
}

Result<void, LayerError> Layer::cancel(ClientTransactionId id) {
  Entry entry(*this, EntryKind::Api);
  Transaction* t = find(id.value);
  if (t == nullptr || !t->isClient() || t->internal()) {
    return fail(LayerError{LayerError::Kind::UnknownTransaction, {}});
  }
  if (t->state.machine != Machine::InviteClient) {
    return fail(LayerError{LayerError::Kind::NotAccepted, "only INVITE is cancelled"});
  }
  cancelTransaction(*t);
  return {};
}

void Layer::cancelTransaction(Transaction& t) {
  ClientSide& c = t.client();
  if (c.cancel != CancelState::None) {
    return;
  }
  if (t.state.phase == Phase::Calling) {
    c.cancel = CancelState::Pending;  // 9.1: wait for a provisional response
  } else if (t.state.phase == Phase::Proceeding) {
    sendCancel(t);
  }
}

void Layer::sendCancel(Transaction& invite) {
  ClientSide& c = invite.client();
  c.cancel = CancelState::Sent;
  std::string bytes = buildCancel(c.parts);
  auto parsed = sip::parseMessage(bytes);
  std::optional<Key> key = parsed ? clientKeyOfRequest(*parsed) : std::nullopt;
  // 9.1: if no final response comes within 64*T1, the INVITE is over (a 408 for the TU).
  timer(invite, kCancelGuardSlot).enable(settings_.timers.timerB());
  if (!key || table_->findByKey(true, *key) != nullptr) {
    return;
  }
  auto t = std::make_unique<Transaction>();
  t->key = std::move(*key);
  t->destination = invite.destination;  // 9.1: where the INVITE went
  ClientSide client;
  client.parts = requestParts(*parsed);
  client.request = std::move(bytes);
  client.internal = true;
  t->role = std::move(client);
  Transaction& ref = insert(std::move(t));
  Effects e = apply(ref, start(Machine::NonInviteClient, invite.state.reliable, settings_.timers));
  finish(ref, e, std::nullopt);
}

void Layer::onCancelGuard(Transaction& t) {
  if (!beforeFinal(t.state)) {
    return;
  }
  ++counters_.timeouts;
  remove(t);
  Effects e;
  e.timeout = true;
  e.terminated = true;
  finish(t, e, std::nullopt);
}

Result<void, LayerError> Layer::sendAckText(std::string text,
                                            const transport::Destination& destination) {
  Entry entry(*this, EntryKind::Api);
  if (!text.starts_with("ACK ")) {
    return fail(LayerError{LayerError::Kind::InvalidMessage, "not an ACK"});
  }
  auto sent = sender_.send(destination, std::move(text), ignoreError());
  if (!sent) {
    ++counters_.transport_errors;
    return fail(LayerError{LayerError::Kind::Transport, sent.error().describe()});
  }
  return {};
}

Result<void, LayerError> Layer::sendAck(sip::Message ack,
                                        const transport::Destination& destination) {
  if (!ack.isRequest() || ack.method() != sip::Method::Ack) {
    return fail(LayerError{LayerError::Kind::InvalidMessage, "not an ACK"});
  }
  return sendAckText(ack.serialize(), destination);
}

void Layer::handleResponse(transport::Inbound&& in) {
  const sip::Message& m = in.message;
  const std::optional<Key> key = clientKey(m);
  if (!key) {
    ++counters_.dropped;
    return;
  }
  Transaction* t = findByKey(true, *key);
  if (t == nullptr) {
    ++counters_.stray_responses;
    user_.onStrayResponse(std::move(in));
    return;
  }
  ClientSide& c = t->client();
  const int status = m.statusCode();
  const bool invite = t->state.machine == Machine::InviteClient;
  const bool open = beforeFinal(t->state);
  if (invite && open && status >= 300 && c.ack.empty()) {
    const sip::Header* to = m.find(sip::HeaderId::To);
    c.ack = buildAck(c.parts, to != nullptr ? to->value : std::string_view(c.parts.to));
  }
  Effects e = run(*t, ResponseReceived{status});
  if (!e.pass_response) {
    ++counters_.retransmissions_absorbed;
  }
  if (invite && open && !e.ignored) {
    if (status < 200 && c.cancel == CancelState::Pending) {
      sendCancel(*t);
    } else if (status >= 200) {
      if (c.cancel == CancelState::Pending) {
        c.cancel = CancelState::None;  // 9.1: never sent once a final response is in
      }
      if (TimerPtr& guard = t->timers[kCancelGuardSlot]; guard) {
        guard->disable();
      }
    }
  }
  finish(*t, e, std::move(in));
}

void Layer::finishClient(Transaction& t, Effects& e, std::optional<transport::Inbound> in) {
  ClientSide& c = t.client();
  const std::uint64_t id = t.id;
  if (e.pass_response && in) {
    c.final_delivered = c.final_delivered || in->message.statusCode() >= 200;
    if (!c.internal) {
      deliverResponse(id, ClientResponse{std::move(*in), ResponseOrigin::Peer, std::nullopt});
    }
  }
  // A transaction reports one final response: a timeout or a transport error after it (a failed
  // ACK) ends the transaction quietly.
  if ((e.timeout || e.transport_failed) && !c.final_delivered) {
    c.final_delivered = true;
    if (!c.internal) {
      const int status = e.timeout ? 408 : 503;
      transport::Inbound synthesized{synthesizeResponse(c.parts, status),
                                     t.destination.endpoint,
                                     {},
                                     t.destination.side,
                                     {},
                                     nullptr,
                                     clock_.now()};
      deliverResponse(
          id, ClientResponse{std::move(synthesized),
                             e.timeout ? ResponseOrigin::Timeout : ResponseOrigin::TransportError,
                             e.timeout ? std::nullopt : e.send_error});
    }
  }
  if (e.timer_c && !c.internal) {
    user_.onTimerC(ClientTransactionId{id});
    // RFC 3261 16.8: with a provisional response in, the transaction must be cancelled.
    if (Transaction* still = find(id); still != nullptr) {
      cancelTransaction(*still);
    }
  }
}

}  // namespace sipedge::txn
