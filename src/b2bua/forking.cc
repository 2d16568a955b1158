// Forking (issue 6, RFC 3261 16.6-16.7 as a B2BUA applies them): a request for a user with
// several registered contacts goes to all of them at once (parallel) or one by one by q
// (sequential, each branch given routing.branch_timeout).
//
// - Every branch is a client transaction of the same outgoing request (one Call-ID and From-tag
//   on the inside leg), sent to the contact (or its first Path hop).
// - Provisional responses reach the requester with one To-tag per branch (early dialogs); the
//   dialog's inside leg follows the branch that spoke last.
// - The first 2xx wins: the requester gets it (with that branch's tag) and every other branch is
//   cancelled; a later 2xx from another branch is acknowledged and hung up (ackAndBye).
// - A 6xx stops the search: the pending branches are cancelled and no new one starts.
// - Otherwise, when no branch is left to wait for, the best failure goes back (16.7: 6xx, then
//   the lowest class, with 408 and 487 last among the 4xx). No response at all: 480.
// - A branch given up (cancelled, or sequential and silent past branch_timeout) is "abandoned":
//   the search no longer waits for it, but its transaction runs on (the CANCEL goes out once it
//   sends a provisional; silence ends in timer B), so that a late 2xx still reaches the relay.
//   If the requester has its answer by then, that 2xx is ACKed and BYEd (multiple 2xx, RFC 3261
//   16.7 point 4 as a B2BUA does it); otherwise it wins like any other.
// - The relay lives until every branch has ended.

#include <algorithm>

#include "sipedge/b2bua/b2bua.h"
#include "sipedge/b2bua/ids.h"
#include "sipedge/base/strings.h"
#include "sipedge/sip/uri.h"
#include "state.h"

namespace sipedge::b2bua {

using namespace detail;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace {

constexpr std::size_t kNoBranch = static_cast<std::size_t>(-1);

// Lower is better (RFC 3261 16.7 step 6).
int rank(int status) {
  if (status >= 600) {
    return 0;
  }
  if (status >= 300 && status < 400) {
    return 1;
  }
  if (status >= 400 && status < 500) {
    return status == 408 || status == 487 ? 3 : 2;
  }
  return 4;
}

// Where a binding is reached: its first Path hop, else its contact; a host name there (not
// resolved here) falls back to the address the REGISTER came from.
std::optional<Destination> destinationOf(const location::Binding& b) {
  std::string_view hop = b.contact;
  if (!b.path.empty()) {
    hop = b.path.front();
    const std::size_t open = hop.find('<');
    const std::size_t close = hop.find('>');
    if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
      hop = hop.substr(open + 1, close - open - 1);
    }
  }
  auto uri = sip::parseUri(hop);
  if (!uri || !uri->isSip()) {
    return std::nullopt;
  }
  Destination d;
  d.side = b.external ? Side::External : Side::Internal;
  d.endpoint.transport = transport::Transport::Udp;
  if (auto t = uri->param("transport")) {
    if (iequals(*t, "tcp")) {
      d.endpoint.transport = transport::Transport::Tcp;
    } else if (iequals(*t, "tls")) {
      d.endpoint.transport = transport::Transport::Tls;
    }
  }
  if (uri->scheme == sip::UriScheme::Sips) {
    d.endpoint.transport = transport::Transport::Tls;
  }
  const std::uint16_t port =
      uri->port ? *uri->port : (d.endpoint.transport == transport::Transport::Tls ? 5061 : 5060);
  std::string_view host = uri->host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (auto ip = transport::Address::parseIp(host, port)) {
    d.endpoint.address = *ip;
    return d;
  }
  // "udp:127.0.0.1:5060" as the registrar stored it.
  const std::string_view received = b.received;
  const std::size_t colon = received.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  auto source = transport::Address::parseHostPort(received.substr(colon + 1));
  if (!source) {
    return std::nullopt;
  }
  d.endpoint.address = *source;
  return d;
}

// Its transaction has not ended (the relay must stay).
bool pending(const B2bua::Relay::Branch& b) {
  return b.started && !b.done;
}

// The search waits for it.
bool active(const B2bua::Relay::Branch& b) {
  return pending(b) && !b.abandoned;
}

}  // namespace

bool B2bua::addBranches(Relay& relay, const std::vector<location::Binding>& bindings) {
  for (const location::Binding& b : bindings) {
    auto dest = destinationOf(b);
    if (!dest) {
      continue;
    }
    Relay::Branch branch;
    branch.destination = *dest;
    branch.ruri = b.contact;
    branch.routes = b.path;
    branch.tag = relay.branches.empty() ? relay.server_tag : mintTag(settings_.worker, random_);
    relay.branches.push_back(std::move(branch));
  }
  if (relay.branches.empty()) {
    return false;
  }
  relay.sequential =
      settings_.routing.fork == config::ForkMode::Sequential && relay.branches.size() > 1;
  if (relay.branches.size() > 1) {
    ++stats_.forked;
    if (relay.dialog != 0) {
      auto dit = dialogs_.find(relay.dialog);
      if (dit != dialogs_.end()) {
        Dialog& d = *dit->second;
        // Every branch's tag, the first one (the server leg's own) included: the winner's
        // becomes the leg's, and endDialog erases these besides the legs' tags.
        for (const Relay::Branch& branch : relay.branches) {
          d.fork_tags.push_back(branch.tag);
          dialog_index_[branch.tag] = d.id;
        }
      }
    }
  }
  return true;
}

void B2bua::startBranch(Relay& relay, std::size_t index) {
  Relay::Branch& b = relay.branches[index];
  b.started = true;
  auto sent = sendRequest(relay, b.destination, b.ruri, b.routes);
  if (!sent) {
    b.done = true;
    return;
  }
  ++stats_.branches;
  b.client = sent->id;
  b.contact = sent->contact;
  relay.client = sent->id;
  setServerContact(relay);
  if (relay.sequential) {
    const std::uint64_t key = relay.key;
    if (!relay.attempt_timer) {
      relay.attempt_timer = timers_.createTimer([this, key] { onBranchTimeout(key); });
    }
    relay.attempt_timer->enable(settings_.routing.branch_timeout);
  }
}

// Starts the next branch that can be sent (sequential: one; parallel: all); when nothing is
// pending any more, ends the search.
void B2bua::startBranches(Relay& relay) {
  const std::uint64_t key = relay.key;
  for (std::size_t i = 0; i < relay.branches.size(); ++i) {
    if (relay.answered || relay.cancelled) {
      break;  // (sendRequest answered 500, or the requester is gone: nothing more to start)
    }
    if (relay.branches[i].started) {
      continue;
    }
    startBranch(relay, i);
    if (relay.sequential && active(relay.branches[i])) {
      return;
    }
  }
  if (relays_.count(key) != 0 &&
      std::none_of(relay.branches.begin(), relay.branches.end(), active)) {
    finishForking(relay);
  }
}

void B2bua::onBranchResponse(Relay& relay, std::size_t index, txn::ClientResponse&& response) {
  Relay::Branch& b = relay.branches[index];
  const sip::Message& m = response.message();
  const int status = m.statusCode();
  if (status == 100 || b.done) {
    return;
  }
  Dialog* dialog = nullptr;
  if (relay.dialog != 0) {
    auto dit = dialogs_.find(relay.dialog);
    dialog = dit == dialogs_.end() ? nullptr : dit->second.get();
  }
  if (status < 200) {
    b.provisional = true;
    if (b.abandoned || relay.answered || relay.cancelled) {
      return;  // (a cancelled branch's CANCEL goes out now, sent by the layer)
    }
    relay.got_provisional = true;
    if (dialog != nullptr && relay.creates_dialog) {
      Leg& leg = dialog->leg(!relay.from_external);
      leg.destination = b.destination;
      leg.contact = b.contact;
    }
    relay.server_tag = b.tag;
    relayResponse(relay, std::move(response));
    return;
  }
  const bool was_active = !b.abandoned;
  b.done = true;
  by_client_.erase(b.client->value);
  if (relay.sequential && was_active && relay.attempt_timer) {
    relay.attempt_timer->disable();
  }
  const std::uint64_t key = relay.key;
  if (status < 300) {
    if (relay.answered || relay.cancelled) {
      ackAndBye(relay, index, m);  // a second 2xx, or one that crossed the CANCEL
    } else {
      relay.won = true;
      if (dialog != nullptr && relay.creates_dialog) {
        Leg& leg = dialog->leg(!relay.from_external);
        leg.destination = b.destination;
        leg.contact = b.contact;
        dialog->leg(relay.from_external).local_tag = b.tag;
      }
      relay.server_tag = b.tag;
      cancelOtherBranches(relay, index);
      relayResponse(relay, std::move(response));  // keeps the relay while branches are pending
    }
  } else if (!relay.answered && !relay.cancelled) {
    if (!relay.best || rank(status) < rank(relay.best->message().statusCode())) {
      relay.best = std::make_unique<txn::ClientResponse>(std::move(response));
      relay.best_tag = b.tag;
    }
    if (status >= 600) {
      cancelOtherBranches(relay, kNoBranch);  // 16.7 step 5: no new branch either
    }
  }
  auto it = relays_.find(key);
  if (it == relays_.end()) {
    return;
  }
  if (!relay.answered && !relay.cancelled && relay.sequential &&
      (!relay.best || relay.best->message().statusCode() < 600)) {
    startBranches(relay);
    return;
  }
  if (std::none_of(relay.branches.begin(), relay.branches.end(), active)) {
    finishForking(relay);
  }
}

void B2bua::onBranchTimeout(std::uint64_t relay_key) {
  auto it = relays_.find(relay_key);
  if (it == relays_.end()) {
    return;
  }
  Relay& relay = *it->second;
  for (Relay::Branch& b : relay.branches) {
    if (!active(b)) {
      continue;
    }
    (void)layer().cancel(*b.client);
    if (b.provisional) {
      return;  // its 487 (or a 2xx) ends it and starts the next one
    }
    // Not a word from it: go on; its transaction runs on for a late answer.
    b.abandoned = true;
  }
  startBranches(relay);
}

void B2bua::cancelOtherBranches(Relay& relay, std::size_t keep) {
  for (std::size_t i = 0; i < relay.branches.size(); ++i) {
    Relay::Branch& b = relay.branches[i];
    if (i == keep) {
      continue;
    }
    if (!b.started) {
      b.started = true;  // never to be sent
      b.done = true;
      continue;
    }
    if (b.done) {
      continue;
    }
    // Its final response (487, a 2xx that crossed the CANCEL, or timer B's 408 when it never
    // answers: the CANCEL waits for a provisional) still comes.
    (void)layer().cancel(*b.client);
    b.abandoned = true;
  }
}

void B2bua::cancelForking(Relay& relay) {
  cancelOtherBranches(relay, kNoBranch);
  if (std::none_of(relay.branches.begin(), relay.branches.end(), pending)) {
    finishForking(relay);
  }
}

bool B2bua::branchesPending(const Relay& relay) {
  return std::any_of(relay.branches.begin(), relay.branches.end(), pending);
}

void B2bua::finishForking(Relay& relay) {
  if (relay.attempt_timer) {
    relay.attempt_timer->disable();
  }
  if (relay.answered || relay.cancelled) {
    // The requester has its answer; a cancelled call's dialog ends with its last branch.
    if (!branchesPending(relay)) {
      dropRelay(relay, !relay.won);
    }
    return;
  }
  if (relay.best) {
    relay.server_tag = relay.best_tag;  // the To-tag of the branch that gave it
    std::unique_ptr<txn::ClientResponse> best = std::move(relay.best);
    relayResponse(relay, std::move(*best));  // ends the dialog and the relay
    return;
  }
  answer(relay, 480);
  if (branchesPending(relay)) {
    endDialog(relay.dialog);  // the relay waits for the abandoned branches' ends
    return;
  }
  dropRelay(relay, true);
}

void B2bua::ackAndBye(Relay& relay, std::size_t index, const sip::Message& response) {
  if (relay.request.method() != sip::Method::Invite) {
    return;
  }
  const Relay::Branch& b = relay.branches[index];
  Leg leg;
  leg.call_id = relay.out.call_id;
  leg.local_party = relay.out.from;  // with its tag
  leg.remote_party = relay.out.to;
  leg.remote_tag = response.to() != nullptr ? std::string(response.to()->tag) : std::string();
  leg.remote_target = contactUri(response).value_or(b.ruri);
  leg.route_set = routeSet(response, true);
  leg.destination = b.destination;
  if (auto ack = requestHead(leg, "ACK", relay.out.cseq)) {
    appendContentLength(*ack, 0);
    (void)layer().sendAckText(std::move(*ack), leg.destination);  // built from parsed values
  }
  (void)sendInDialog(leg, "BYE", relay.out.cseq + 1);
}

}  // namespace sipedge::b2bua
