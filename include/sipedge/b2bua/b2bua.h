#pragma once

// The federation B2BUA (DESIGN.md "The way a request travels"): one per worker, the transaction
// user on top of that worker's txn::Layer. A request from one side leaves toward the other as a
// new request built by sipedge: its own Call-ID, tags, Via, Contact and CSeq space per leg, the
// identities mapped through the identity::Directory, and only the headers HeaderRules lets pass.
//
// - Inbound (external -> internal): the Request-URI's address-of-record is mapped ToInternal; the
//   request goes to the internal next hops (priority/weight, failover on timeout, 503 or
//   transport error before any provisional response).
// - Outbound (internal -> external): the From address is mapped ToExternal; the request goes to
//   the partner's configured address, or where RFC 3263 DNS says, over TLS with the target
//   domain as the certificate name.
// - Dialogs (INVITE, SUBSCRIBE, out-of-dialog REFER) have two legs; in-dialog requests and
//   responses cross through the leg mapping; each leg's peer is reached where the dialog's first
//   request went or came from. Every dialog ends: BYE, final failure, CANCEL, a terminated or
//   expired subscription, a 481, or max_dialog_lifetime.
// - Errors are mapped, not leaked: toward a partner, responses carry the default reason phrase
//   and no internal header; 3xx from either side becomes 480.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sipedge/b2bua/header_rules.h"
#include "sipedge/b2bua/next_hops.h"
#include "sipedge/b2bua/registrar.h"
#include "sipedge/base/random.h"
#include "sipedge/base/strings.h"
#include "sipedge/base/time.h"
#include "sipedge/dns/resolver.h"
#include "sipedge/identity/directory.h"
#include "sipedge/location/location.h"
#include "sipedge/policy/decision_record.h"
#include "sipedge/policy/policy.h"
#include "sipedge/transport/sender.h"
#include "sipedge/txn/layer.h"

namespace sipedge::auth {
class Ha1Table;
class NonceManager;
}  // namespace sipedge::auth

namespace sipedge::b2bua {

namespace detail {
struct RequestHead;  // state.h
}  // namespace detail

// Where requests for one partner domain go when DNS is not asked.
struct PartnerRoute {
  std::string domain;  // lower case
  transport::Endpoint endpoint;
};

struct Settings {
  unsigned worker = 0;
  std::vector<std::string> served_domains;  // lower case
  HeaderRules to_inside;    // what passes on requests and responses sent toward the inside
  HeaderRules to_partners;  // ... and toward partners
  Duration max_dialog_lifetime{12LL * 3600 * 1000};
  // A confirmed call with no request on either leg for this long gets an in-dialog OPTIONS on
  // each leg; an answer that says the dialog is gone (481 and the others of RFC 5057 5.1) or none
  // at all ends the call. 0: off.
  Duration idle_check{0};
  int not_found_status = 404;
  std::uint32_t unavailable_retry_after = 30;  // seconds
  std::vector<NextHop> next_hops;
  HealthSettings health;
  Duration health_interval{5000};  // 0: no OPTIONS pings
  // A target that sends nothing at all (not even 100 Trying) within this is abandoned for the
  // next one (and the ping that gets no answer within the interval counts as failed).
  Duration response_timeout{2000};
  std::vector<PartnerRoute> partner_routes;
  bool tls_to_partners = true;  // DNS targets: only TLS ones are used
  // Federation policy (issue 5). Without a policy every request is admitted (unit tests); with
  // one, every new request from a partner and every new request toward a partner is decided,
  // and the decision goes to `decisions` (when set). `limiter` is shared by the workers (needed
  // with a policy); `country` maps a source IP to its ISO code (GeoIP; empty: none).
  std::shared_ptr<const policy::Policy> policy;
  policy::RateLimiter* limiter = nullptr;
  policy::DecisionSink* decisions = nullptr;
  std::function<std::string(std::string_view ip)> country;
  // Registrar, location service, redirect and forking (issue 6). `location` is shared by the
  // workers; null: REGISTER is refused (403) and routing never consults bindings. `nonces`
  // (shared) is needed when registrar.auth.enabled; `ha1` is the HA1 file's table, null when
  // the credentials come from the directory (Answer::credentials of the registrant). `unix_now_ms`
  // is the wall clock in Unix milliseconds (bindings outlive a restart; nonces carry it); empty:
  // the system clock.
  location::Store* location = nullptr;
  config::RegistrarConfig registrar;
  config::RoutingConfig routing;
  const auth::Ha1Table* ha1 = nullptr;
  auth::NonceManager* nonces = nullptr;
  std::function<std::int64_t()> unix_now_ms;
};

struct Stats {
  std::uint64_t dialogs = 0;  // gauge
  std::uint64_t pending = 0;  // relayed requests waiting for a final response (gauge)
  std::uint64_t dialogs_created = 0;
  std::uint64_t inbound_requests = 0;   // new out-of-dialog requests from partners
  std::uint64_t outbound_requests = 0;  // new out-of-dialog requests from the inside
  std::uint64_t rejected = 0;           // answered by sipedge itself with a failure
  std::uint64_t failovers = 0;          // a request retried on the next next hop
  std::uint64_t next_hops_up = 0;       // gauge
  std::uint64_t directory_unavailable = 0;
  std::uint64_t session_expired = 0;   // calls ended because no refresh came (RFC 4028)
  std::uint64_t lifetime_expired = 0;  // dialogs ended by max_dialog_lifetime
  std::uint64_t idle_probes = 0;       // in-dialog OPTIONS sent by the idle check
  std::uint64_t idle_ended = 0;        // calls ended because a leg's probe found it gone
  std::uint64_t policy_allowed = 0;    // policy decisions by verdict
  std::uint64_t policy_denied = 0;
  std::uint64_t policy_throttled = 0;
  std::uint64_t policy_dropped = 0;        // denied or throttled without an answer
  std::uint64_t registrations = 0;         // REGISTERs answered 200
  std::uint64_t registrations_failed = 0;  // REGISTERs answered with a failure (401 included)
  std::uint64_t redirects = 0;             // requests answered with a 3xx (redirect mode)
  std::uint64_t forked = 0;                // requests sent to several registered contacts
  std::uint64_t branches = 0;              // client transactions of forked requests
};

class B2bua final : public txn::TransactionUser {
 public:
  // `layer` returns the worker's layer (it is built after its user). Every reference outlives
  // the B2BUA; `resolver` may be null (then only partners with a configured address are reached).
  B2bua(Settings settings, std::function<txn::Layer&()> layer, transport::Sender& sender,
        TimerFactory& timers, Clock& clock, Random& random, identity::Directory& directory,
        dns::Resolver* resolver);
  ~B2bua() override;
  B2bua(const B2bua&) = delete;
  B2bua& operator=(const B2bua&) = delete;

  // Starts the next-hop pings and the dialog sweep (lifetime, idle check) (after the layer exists,
  // on the worker's thread).
  void start();

  void onRequest(txn::ServerTransactionId id, transport::Inbound&& request) override;
  void onResponse(txn::ClientTransactionId id, txn::ClientResponse&& response) override;
  void onAck(transport::Inbound&& ack) override;
  void onStrayResponse(transport::Inbound&& response) override;
  void onCancelled(txn::ServerTransactionId invite, const transport::Inbound& cancel) override;
  void onTimerC(txn::ClientTransactionId id) override;
  void onServerFailure(txn::ServerTransactionId id, txn::ServerFailure failure) override;

  // A new policy snapshot (a reload), on the worker's thread: new requests are decided by it;
  // dialogs already set up go on.
  void setPolicy(std::shared_ptr<const policy::Policy> policy);

  Stats stats() const;
  const NextHopSet& nextHops() const { return next_hops_; }

  struct Dialog;
  struct Relay;

 private:
  struct Leg;
  struct Lookup;

  // policy
  // Decides a new request from a partner (inbound) or toward one (outbound). Allowed: true, and
  // `record` holds the decision to log once the request is mapped. Otherwise the request is
  // answered (or dropped) and the decision logged; false.
  // Waiting: open federation needs the claimed domain's _sipfederationtls._tcp SRV first; the
  // request is parked and decided again when DNS has answered.
  enum class Admission : std::uint8_t { Admitted, Refused, Waiting };
  Admission admit(txn::ServerTransactionId id, transport::Inbound& in, bool inbound,
                  std::string_view claimed_domain, std::unique_ptr<policy::DecisionRecord>& record,
                  bool& strip_trust);
  // The addresses a domain's _sipfederationtls._tcp SRV targets resolve to (open federation),
  // cached per worker: nullopt until looked up.
  std::optional<bool> federationSrvMatches(std::string_view domain, const std::string& ip);
  void lookUpFederationSrv(txn::ServerTransactionId id, transport::Inbound&& in,
                           const std::string& domain);
  policy::DecisionRecord recordOf(const transport::Inbound& in, const policy::Decision& decision,
                                  policy::Direction direction, std::string_view country);
  void emit(std::unique_ptr<policy::DecisionRecord>& record);

  // registrar and redirect (register.cc)
  void handleRegister(txn::ServerTransactionId id, const transport::Inbound& in);
  // Digest authentication against `table` (the HA1 file, or the registrant's credentials from
  // the directory), then the bindings' update.
  void authenticateRegister(txn::ServerTransactionId id, const sip::Message& request,
                            const RegisterPlan& plan, const auth::Ha1Table& table);
  void applyRegister(txn::ServerTransactionId id, const sip::Message& request,
                     const RegisterPlan& plan);
  void replyRegister(txn::ServerTransactionId id, const sip::Message& request,
                     const RegistrarReply& reply);
  config::RoutingMode modeFor(std::string_view domain, bool from_external,
                              std::string_view partner_domain) const;
  // The registered contacts of the mapped identity, else of the Request-URI's AOR.
  std::vector<location::Binding> bindingsFor(const Relay& relay, const identity::Answer& a);
  void redirect(Relay& relay, const identity::Answer& a);
  std::int64_t unixNowMs() const;
  location::UnixSeconds unixNow() const { return unixNowMs() / 1000; }

  // forking (forking.cc)
  // Turns the relay's request into one branch per binding (false: none can be reached).
  bool addBranches(Relay& relay, const std::vector<location::Binding>& bindings);
  void startBranch(Relay& relay, std::size_t index);
  void startBranches(Relay& relay);
  // Cancels every pending branch (CANCEL from the requester, a hang-up); may end the relay.
  void cancelForking(Relay& relay);
  static bool branchesPending(const Relay& relay);
  void onBranchResponse(Relay& relay, std::size_t index, txn::ClientResponse&& response);
  void onBranchTimeout(std::uint64_t relay_key);
  void cancelOtherBranches(Relay& relay, std::size_t keep);
  void finishForking(Relay& relay);
  void ackAndBye(Relay& relay, std::size_t index, const sip::Message& response);
  // Sends the relay's request (relay.out) to `dest` with that Request-URI and Route set: a new
  // client transaction, or nullopt (the reason answered already when `answer_errors`).
  struct Sent {
    txn::ClientTransactionId id;
    std::string contact;  // sipedge's Contact in it ("" when the method has none)
  };
  std::optional<Sent> sendRequest(Relay& relay, const transport::Destination& dest,
                                  std::string_view ruri, const std::vector<std::string>& routes);

  // new requests
  void handleOutOfDialog(txn::ServerTransactionId id, transport::Inbound&& in);
  void inbound(txn::ServerTransactionId id, std::unique_ptr<Relay> relay);
  void outbound(txn::ServerTransactionId id, std::unique_ptr<Relay> relay);
  void lookupAndRelay(txn::ServerTransactionId id, std::unique_ptr<Relay> relay,
                      identity::Direction direction, const identity::Aor& aor);
  void mapped(std::uint64_t relay_key, identity::Answer answer);
  // Forgets a relay (and with `end_dialog`, the dialog it was setting up).
  void dropRelay(Relay& relay, bool end_dialog);
  void sendFirst(Relay& relay);
  void tryNextTarget(Relay& relay);
  // The dialog's server-side leg gets sipedge's Contact toward the requester (once).
  void setServerContact(Relay& relay);
  void onAttemptTimeout(std::uint64_t relay_key);
  void resolvePartner(Relay& relay, const std::string& domain);

  // in-dialog
  void handleInDialog(txn::ServerTransactionId id, transport::Inbound&& in, Dialog& dialog,
                      bool from_external);
  void relayInDialog(txn::ServerTransactionId id, transport::Inbound&& in, Dialog& dialog,
                     bool from_external, std::optional<std::string> refer_to);

  // responses
  void relayResponse(Relay& relay, txn::ClientResponse&& response);
  void answer(Relay& relay, int status, std::string_view reason = {},
              std::vector<std::pair<std::string, std::string>> extra = {});
  void reject(txn::ServerTransactionId id, const sip::Message& request, int status,
              std::string_view reason = {}, std::string_view extra_name = {},
              std::string_view extra_value = {});

  // dialogs
  Dialog* findDialog(std::string_view call_id, std::string_view local_tag);
  void endDialog(std::uint64_t id);
  void hangUp(Dialog& dialog);
  void ackOtherLeg(Dialog& dialog, bool to_external, const sip::Message& ack);
  // The start of a request sipedge itself sends on a leg (ACK, BYE): request line, a new Via,
  // Max-Forwards, the route set, From, To, Call-ID and CSeq; nullopt with no socket for it.
  std::optional<std::string> requestHead(const Leg& leg, std::string_view method,
                                         std::uint32_t cseq);
  // A request sipedge itself sends on a leg with a dialog (BYE, the idle check's OPTIONS), with
  // the leg's next CSeq: its client transaction, or nullopt (no dialog on that leg yet, no socket).
  std::optional<txn::ClientTransactionId> sendOnLeg(Leg& leg, std::string_view method);
  // The same with a given CSeq and no body.
  std::optional<txn::ClientTransactionId> sendInDialog(const Leg& leg, std::string_view method,
                                                       std::uint32_t cseq);
  // A head with a new branch and its Via through `via`; the head of a request on `leg` (nullopt
  // with no socket toward it).
  detail::RequestHead newHead(const transport::ViaAddress& via);
  std::optional<detail::RequestHead> legHead(const Leg& leg, std::string_view method,
                                             std::uint32_t cseq);
  void retransmit2xx(std::uint64_t dialog_id);
  void armSessionTimer(Dialog& dialog, const sip::Message& response);

  // pings and sweeps
  void ping();
  // Ends the dialogs past max_dialog_lifetime and probes the idle ones (idle_check).
  void sweepDialogs();
  Duration dialogSweepInterval() const;
  void probeIdle(Dialog& dialog);
  void onProbeResponse(std::uint64_t dialog_id, const txn::ClientResponse& response);

  std::uint64_t nextKey() { return ++keys_; }
  const HeaderRules& rulesToward(bool external) const {
    return external ? settings_.to_partners : settings_.to_inside;
  }
  txn::Layer& layer() { return layer_fn_(); }

  Settings settings_;
  std::function<txn::Layer&()> layer_fn_;
  transport::Sender& sender_;
  TimerFactory& timers_;
  Clock& clock_;
  Random& random_;
  identity::Directory& directory_;
  dns::Resolver* resolver_;
  NextHopSet next_hops_;

  std::uint64_t keys_ = 0;
  std::unordered_map<std::uint64_t, std::unique_ptr<Relay>> relays_;  // by relay key
  std::unordered_map<std::uint64_t, std::uint64_t> by_server_;        // server txn -> relay
  std::unordered_map<std::uint64_t, std::uint64_t> by_client_;        // client txn -> relay
  std::unordered_map<std::uint64_t, std::unique_ptr<Dialog>> dialogs_;
  // sipedge's local tags (the legs' and a forked call's per-branch tags; minted unique per worker)
  // -> dialog. findDialog checks the Call-ID of the leg the tag belongs to.
  StringMap<std::uint64_t> dialog_index_;
  std::unordered_map<std::uint64_t, std::size_t> pings_;  // client txn -> next hop
  TimerPtr ping_timer_;
  TimerPtr dialog_sweep_;
  std::unordered_map<std::uint64_t, std::uint64_t> probes_;  // idle check: client txn -> dialog
  std::vector<std::unique_ptr<Dialog>> graveyard_;  // ended dialogs, freed after the dispatch
  TimerPtr sweep_timer_;
  Stats stats_;
  std::shared_ptr<const policy::Policy> policy_;
  struct FederationSrv {
    std::vector<std::string> ips;  // empty: the domain has no usable record
    MonoTime expires{};
    std::vector<std::pair<txn::ServerTransactionId, transport::Inbound>> waiting;
    dns::PendingQueryPtr query;  // while looking up
  };
  std::unordered_map<std::string, FederationSrv> federation_srv_;  // by domain
  std::string decision_prefix_;  // "<run>-<worker>-": decision ids are this plus a counter
  std::uint64_t decisions_made_ = 0;
  std::shared_ptr<B2bua*> alive_;  // directory and DNS callbacks hold a weak_ptr to it
};

}  // namespace sipedge::b2bua
