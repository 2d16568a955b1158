// txn::Layer: runs fsm.h's machines with real sends and timers (RFC 3261 17, 9, 18). The table,
// the dispatch and the server side; the client side is in layer_client.cc.

#include "sipedge/txn/layer.h"

#include <cstdio>
#include <utility>

#include "layer_internal.h"
#include "table.h"

namespace sipedge::txn {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

// ---- names ----

std::string_view layerErrorKindName(LayerError::Kind k) {
  switch (k) {
    case LayerError::Kind::InvalidMessage: return "invalid message";
    case LayerError::Kind::NoBranch: return "no RFC 3261 branch";
    case LayerError::Kind::Duplicate: return "duplicate transaction";
    case LayerError::Kind::UnknownTransaction: return "unknown transaction";
    case LayerError::Kind::NotAccepted: return "not accepted by the transaction";
    case LayerError::Kind::Overloaded: return "too many transactions";
    case LayerError::Kind::Transport: return "transport error";
  }
  return "?";
}

std::string LayerError::describe() const {
  std::string out(layerErrorKindName(kind));
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

std::string_view responseOriginName(ResponseOrigin o) {
  switch (o) {
    case ResponseOrigin::Peer: return "peer";
    case ResponseOrigin::Timeout: return "timeout";
    case ResponseOrigin::TransportError: return "transport-error";
  }
  return "?";
}

std::string_view serverFailureName(ServerFailure f) {
  switch (f) {
    case ServerFailure::NoAck: return "no-ack";
    case ServerFailure::TransportError: return "transport-error";
  }
  return "?";
}

Layer::Layer(LayerSettings settings, transport::Sender& sender, TimerFactory& timers, Clock& clock,
             Random& random, TransactionUser& user)
    : settings_(std::move(settings)),
      sender_(sender),
      timers_(timers),
      clock_(clock),
      random_(random),
      user_(user),
      table_(std::make_unique<TransactionTable>(settings_.worker)),
      alive_(std::make_shared<Layer*>(this)) {
  SIPEDGE_RELEASE_ASSERT(settings_.max_transactions <= TransactionTable::kMaxSlots / 2);
  deferred_timer_ = timers_.createTimer([this] { onDeferred(); });
}

Layer::~Layer() {
  alive_.reset();  // pending send error callbacks now do nothing
}

void Layer::afterDispatch() {
  if (graveyard_.empty()) {
    return;
  }
  if (outermost_ == EntryKind::TransactionTimer) {
    armDeferred();
  } else {
    graveyard_.clear();
  }
}

void Layer::armDeferred() {
  if (!deferred_timer_->enabled()) {
    deferred_timer_->enable(Duration(0));
  }
}

void Layer::onDeferred() {
  Entry entry(*this, EntryKind::Deferred);
  std::vector<Note> notes;
  notes.swap(notes_);
  for (Note& note : notes) {
    if (note.response) {
      user_.onResponse(ClientTransactionId{note.id}, std::move(*note.response));
    } else {
      user_.onServerFailure(ServerTransactionId{note.id}, note.failure);
    }
  }
}

void Layer::deliverResponse(std::uint64_t id, ClientResponse&& response) {
  if (api_depth_ > 0) {
    notes_.push_back(Note{id, std::move(response), ServerFailure::NoAck});
    armDeferred();
    return;
  }
  user_.onResponse(ClientTransactionId{id}, std::move(response));
}

void Layer::deliverFailure(std::uint64_t id, ServerFailure failure) {
  if (api_depth_ > 0) {
    notes_.push_back(Note{id, std::nullopt, failure});
    armDeferred();
    return;
  }
  user_.onServerFailure(ServerTransactionId{id}, failure);
}

// ---- the table ----

std::size_t Layer::transactionCount() const {
  return table_->size();
}

Transaction& Layer::insert(std::unique_ptr<Transaction> t) {
  ++(t->isClient() ? counters_.client_transactions : counters_.server_transactions);
  return table_->insert(std::move(t));  // gives t its id
}

void Layer::remove(Transaction& t) {
  for (TimerPtr& timer : t.timers) {
    if (timer) {
      timer->disable();
    }
  }
  std::unique_ptr<Transaction> gone = table_->remove(t);
  if (!gone) {
    return;
  }
  --(t.isClient() ? counters_.client_transactions : counters_.server_transactions);
  graveyard_.push_back(std::move(gone));
}

Transaction* Layer::find(std::uint64_t id) {
  return table_->find(id);
}

Transaction* Layer::findServer(ServerTransactionId id) {
  Transaction* t = find(id.value);
  return t != nullptr && !t->isClient() && !t->internal() ? t : nullptr;  // the user's only
}

Transaction* Layer::findByKey(bool client, const Key& key) {
  return table_->findByKey(client, key);
}

Timer& Layer::timer(Transaction& t, std::size_t slot) {
  TimerPtr& p = t.timers[slot];
  if (!p) {
    p = timers_.createTimer([this, id = t.id, slot] { onTimer(id, slot); });
  }
  return *p;
}

transport::Sender::ErrorCallback Layer::errorCallback(std::uint64_t id) {
  // S40: the id, not the transaction; and nothing at all once the layer is gone.
  return [alive = std::weak_ptr<Layer*>(alive_), id](const transport::SendError& error) {
    if (auto layer = alive.lock()) {
      (*layer)->onSendError(id, error);
    }
  };
}

std::string Layer::newTag() {
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", random_.below(0xffffffffu),
                random_.below(0xffffffffu));
  return text;
}

// ---- running the machines ----

Layer::Effects Layer::run(Transaction& t, const Input& input) {
  return apply(t, step(t.state, input, settings_.timers));
}

Layer::Effects Layer::apply(Transaction& t, const Step& s) {
  Effects e;
  e.ignored = s.ignored;
  execute(t, s, e);
  if (e.send_failed && !e.terminated) {
    // RFC 3261 17.1.4, 17.2.4: a send that failed at once is a transport error like a later one.
    execute(t, step(t.state, TransportError{}, settings_.timers), e);
  }
  return e;
}

void Layer::execute(Transaction& t, const Step& s, Effects& e) {
  t.state = s.state;
  for (const Action& action : s.actions) {
    std::visit(
        Overloaded{
            [&](const SendRequest&) { send(t, t.client().request, e); },
            [&](const SendAck&) { send(t, t.client().ack, e); },
            [&](const SendResponse&) { send(t, t.server().response, e); },
            [&](const StartTimer& a) { timer(t, static_cast<std::size_t>(a.id)).enable(a.after); },
            [&](const StopTimer& a) {
              if (TimerPtr& p = t.timers[static_cast<std::size_t>(a.id)]; p) {
                p->disable();
              }
            },
            [&](const PassResponse&) { e.pass_response = true; },
            [&](const PassAck&) { e.pass_ack = true; },
            [&](const Timeout&) {
              e.timeout = true;
              ++counters_.timeouts;
            },
            [&](const TransportFailed&) { e.transport_failed = true; },
            [&](const TimerCExpired&) { e.timer_c = true; },
            [&](const Terminate&) {
              e.terminated = true;
              remove(t);
            },
        },
        action);
  }
}

void Layer::send(Transaction& t, const std::string& bytes, Effects& e) {
  if (e.terminated || bytes.empty()) {
    return;
  }
  auto sent = sender_.send(t.destination, bytes, errorCallback(t.id));
  if (!sent) {
    ++counters_.transport_errors;
    e.send_failed = true;
    if (!e.send_error) {
      e.send_error = sent.error();
    }
  }
}

void Layer::finish(Transaction& t, Effects& e, std::optional<transport::Inbound> in) {
  if (t.isClient()) {
    finishClient(t, e, std::move(in));
  } else {
    finishServer(t, e, std::move(in));
  }
}

void Layer::finishServer(Transaction& t, Effects& e, std::optional<transport::Inbound> in) {
  if (e.pass_ack && in) {
    user_.onAck(std::move(*in));
  }
  if (t.internal()) {
    return;
  }
  if (e.timeout) {
    deliverFailure(t.id, ServerFailure::NoAck);
  }
  if (e.transport_failed) {
    deliverFailure(t.id, ServerFailure::TransportError);
  }
}

// ---- from the wire ----

void Layer::onMessage(transport::Inbound&& in) {
  Entry entry(*this, EntryKind::Wire);
  if (in.message.isRequest()) {
    handleRequest(std::move(in));
  } else {
    handleResponse(std::move(in));
  }
}

void Layer::handleRequest(transport::Inbound&& in) {
  const sip::Message& m = in.message;
  std::optional<Key> key = hasTransactionHeaders(m) ? serverKey(m) : std::nullopt;
  if (!key) {
    ++counters_.dropped;
    return;
  }
  if (m.method() == sip::Method::Ack) {
    handleAck(std::move(in), *key);
    return;
  }
  if (Transaction* t = findByKey(false, *key); t != nullptr) {
    // 17.2.3: a retransmission; the machine resends the last response or absorbs it.
    ++counters_.retransmissions_absorbed;
    Effects e = run(*t, RequestRetransmission{});
    finish(*t, e, std::nullopt);
    return;
  }
  if (m.method() == sip::Method::Cancel) {
    handleCancel(std::move(in), std::move(*key));
    return;
  }
  if (table_->size() >= settings_.max_transactions) {
    // Never at the expense of an existing transaction: answered statelessly.
    ++counters_.rejected_over_limit;
    sendStateless(in, 503, newTag(),
                  "Retry-After: " + std::to_string(settings_.overload_retry_after) + "\r\n");
    return;
  }
  auto t = std::make_unique<Transaction>();
  t->key = std::move(*key);
  t->destination = transport::responseDestination(m.vias().front(), in.source, in.side, in.flow);
  ServerSide server;
  server.parts = answerParts(m);
  server.rfc2543 = !isRfc3261Branch(m.vias().front().branch);
  t->role = std::move(server);
  const bool invite = m.method() == sip::Method::Invite;
  Transaction& ref = insert(std::move(t));
  (void)apply(ref, start(invite ? Machine::InviteServer : Machine::NonInviteServer,
                         transport::isReliable(in.source.transport), settings_.timers));
  if (invite && settings_.send_trying) {
    timer(ref, kTryingSlot).enable(settings_.trying_after);
  }
  user_.onRequest(ServerTransactionId{ref.id}, std::move(in));
}

void Layer::handleAck(transport::Inbound&& in, const Key& key) {
  Transaction* t = findByKey(false, key);
  if (t != nullptr && t->server().rfc2543) {
    // RFC 2543 matching leaves the To tag out of an INVITE's key; the ACK must carry ours.
    const sip::NameAddr* to = in.message.to();
    if (to == nullptr || to->tag != t->server().to_tag) {
      t = nullptr;
    }
  }
  if (t == nullptr) {
    ++counters_.stray_acks;
    user_.onAck(std::move(in));
    return;
  }
  Effects e = run(*t, AckReceived{});
  if (e.ignored) {
    ++counters_.retransmissions_absorbed;
  }
  finish(*t, e, std::move(in));
}

void Layer::handleCancel(transport::Inbound&& in, Key key) {
  // RFC 3261 9.2: the CANCEL is answered by the layer, 200 when it matches an INVITE server
  // transaction (with that transaction's To tag), 481 otherwise.
  const std::optional<Key> invite_key = cancelledInviteKey(in.message);
  Transaction* invite = invite_key ? findByKey(false, *invite_key) : nullptr;
  if (invite != nullptr && invite->state.machine != Machine::InviteServer) {
    invite = nullptr;
  }
  if (invite == nullptr) {
    ++counters_.unmatched_cancels;
  }
  const int status = invite != nullptr ? 200 : 481;
  const std::string tag =
      invite != nullptr && !invite->server().to_tag.empty() ? invite->server().to_tag : newTag();
  if (table_->size() < settings_.max_transactions) {
    auto t = std::make_unique<Transaction>();
    t->key = std::move(key);
    t->destination =
        transport::responseDestination(in.message.vias().front(), in.source, in.side, in.flow);
    ServerSide server;
    server.parts = answerParts(in.message);
    server.internal = true;
    t->role = std::move(server);
    Transaction& ref = insert(std::move(t));
    (void)apply(ref, start(Machine::NonInviteServer, transport::isReliable(in.source.transport),
                           settings_.timers));
    const std::string bytes = buildResponse(ref.server().parts, status, tag);
    (void)respondWith(ref, status, bytes, tag);
  } else {
    ++counters_.rejected_over_limit;
    sendStateless(in, status, tag, {});
  }
  if (invite != nullptr && invite->state.phase == Phase::Proceeding &&
      !invite->server().cancelled) {
    invite->server().cancelled = true;
    user_.onCancelled(ServerTransactionId{invite->id}, in);
  }
}

void Layer::onTimer(std::uint64_t id, std::size_t slot) {
  Entry entry(*this, EntryKind::TransactionTimer);
  Transaction* t = find(id);
  if (t == nullptr) {
    return;
  }
  if (slot == kTryingSlot) {
    sendTrying(*t);
    return;
  }
  if (slot == kCancelGuardSlot) {
    onCancelGuard(*t);
    return;
  }
  Effects e = run(*t, TimerFired{static_cast<TimerId>(slot)});
  finish(*t, e, std::nullopt);
}

void Layer::onSendError(std::uint64_t id, const transport::SendError& error) {
  Entry entry(*this, EntryKind::SendError);
  ++counters_.transport_errors;
  Transaction* t = find(id);
  if (t == nullptr) {
    return;
  }
  Effects e = run(*t, TransportError{});
  if (!e.send_error) {
    e.send_error = error;
  }
  finish(*t, e, std::nullopt);
}

// ---- server side ----

Result<void, LayerError> Layer::respond(ServerTransactionId id, sip::Message response) {
  Entry entry(*this, EntryKind::Api);
  Transaction* t = findServer(id);
  if (t == nullptr) {
    return fail(LayerError{LayerError::Kind::UnknownTransaction, {}});
  }
  if (!response.isResponse()) {
    return fail(LayerError{LayerError::Kind::InvalidMessage, "not a response"});
  }
  const std::string tag(response.to() != nullptr ? response.to()->tag : std::string_view());
  return respondWith(*t, response.statusCode(), response.serialize(), tag);
}

Result<void, LayerError> Layer::respondText(ServerTransactionId id, int status, std::string text,
                                            std::string_view to_tag) {
  Entry entry(*this, EntryKind::Api);
  Transaction* t = findServer(id);
  if (t == nullptr) {
    return fail(LayerError{LayerError::Kind::UnknownTransaction, {}});
  }
  // The status line says what `status` says: "SIP/2.0 NNN ".
  const std::string line = "SIP/2.0 " + std::to_string(status) + " ";
  if (status < 100 || status > 699 || !text.starts_with(line)) {
    return fail(LayerError{LayerError::Kind::InvalidMessage, "not a " + std::to_string(status)});
  }
  return respondWith(*t, status, std::move(text), to_tag);
}

Result<void, LayerError> Layer::discard(ServerTransactionId id) {
  Entry entry(*this, EntryKind::Api);
  Transaction* t = findServer(id);
  if (t == nullptr) {
    return fail(LayerError{LayerError::Kind::UnknownTransaction, {}});
  }
  if (t->state.last_response != 0) {
    return fail(
        LayerError{LayerError::Kind::NotAccepted,
                   "discard after a response (" + std::to_string(t->state.last_response) + ")"});
  }
  remove(*t);
  return {};
}

Result<void, LayerError> Layer::respondWith(Transaction& t, int status, std::string bytes,
                                            std::string_view to_tag) {
  const Step s = step(t.state, TuResponse{status}, settings_.timers);
  if (s.ignored) {
    return fail(
        LayerError{LayerError::Kind::NotAccepted,
                   std::to_string(status) + " in " + std::string(phaseName(t.state.phase))});
  }
  ServerSide& server = t.server();
  server.response = std::move(bytes);
  if (!to_tag.empty()) {
    server.to_tag = std::string(to_tag);
  }
  if (TimerPtr& trying = t.timers[kTryingSlot]; trying) {
    trying->disable();
  }
  Effects e = apply(t, s);
  finish(t, e, std::nullopt);
  return {};
}

void Layer::sendTrying(Transaction& t) {
  // 17.2.1: the TU has not answered within 200 ms.
  if (t.state.phase != Phase::Proceeding || t.state.last_response != 0) {
    return;
  }
  (void)respondWith(t, 100, buildResponse(t.server().parts, 100, {}), {});
}

void Layer::sendStateless(const transport::Inbound& in, int status, std::string_view to_tag,
                          std::string_view extra_headers) {
  const sip::Message& m = in.message;
  const transport::Destination to =
      transport::responseDestination(m.vias().front(), in.source, in.side, in.flow);
  if (!sender_.send(to, buildResponse(answerParts(m), status, to_tag, extra_headers),
                    ignoreError())) {
    ++counters_.transport_errors;
  }
}
}  // namespace sipedge::txn
