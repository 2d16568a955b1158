#pragma once

// The B2BUA's per-worker state (private to src/b2bua): legs, dialogs and relays, and the small
// helpers b2bua.cc, register.cc and forking.cc share.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/b2bua/b2bua.h"
#include "sipedge/identity/directory.h"
#include "sipedge/sip/message.h"

namespace sipedge::b2bua {

using transport::Destination;
using transport::Inbound;
using transport::Side;
using txn::ClientTransactionId;
using txn::ServerTransactionId;

// One side of a dialog, seen from sipedge: what it needs to send requests on that leg.
struct B2bua::Leg {
  bool external = false;  // the peer is a partner
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  std::string local_party;        // name-addr without tag that sipedge is on this leg
  std::string remote_party;       // the peer's name-addr without tag
  std::uint32_t local_cseq = 0;   // the last CSeq sipedge sent
  std::uint32_t remote_cseq = 0;  // the last CSeq the peer sent
  std::uint32_t invite_cseq = 0;  // the CSeq of the last INVITE on this leg (RAck, ACK)
  std::string remote_target;      // the peer's Contact URI
  std::vector<std::string> route_set;
  Destination destination;  // where in-dialog requests go
  std::string contact;      // sipedge's Contact on this leg
};

struct B2bua::Dialog {
  enum class Kind : std::uint8_t { Invite, Subscription };
  std::uint64_t id = 0;
  Kind kind = Kind::Invite;
  Leg ext;
  Leg in;
  bool confirmed = false;
  bool terminating = false;
  std::uint64_t initial_relay = 0;  // while the dialog-creating request is pending
  // A 2xx to an INVITE that sipedge retransmits until the ACK (RFC 3261 13.3.1.4).
  struct Pending2xx {
    ServerTransactionId server;
    std::string response;  // as sent (built by sip::responseText); sent again as it is
    int status = 200;
    std::string to_tag;
    bool to_external = false;
    std::uint32_t cseq = 0;
    Duration interval{};
    Duration elapsed{};
  };
  std::unique_ptr<Pending2xx> pending_2xx;  // held only while it waits
  TimerPtr retransmit_timer;
  // The ACK sipedge sent on a leg for its last 2xx, re-sent when that 2xx is retransmitted. Only
  // an ACK with a body (an SDP answer) is kept as text; one without is rebuilt from the leg.
  std::string last_ack;
  std::uint32_t last_ack_cseq = 0;
  bool last_ack_external = false;
  // The partner's domain (inbound: the From host; outbound: the target domain): in-dialog
  // requests over TLS must come from a certificate that covers it.
  std::string partner_domain;
  bool strip_trust = true;
  // max_dialog_lifetime and idle_check: checked by one sweep per worker, not a timer each.
  MonoTime created{};
  MonoTime last_request{};  // the last request on either leg (or the probes sent)
  std::uint8_t probes = 0;  // idle-check OPTIONS waiting for an answer
  TimerPtr expiry;          // subscriptions
  TimerPtr session;         // RFC 4028: no refresh within Session-Expires ends the call

  // The To-tags of a forked request's early dialogs toward the requester, indexed besides the
  // legs' own tags while the dialog lives.
  std::vector<std::string> fork_tags;

  Leg& leg(bool external) { return external ? ext : in; }
};

// A request relayed from a server transaction on one leg to client transactions on the other.
struct B2bua::Relay {
  explicit Relay(sip::Message m) : request(std::move(m)) {}
  std::uint64_t key = 0;
  ServerTransactionId server;
  std::optional<ClientTransactionId> client;
  sip::Message request;  // as received: responses to it are built from it
  bool from_external = false;
  std::uint64_t dialog = 0;
  bool creates_dialog = false;
  std::string server_tag;  // To-tag of sipedge's responses on the server side
  // The request to send, rendered per target (Via and Contact depend on the listener used).
  struct Outgoing {
    std::string method;
    std::string ruri;
    std::string from;  // with tag
    std::string to;    // with tag when in a dialog
    std::string call_id;
    std::uint32_t cseq = 0;
    std::uint32_t max_forwards = 70;
    bool contact = false;
    std::vector<std::string> routes;
    std::string headers;  // rendered "Name: value\r\n" lines that pass
    std::string body;
  } out;
  std::vector<Destination> targets;
  std::vector<std::size_t> hops;  // next-hop index per target (inbound), else empty
  std::size_t attempt = 0;        // index into targets of the current try
  bool got_provisional = false;
  bool cancelled = false;
  bool answered = false;  // a final response went to the server side
  std::string partner_domain;
  // The policy's allow decision, logged once the directory has answered (with the mapped
  // identity) or when the relay ends before that.
  std::unique_ptr<policy::DecisionRecord> decision;
  bool strip_trust = true;  // inbound: P-Asserted-Identity, Privacy, ... from the partner dropped
  dns::PendingQueryPtr dns;
  Destination back;        // where requests to the requester go (its leg's destination)
  TimerPtr attempt_timer;  // no response at all from this target in time: the next one
  // Forking (issue 6): one branch per registered contact of the target, all at once or one by
  // one by q. Empty: the request goes to the next hops or a partner (targets above).
  struct Branch {
    Destination destination;
    std::string ruri;                 // the contact
    std::vector<std::string> routes;  // the binding's Path
    std::optional<ClientTransactionId> client;
    std::string tag;      // the To-tag the requester sees on this branch's responses
    std::string contact;  // sipedge's Contact toward this branch
    bool started = false;
    bool done = false;       // its final response came
    bool abandoned = false;  // no longer waited for (cancelled, or silent past its timeout); a
                             // late 2xx still comes here and is ACKed and BYEd
    bool provisional = false;
  };
  std::vector<Branch> branches;
  bool redirect = false;  // answer with the targets (3xx) instead of relaying (issue 6)
  bool sequential = false;
  std::unique_ptr<txn::ClientResponse> best;  // the best failure so far (RFC 3261 16.7)
  std::string best_tag;                       // ... and its branch's tag
  bool won = false;                           // a branch's 2xx went to the requester
};

namespace detail {

std::string_view transportToken(transport::Transport t);
// sipedge's Contact for a request or response sent through `via`'s listener.
std::string contactFor(const transport::ViaAddress& via);
// "display <uri>" without tag or other header parameters.
std::string partyOf(const sip::NameAddr& na);
std::string partyWithUri(const sip::NameAddr& na, std::string_view uri);
std::string tagged(const std::string& party, const std::string& tag);
// The head of a request sipedge writes (request line, its one Via, Max-Forwards, the route set,
// From, To, Call-ID, CSeq), from values it holds. The same values are what the transaction layer
// keeps of the request (txn::RequestParts), so the request goes to the layer as text, unparsed
// (Layer::requestText). Every value comes from a parsed message, the configuration or a checked
// directory answer (identity::parseAor, parseLdapTarget): none can break a header.
struct RequestHead {
  std::string_view method;
  std::string_view ruri;
  std::string via;     // the via-parm: "SIP/2.0/UDP host:port;branch=z9hG4bK...;rport"
  std::string branch;  // its branch
  std::uint32_t max_forwards = 70;
  const std::vector<std::string>* routes = nullptr;  // null: none
  std::string from;                                  // header values, tags included
  std::string to;
  std::string_view call_id;
  std::uint32_t cseq = 0;
};
std::string viaParm(const transport::ViaAddress& via, std::string_view branch);
// Appends the head (plain appends: fmt's format parsing showed in call-load profiles).
void appendRequestHead(std::string& out, const RequestHead& head);
std::string headText(const RequestHead& head);
// The values as the transaction layer keeps them (via, from and to are moved out of `head`).
txn::RequestParts takeParts(RequestHead& head);
void appendContentLength(std::string& out, std::size_t length);  // ends the header section
bool isDialogCreating(sip::Method m);
bool isTargetRefresh(sip::Method m);
// The route set of a dialog from the Record-Route of the message that set it up: in order for
// the UAS, reversed for the UAC (RFC 3261 12.1).
std::vector<std::string> routeSet(const sip::Message& m, bool reverse);
std::optional<std::string> contactUri(const sip::Message& m);
std::optional<identity::Aor> aorOf(const sip::Uri& uri);

}  // namespace detail
}  // namespace sipedge::b2bua
