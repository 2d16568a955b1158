#pragma once

// txn::Layer: the thin shell that runs the pure transaction machines of fsm.h for one worker
// (STYLE S5). It owns the worker's transaction table, carries out the machines' actions with an
// injected transport::Sender, TimerFactory and Clock, absorbs retransmissions, answers CANCEL,
// builds the ACK for non-2xx final responses, sends 100 Trying for slow INVITEs, and reports
// timeouts and transport errors to its user as synthesized 408 and 503 responses.
//
// The user (the TU: a B2BUA, a responder, the probe) refers to transactions only by id (S40).
// Rules the user can rely on:
// - The layer never calls the user from inside a call the user made (request, cancel, respond,
//   sendAck): what such a call causes at once (a send that fails synchronously) is reported after
//   it returns, from a zero-delay timer.
// - A client transaction delivers exactly one final response (real or synthesized); an INVITE
//   answered 2xx also delivers the 2xx retransmissions that arrive until timer M (RFC 6026).
// - Transactions are destroyed after the dispatch that ended them, never inside their own timer
//   callbacks (loop::Worker's rule).
// The user in turn answers every server transaction it is given: the layer bounds their number
// (max_transactions) but, as RFC 3261 does, never times out a request the TU has not answered.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/random.h"
#include "sipedge/base/result.h"
#include "sipedge/base/time.h"
#include "sipedge/sip/message.h"
#include "sipedge/transport/sender.h"
#include "sipedge/txn/fsm.h"
#include "sipedge/txn/key.h"

namespace sipedge::txn {

// ---- ids ----
// Transaction ids are minted by the layer; the top kWorkerIdBits bits hold the index of the owning
// worker (DESIGN.md), the rest the transaction's slot in the layer's table and that slot's
// generation (src/txn/table.h). 0 is never a valid id.
inline constexpr unsigned kWorkerIdBits = 8;
inline constexpr unsigned kWorkerIdShift = 64 - kWorkerIdBits;
inline constexpr unsigned kMaxWorkers = 1u << kWorkerIdBits;
constexpr unsigned workerOfId(std::uint64_t id) {
  return static_cast<unsigned>(id >> kWorkerIdShift);
}

struct ServerTransactionId {
  std::uint64_t value = 0;
  auto operator<=>(const ServerTransactionId&) const = default;
};
struct ClientTransactionId {
  std::uint64_t value = 0;
  auto operator<=>(const ClientTransactionId&) const = default;
};

// ---- settings (each is a configuration key: txn.*) ----
struct LayerSettings {
  TimerConfig timers;
  unsigned worker = 0;  // this worker's index, below kMaxWorkers
  // Client + server; over it new requests get 503. A UDP non-INVITE server transaction stays
  // 64*T1 (32 s) after its answer, so this bounds the sustained rate of new UDP requests to
  // max_transactions / 32 s (6,250/s by default); each costs about 1.7 KB. At most 2^27: ids have
  // room for 2^28 transactions, and the layer's CANCELs may double the number.
  std::size_t max_transactions = 200000;
  std::uint32_t overload_retry_after = 5;  // seconds, the Retry-After of that 503
  bool send_trying = true;                 // RFC 3261 17.2.1: 100 Trying for a silent INVITE TU
  Duration trying_after{200};
  // RFC 3261 18.1.1: a request over UDP larger than this ("MTU - 200") goes over TCP instead; 0
  // never switches.
  std::size_t max_udp_request_bytes = 1300;
};

struct RequestOptions {
  // RFC 3261 16.6 step 11: run timer C on an INVITE client transaction. A B2BUA always sets it;
  // without it an INVITE answered only by provisional responses lives until the TU cancels it.
  bool proxy_timer_c = false;
};

// What a client transaction keeps of its request: CANCEL and the ACK of a non-2xx final response
// are built from it (RFC 3261 9.1, 17.1.1.3).
struct RequestParts {
  std::string method;
  std::string request_uri;
  std::string top_via;  // the top via-parm as written
  std::string from;     // the From and To header values as written
  std::string to;
  std::string call_id;
  std::uint32_t cseq = 0;
  std::vector<std::string> routes;  // the Route header values, in order
};

// Misuse of the layer's API (never a peer's doing).
struct LayerError {
  enum class Kind : std::uint8_t {
    InvalidMessage,      // not a request / response of the expected kind, or a mandatory header
                         // (Via, From, To, Call-ID, CSeq) is missing
    NoBranch,            // the top Via has no RFC 3261 branch (magic cookie)
    Duplicate,           // a client transaction with this branch and method exists
    UnknownTransaction,  // no such transaction (ended, or never the user's)
    NotAccepted,         // the transaction's machine ignores this response now (RFC 3261 17.2)
    Overloaded,          // LayerSettings::max_transactions reached
    Transport,           // sendAck: the transport refused at once
  };
  Kind kind = Kind::InvalidMessage;
  std::string detail;
  std::string describe() const;
};
std::string_view layerErrorKindName(LayerError::Kind k);

// ---- what the user receives ----
enum class ResponseOrigin : std::uint8_t {
  Peer,            // received from the network
  Timeout,         // 408 synthesized: timer B or F, or no final response 64*T1 after a CANCEL
  TransportError,  // 503 synthesized: the transport failed (RFC 3261 8.1.3.1, 17.1.4)
};
std::string_view responseOriginName(ResponseOrigin o);

struct ClientResponse {
  // Peer: the response as received. Synthesized: a response built from the request (its top Via,
  // From, To, Call-ID and CSeq), with the request's destination as source and no flow.
  transport::Inbound inbound;
  ResponseOrigin origin = ResponseOrigin::Peer;
  std::optional<transport::SendError> error;  // TransportError: what the transport reported
  const sip::Message& message() const { return inbound.message; }
};

enum class ServerFailure : std::uint8_t {
  NoAck,           // INVITE: timer H fired, no ACK for the non-2xx final response
  TransportError,  // a response could not be sent
};
std::string_view serverFailureName(ServerFailure f);

class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  // A new server transaction. The user answers it with Layer::respond (for an INVITE, at least
  // the final response; the layer sends 100 Trying itself when the user is slow).
  virtual void onRequest(ServerTransactionId id, transport::Inbound&& request) = 0;
  // A response for a client transaction, received or synthesized (origin).
  virtual void onResponse(ClientTransactionId id, ClientResponse&& response) = 0;
  // An ACK that matches no transaction (the ACK for a 2xx is a transaction of its own), or the ACK
  // of an INVITE server transaction answered 2xx (RFC 6026 Accepted).
  virtual void onAck(transport::Inbound&& ack) { (void)ack; }
  // A response matching no client transaction: 2xx retransmissions after timer M, forked 2xx.
  virtual void onStrayResponse(transport::Inbound&& response) { (void)response; }
  // A CANCEL matched the INVITE server transaction `invite` before its final response. The layer
  // has answered the CANCEL 200; the user answers the INVITE 487 (RFC 3261 9.2).
  virtual void onCancelled(ServerTransactionId invite, const transport::Inbound& cancel) {
    (void)invite;
    (void)cancel;
  }
  // Timer C fired on a proxy INVITE client transaction (RFC 3261 16.8). When this returns, the
  // layer cancels the transaction unless the user did; the final response (487 from the peer, or
  // a synthesized 408) follows through onResponse.
  virtual void onTimerC(ClientTransactionId id) { (void)id; }
  // A server transaction ended abnormally.
  virtual void onServerFailure(ServerTransactionId id, ServerFailure failure) {
    (void)id;
    (void)failure;
  }
};

// Counters for metrics. The first two are gauges, the rest only grow.
struct LayerCounters {
  std::uint64_t client_transactions = 0;       // active
  std::uint64_t server_transactions = 0;       // active
  std::uint64_t retransmissions_absorbed = 0;  // requests, ACKs and responses a transaction took
  std::uint64_t timeouts = 0;                  // timers B, F, H and the CANCEL guard
  std::uint64_t transport_errors = 0;          // synchronous and asynchronous
  std::uint64_t rejected_over_limit = 0;       // new requests answered 503 (max_transactions)
  std::uint64_t stray_responses = 0;
  std::uint64_t stray_acks = 0;         // ACKs matching no transaction (every ACK for a 2xx)
  std::uint64_t unmatched_cancels = 0;  // answered 481
  std::uint64_t dropped = 0;            // messages lacking the headers a transaction needs
  std::uint64_t switched_to_tcp = 0;    // RFC 3261 18.1.1
};

struct Transaction;      // src/txn/transaction.h
class TransactionTable;  // src/txn/table.h

class Layer final : public transport::MessageHandler {
 public:
  // Every reference must outlive the layer.
  Layer(LayerSettings settings, transport::Sender& sender, TimerFactory& timers, Clock& clock,
        Random& random, TransactionUser& user);
  ~Layer() override;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // A parsed message from the transport: requests open or hit server transactions, responses
  // hit client transactions.
  void onMessage(transport::Inbound&& in) override;

  // Starts a client transaction. The request carries its top Via with an RFC 3261 branch; the
  // layer sends it (over TCP instead when it is too large for UDP, rewriting the top Via's
  // transport and sent-by), retransmits it on UDP and reports every response. A transport failure,
  // even of the first send, arrives later as a synthesized 503: an error here is misuse or
  // overload only. ACK and CANCEL are not requests of their own: use sendAck and cancel.
  [[nodiscard]] Result<ClientTransactionId, LayerError> request(sip::Message request,
                                                                transport::Destination destination,
                                                                RequestOptions options = {});

  // The same for a request the user wrote as text from values it holds (the B2BUA builds every
  // request it sends so): `parts` are those values as they appear in `bytes` (top Via, From, To,
  // Call-ID, CSeq, Route headers), `branch` the top Via's branch. Not parsed; only the method and
  // the branch are checked. A request too large for UDP is parsed and goes through request()
  // (which can move it to TCP).
  [[nodiscard]] Result<ClientTransactionId, LayerError> requestText(
      std::string bytes, RequestParts parts, std::string_view branch,
      transport::Destination destination, RequestOptions options = {});

  // Cancels an INVITE client transaction (RFC 3261 9.1): the CANCEL is sent once a provisional
  // response has arrived, never after a final one; its own responses stay in the layer. If no
  // final response arrives within 64*T1 of the CANCEL, the user gets a synthesized 408. Cancelling
  // twice, or after the final response, does nothing.
  [[nodiscard]] Result<void, LayerError> cancel(ClientTransactionId id);

  // Sends a response on a server transaction (to the address RFC 3261 18.2.2 gives for its
  // request) and keeps it for retransmissions. For an INVITE answered 2xx, the user retransmits the
  // 2xx through this call until the ACK arrives (RFC 6026 Accepted).
  [[nodiscard]] Result<void, LayerError> respond(ServerTransactionId id, sip::Message response);

  // The same for a response the user built as text from the parsed request it answers (as
  // sip::responseText does: the request's Via, From, To, Call-ID and CSeq, values taken from
  // parsed messages): sent as it is, without being parsed again. `status` is its status code and
  // `to_tag` its To-tag (empty: none added). Only its status line is checked here.
  [[nodiscard]] Result<void, LayerError> respondText(ServerTransactionId id, int status,
                                                     std::string text, std::string_view to_tag);

  // Ends a server transaction that has sent nothing yet without any response (a request policy
  // drops: a flood gets no answer). The layer forgets it at once; a retransmission of the
  // request opens a new transaction and reaches the user again. Call it from onRequest, before
  // the 100 Trying an INVITE gets after 200 ms; later (or after a response) it is NotAccepted.
  [[nodiscard]] Result<void, LayerError> discard(ServerTransactionId id);

  // Sends the ACK for a 2xx (a transaction of its own, RFC 3261 13.2.2.4), statelessly.
  [[nodiscard]] Result<void, LayerError> sendAck(sip::Message ack,
                                                 const transport::Destination& destination);
  // The same for an ACK the user built as text from parsed values: sent as it is.
  [[nodiscard]] Result<void, LayerError> sendAckText(std::string text,
                                                     const transport::Destination& destination);

  const LayerCounters& counters() const { return counters_; }
  std::size_t transactionCount() const;
  const LayerSettings& settings() const { return settings_; }

 private:
  enum class EntryKind : std::uint8_t { Wire, Api, TransactionTimer, Deferred, SendError };
  class Entry;
  struct Effects;
  struct Note;

  // dispatch
  void handleRequest(transport::Inbound&& in);
  void handleResponse(transport::Inbound&& in);
  void handleAck(transport::Inbound&& in, const Key& key);
  void handleCancel(transport::Inbound&& in, Key key);
  void onTimer(std::uint64_t id, std::size_t slot);
  void onSendError(std::uint64_t id, const transport::SendError& error);
  void onDeferred();
  void afterDispatch();

  // running the machines
  Effects run(Transaction& t, const Input& input);
  Effects apply(Transaction& t, const Step& step);
  void execute(Transaction& t, const Step& step, Effects& e);
  void send(Transaction& t, const std::string& bytes, Effects& e);
  void finish(Transaction& t, Effects& e, std::optional<transport::Inbound> in);
  void finishClient(Transaction& t, Effects& e, std::optional<transport::Inbound> in);
  void finishServer(Transaction& t, Effects& e, std::optional<transport::Inbound> in);
  Result<void, LayerError> respondWith(Transaction& t, int status, std::string bytes,
                                       std::string_view to_tag);
  void sendTrying(Transaction& t);
  void cancelTransaction(Transaction& t);
  void sendCancel(Transaction& invite);
  void onCancelGuard(Transaction& t);
  void sendStateless(const transport::Inbound& in, int status, std::string_view to_tag,
                     std::string_view extra_headers);

  // The key of a new client transaction, once its branch is an RFC 3261 one, the table has room
  // and no client transaction has that key.
  Result<Key, LayerError> newClientKey(std::string_view branch, std::string_view method);
  // A new client transaction for a request already checked, and its first send.
  ClientTransactionId startClient(Key key, RequestParts parts, std::string bytes,
                                  transport::Destination destination, RequestOptions options);

  // the table
  Transaction& insert(std::unique_ptr<Transaction> t);
  void remove(Transaction& t);
  Transaction* find(std::uint64_t id);
  Transaction* findServer(ServerTransactionId id);  // a server transaction of the user's
  Transaction* findByKey(bool client, const Key& key);
  Timer& timer(Transaction& t, std::size_t slot);
  transport::Sender::ErrorCallback errorCallback(std::uint64_t id);
  std::string newTag();

  // reporting to the user (deferred while inside a call from the user)
  void deliverResponse(std::uint64_t id, ClientResponse&& response);
  void deliverFailure(std::uint64_t id, ServerFailure failure);
  void armDeferred();

  LayerSettings settings_;
  transport::Sender& sender_;
  TimerFactory& timers_;
  Clock& clock_;
  Random& random_;
  TransactionUser& user_;

  std::unique_ptr<TransactionTable> table_;
  // Transactions that ended during the current dispatch; freed when it is over.
  std::vector<std::unique_ptr<Transaction>> graveyard_;
  std::vector<Note> notes_;        // user notifications waiting for deferred_timer_
  TimerPtr deferred_timer_;        // delivers notes_, frees graveyard_ after a transaction timer
  std::shared_ptr<Layer*> alive_;  // send error callbacks hold a weak_ptr to it
  LayerCounters counters_;
  unsigned depth_ = 0;      // nested entries into the layer
  unsigned api_depth_ = 0;  // of which calls from the user
  EntryKind outermost_ = EntryKind::Wire;
};

}  // namespace sipedge::txn

template <>
struct std::hash<sipedge::txn::ServerTransactionId> {
  std::size_t operator()(const sipedge::txn::ServerTransactionId& id) const noexcept {
    return std::hash<std::uint64_t>()(id.value);
  }
};
template <>
struct std::hash<sipedge::txn::ClientTransactionId> {
  std::size_t operator()(const sipedge::txn::ClientTransactionId& id) const noexcept {
    return std::hash<std::uint64_t>()(id.value);
  }
};
