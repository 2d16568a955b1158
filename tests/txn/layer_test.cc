// Scenarios for txn::Layer (reSIProcate's style): inject wire / expect wire / inject TU / expect
// TU / advance time, with a manual clock, fake timers, a recording sender and a recording TU.
// RFC 3261 defaults: T1 = 500 ms, T2 = 4 s, T4 = 5 s, 64*T1 = 32 s. Every scenario ends with an
// empty table and every transaction freed (TearDown).

#include "sipedge/txn/layer.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "../support/fake_random.h"
#include "../support/fake_timers.h"
#include "../support/manual_clock.h"
#include "../support/messages.h"
#include "../support/recording_sender.h"

namespace sipedge::txn {
namespace {

using namespace std::chrono_literals;
using transport::Transport;
using Events = std::vector<std::string>;
using Kind = LayerError::Kind;

// ---- messages ----

transport::Endpoint endpoint(std::string_view host_port, Transport t) {
  return transport::Endpoint{*transport::Address::parseHostPort(host_port), t};
}
const transport::Endpoint kPeerUdp = endpoint("198.51.100.7:5070", Transport::Udp);
const transport::Endpoint kPeerTcp = endpoint("198.51.100.7:40123", Transport::Tcp);

transport::Destination destination(Transport t) {
  transport::Destination d;
  d.endpoint = endpoint("203.0.113.5:5060", t);
  return d;
}

sip::Message parse(const std::string& text) {
  auto m = sip::parseMessage(text);
  EXPECT_TRUE(m.has_value()) << m.error().describe() << "\n" << text;
  return std::move(*m);
}

// A request as the TU builds it: our Via on top (a proxy's Via below it), two Routes.
sip::Message outRequest(std::string_view method, Transport t = Transport::Udp,
                        std::string_view body = "") {
  return parse(testing::crlf(
      std::string(method) + " sip:bob@example.com SIP/2.0\nVia: SIP/2.0/" +
      std::string(transport::transportName(t)) +
      " 192.0.2.10:5060;branch=z9hG4bKc1;rport\nVia: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKup\n"
      "Max-Forwards: 70\nRoute: <sip:p1.example.com;lr>\nRoute: <sip:p2.example.com;lr>\n"
      "From: <sip:alice@example.net>;tag=a1\nTo: <sip:bob@example.com>\n"
      "Call-ID: call-1@192.0.2.10\nCSeq: 10 " +
      std::string(method) + "\nContent-Length: " + std::to_string(body.size()) + "\n\n" +
      std::string(body)));
}

// The CANCEL the layer builds for outRequest("INVITE", t) (RFC 3261 9.1).
std::string cancelOfOutRequest(Transport t) {
  return testing::crlf("CANCEL sip:bob@example.com SIP/2.0\nVia: SIP/2.0/" +
                       std::string(transport::transportName(t)) +
                       " 192.0.2.10:5060;branch=z9hG4bKc1;rport\nMax-Forwards: 70\n"
                       "Route: <sip:p1.example.com;lr>\nRoute: <sip:p2.example.com;lr>\n"
                       "From: <sip:alice@example.net>;tag=a1\nTo: <sip:bob@example.com>\n"
                       "Call-ID: call-1@192.0.2.10\nCSeq: 10 CANCEL\nContent-Length: 0\n\n");
}

// A request from a partner.
std::string wireRequest(
    std::string_view method,
    std::string_view via = "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport",
    std::string_view extra = "", std::string_view to_tag = "") {
  return testing::crlf(std::string(method) +
                       " sip:carol@example.com SIP/2.0\nVia: " + std::string(via) +
                       "\nMax-Forwards: 70\nFrom: <sip:dave@partner.example.org>;tag=p1\n"
                       "To: <sip:carol@example.com>" +
                       (to_tag.empty() ? "" : ";tag=" + std::string(to_tag)) +
                       "\nCall-ID: in-1@partner.example.org\nCSeq: 5 " + std::string(method) +
                       "\n" + std::string(extra) + "Content-Length: 0\n\n");
}

// A response to `request` (from the peer, or the TU's answer): its Vias, From, Call-ID, CSeq, and
// its To with `to_tag`.
std::string responseTo(const sip::Message& request, int status, std::string_view to_tag = "") {
  std::string out = "SIP/2.0 " + std::to_string(status) + " Reason\r\n";
  for (const sip::Header& h : request.headers()) {
    using sip::HeaderId;
    if (h.id == HeaderId::Via || h.id == HeaderId::From || h.id == HeaderId::CallId ||
        h.id == HeaderId::CSeq) {
      out += std::string(h.name) + ": " + std::string(h.value) + "\r\n";
    } else if (h.id == HeaderId::To) {
      out += "To: " + std::string(h.value) + (to_tag.empty() ? "" : ";tag=" + std::string(to_tag)) +
             "\r\n";
    }
  }
  return out + "Content-Length: 0\r\n\r\n";
}

std::string header(const sip::Message& m, std::string_view name) {
  const sip::Header* h = m.find(name);
  return h != nullptr ? std::string(h->value) : "<none>";
}

// ---- the recording TU ----

class RecordingUser final : public TransactionUser {
 public:
  void onRequest(ServerTransactionId id, transport::Inbound&& in) override {
    events.push_back("request " + std::string(in.message.methodText()));
    requests.emplace_back(id, std::move(in));
    if (on_request) {
      on_request(id, requests.back().second.message);
    }
  }
  void onResponse(ClientTransactionId id, ClientResponse&& r) override {
    std::string e = "response " + std::to_string(r.message().statusCode());
    if (r.origin != ResponseOrigin::Peer) {
      e += " " + std::string(responseOriginName(r.origin));
    }
    events.push_back(e);
    responses.emplace_back(id, std::move(r));
  }
  void onAck(transport::Inbound&& ack) override {
    events.push_back("ack");
    acks.push_back(std::move(ack));
  }
  void onStrayResponse(transport::Inbound&& r) override {
    events.push_back("stray " + std::to_string(r.message.statusCode()));
  }
  void onCancelled(ServerTransactionId invite, const transport::Inbound&) override {
    events.push_back("cancelled");
    if (on_cancelled) {
      on_cancelled(invite);
    }
  }
  void onTimerC(ClientTransactionId) override { events.push_back("timer-c"); }
  void onServerFailure(ServerTransactionId, ServerFailure f) override {
    events.push_back("failure " + std::string(serverFailureName(f)));
  }

  Events take() { return std::exchange(events, {}); }

  Events events;
  std::deque<std::pair<ServerTransactionId, transport::Inbound>> requests;
  std::deque<std::pair<ClientTransactionId, ClientResponse>> responses;
  std::deque<transport::Inbound> acks;
  std::function<void(ServerTransactionId, const sip::Message&)> on_request;
  std::function<void(ServerTransactionId)> on_cancelled;
};

// ---- the fixture ----

class LayerTest : public ::testing::Test {
 protected:
  LayerTest() { make(); }

  void make() {
    layer.reset();
    layer = std::make_unique<Layer>(settings, sender, timers, clock, random, user);
  }

  void TearDown() override {
    clock.advance(10min);
    EXPECT_EQ(layer->transactionCount(), 0u);
    EXPECT_EQ(layer->counters().client_transactions, 0u);
    EXPECT_EQ(layer->counters().server_transactions, 0u);
    EXPECT_EQ(timers.liveTimers(), 1u) << "transactions not freed (the layer's own timer only)";
    EXPECT_EQ(timers.enabledTimers(), 0u);
  }

  void inject(const std::string& text, const transport::Endpoint& source = kPeerUdp,
              transport::Flow flow = {}) {
    layer->onMessage(transport::Inbound{
        parse(text), source, {}, transport::Side::External, flow, nullptr, clock.now()});
  }

  std::int64_t msOf(MonoTime t) const {
    return std::chrono::duration_cast<Duration>(t - t0).count();
  }
  std::int64_t now() const { return msOf(clock.now()); }

  // Takes every recorded send: start lines, or times.
  Events sentLines() {
    Events out;
    while (sender.pending() > 0) {
      out.push_back(sender.take().startLine());
    }
    return out;
  }
  std::vector<std::int64_t> sendTimes() {
    std::vector<std::int64_t> out;
    while (sender.pending() > 0) {
      out.push_back(msOf(sender.take().at));
    }
    return out;
  }

  const sip::Message& lastRequest() { return user.requests.back().second.message; }
  ServerTransactionId lastServerId() { return user.requests.back().first; }
  void answer(ServerTransactionId id, const sip::Message& request, int status,
              std::string_view tag = "s1") {
    ASSERT_TRUE(layer->respond(id, parse(responseTo(request, status, tag))));
  }

  testing::ManualClock clock;
  const MonoTime t0 = clock.now();
  testing::FakeTimers timers{clock};
  testing::RecordingSender sender{&clock};
  testing::FakeRandom random;
  RecordingUser user;
  LayerSettings settings;
  std::unique_ptr<Layer> layer;
};

// ---- non-INVITE client (RFC 3261 17.1.2) ----

TEST_F(LayerTest, NonInviteClientOverUdpRetransmitsThenTimesOut) {
  auto id = layer->request(outRequest("OPTIONS"), destination(Transport::Udp));
  ASSERT_TRUE(id) << id.error().describe();
  clock.advance(31999ms);
  // Timer E: 500, 1000, 2000, then every T2 = 4 s.
  EXPECT_EQ(sendTimes(), (std::vector<std::int64_t>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500,
                                                    23500, 27500, 31500}));
  EXPECT_EQ(user.take(), Events{});
  clock.advance(1ms);  // timer F = 64*T1
  EXPECT_EQ(user.take(), Events{"response 408 timeout"});
  const auto& [rid, r] = user.responses.back();
  EXPECT_EQ(rid, *id);
  // Built from the request: its top Via only, From, To, Call-ID, CSeq.
  EXPECT_EQ(r.message().reasonPhrase(), "Request Timeout");
  ASSERT_EQ(r.message().vias().size(), 1u);
  EXPECT_EQ(r.message().vias()[0].branch, "z9hG4bKc1");
  EXPECT_EQ(header(r.message(), "From"), "<sip:alice@example.net>;tag=a1");
  EXPECT_EQ(header(r.message(), "To"), "<sip:bob@example.com>");
  EXPECT_EQ(header(r.message(), "Call-ID"), "call-1@192.0.2.10");
  EXPECT_EQ(header(r.message(), "CSeq"), "10 OPTIONS");
  EXPECT_EQ(r.inbound.source, destination(Transport::Udp).endpoint);
  EXPECT_EQ(layer->counters().timeouts, 1u);
  EXPECT_EQ(layer->transactionCount(), 0u);
}

TEST_F(LayerTest, NonInviteClientOverTcpNeverRetransmits) {
  ASSERT_TRUE(layer->request(outRequest("OPTIONS", Transport::Tcp), destination(Transport::Tcp)));
  clock.advance(31999ms);
  EXPECT_EQ(sendTimes(), (std::vector<std::int64_t>{0}));
  EXPECT_EQ(user.take(), Events{});
  clock.advance(1ms);
  EXPECT_EQ(user.take(), Events{"response 408 timeout"});
}

TEST_F(LayerTest, NonInviteClientFinalResponseThenTimerK) {
  ASSERT_TRUE(layer->request(outRequest("OPTIONS"), destination(Transport::Udp)));
  const sip::Message sent = std::move(*sender.take().parsed);
  inject(responseTo(sent, 200, "b1"));
  EXPECT_EQ(user.take(), Events{"response 200"});
  inject(responseTo(sent, 200, "b1"));  // absorbed in Completed
  EXPECT_EQ(user.take(), Events{});
  EXPECT_EQ(layer->counters().retransmissions_absorbed, 1u);
  clock.advance(4999ms);
  EXPECT_EQ(layer->transactionCount(), 1u);
  clock.advance(1ms);  // timer K = T4
  EXPECT_EQ(layer->transactionCount(), 0u);
  EXPECT_EQ(sender.pending(), 0u);
}

// ---- INVITE client (17.1.1) ----

TEST_F(LayerTest, InviteClientNonSuccessFinalIsAckedByTheLayer) {
  auto id = layer->request(outRequest("INVITE"), destination(Transport::Udp));
  ASSERT_TRUE(id);
  clock.advance(3999ms);  // timer A doubles: 500, 1000, 2000
  EXPECT_EQ(sendTimes(), (std::vector<std::int64_t>{0, 500, 1500, 3500}));
  const sip::Message invite = outRequest("INVITE");
  inject(responseTo(invite, 180, "b2"));
  EXPECT_EQ(user.take(), Events{"response 180"});
  clock.advance(20s);
  EXPECT_EQ(sender.pending(), 0u);  // a provisional response stops timer A

  inject(responseTo(invite, 486, "b2"));
  EXPECT_EQ(user.take(), Events{"response 486"});
  ASSERT_EQ(sender.pending(), 1u);
  const auto ack = sender.take();
  EXPECT_EQ(ack.destination, destination(Transport::Udp));
  EXPECT_EQ(ack.bytes, testing::crlf("ACK sip:bob@example.com SIP/2.0\n"
                                     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport\n"
                                     "Max-Forwards: 70\n"
                                     "Route: <sip:p1.example.com;lr>\n"
                                     "Route: <sip:p2.example.com;lr>\n"
                                     "From: <sip:alice@example.net>;tag=a1\n"
                                     "To: <sip:bob@example.com>;tag=b2\n"
                                     "Call-ID: call-1@192.0.2.10\n"
                                     "CSeq: 10 ACK\n"
                                     "Content-Length: 0\n\n"));
  // A retransmitted final response is ACKed again and not passed up.
  inject(responseTo(invite, 486, "b2"));
  EXPECT_EQ(user.take(), Events{});
  ASSERT_EQ(sender.pending(), 1u);
  EXPECT_EQ(sender.take().bytes, ack.bytes);
  clock.advance(31999ms);
  EXPECT_EQ(layer->transactionCount(), 1u);
  clock.advance(1ms);  // timer D
  EXPECT_EQ(layer->transactionCount(), 0u);
}

TEST_F(LayerTest, InviteClientSuccessIsAcceptedAndRetransmissionsReachTheUser) {
  ASSERT_TRUE(layer->request(outRequest("INVITE"), destination(Transport::Udp)));
  sender.take();
  const sip::Message invite = outRequest("INVITE");
  inject(responseTo(invite, 200, "b2"));
  inject(responseTo(invite, 200, "b2"));  // RFC 6026: to the TU, which ACKs every 2xx
  EXPECT_EQ(user.take(), (Events{"response 200", "response 200"}));
  clock.advance(31999ms);
  EXPECT_EQ(sender.pending(), 0u);  // no ACK from the layer, no retransmission
  clock.advance(1ms);               // timer M
  EXPECT_EQ(layer->transactionCount(), 0u);
  inject(responseTo(invite, 200, "b2"));
  EXPECT_EQ(user.take(), Events{"stray 200"});

  // The TU sends the ACK for the 2xx itself, statelessly.
  ASSERT_TRUE(layer->sendAck(parse(testing::crlf("ACK sip:bob@192.0.2.99 SIP/2.0\n"
                                                 "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa2\n"
                                                 "Max-Forwards: 70\nFrom: <sip:a@x>;tag=1\n"
                                                 "To: <sip:b@y>;tag=2\nCall-ID: c\nCSeq: 10 ACK\n"
                                                 "Content-Length: 0\n\n")),
                             destination(Transport::Udp)));
  EXPECT_EQ(sentLines(), Events{"ACK sip:bob@192.0.2.99 SIP/2.0"});
  EXPECT_EQ(layer->sendAck(outRequest("INVITE"), destination(Transport::Udp)).error().kind,
            Kind::InvalidMessage);
}

TEST_F(LayerTest, ProxyTimerCCancelsTheInvite) {
  ASSERT_TRUE(layer->request(outRequest("INVITE", Transport::Tcp), destination(Transport::Tcp),
                             RequestOptions{.proxy_timer_c = true}));
  sender.take();
  const sip::Message invite = outRequest("INVITE", Transport::Tcp);
  clock.advance(1s);
  inject(responseTo(invite, 180, "b2"), kPeerTcp);  // resets timer C
  EXPECT_EQ(user.take(), Events{"response 180"});
  clock.advance(179999ms);
  EXPECT_EQ(user.take(), Events{});
  clock.advance(1ms);
  EXPECT_EQ(user.take(), Events{"timer-c"});
  ASSERT_EQ(sender.pending(), 1u);
  const auto cancel = sender.take();
  EXPECT_EQ(cancel.destination, destination(Transport::Tcp));
  EXPECT_EQ(cancel.bytes, cancelOfOutRequest(Transport::Tcp));
  inject(responseTo(cancel.message(), 200, "b2"), kPeerTcp);  // the CANCEL's own: not for the TU
  inject(responseTo(invite, 487, "b2"), kPeerTcp);
  EXPECT_EQ(user.take(), Events{"response 487"});
  EXPECT_EQ(sentLines(), Events{"ACK sip:bob@example.com SIP/2.0"});
  EXPECT_EQ(layer->transactionCount(), 0u);
}

TEST_F(LayerTest, CancelIsDeferredUntilAProvisionalResponse) {
  auto id = layer->request(outRequest("INVITE"), destination(Transport::Udp));
  ASSERT_TRUE(id);
  ASSERT_TRUE(layer->cancel(*id));
  clock.advance(400ms);
  EXPECT_EQ(sentLines(), Events{"INVITE sip:bob@example.com SIP/2.0"});  // 9.1: not yet
  const sip::Message invite = outRequest("INVITE");
  inject(responseTo(invite, 100));
  EXPECT_EQ(sentLines(), Events{"CANCEL sip:bob@example.com SIP/2.0"});
  clock.advance(500ms);  // the CANCEL retransmits on UDP (timer E); the INVITE does not
  EXPECT_EQ(sentLines(), Events{"CANCEL sip:bob@example.com SIP/2.0"});
  ASSERT_TRUE(layer->cancel(*id));  // twice: nothing more
  EXPECT_EQ(sender.pending(), 0u);
  inject(responseTo(outRequest("CANCEL"), 200, "b2"));
  inject(responseTo(invite, 487, "b2"));
  EXPECT_EQ(user.take(), (Events{"response 100", "response 487"}));
  EXPECT_EQ(sentLines(), Events{"ACK sip:bob@example.com SIP/2.0"});
}

TEST_F(LayerTest, CancelIsNeverSentAfterAFinalResponse) {
  auto id = layer->request(outRequest("INVITE"), destination(Transport::Udp));
  ASSERT_TRUE(id);
  ASSERT_TRUE(layer->cancel(*id));
  inject(responseTo(outRequest("INVITE"), 486, "b2"));
  EXPECT_EQ(sentLines(),
            (Events{"INVITE sip:bob@example.com SIP/2.0", "ACK sip:bob@example.com SIP/2.0"}));
  ASSERT_TRUE(layer->cancel(*id));
  clock.advance(40s);
  EXPECT_EQ(sender.pending(), 0u);
  EXPECT_EQ(user.take(), Events{"response 486"});
  EXPECT_EQ(layer->cancel(*id).error().kind, Kind::UnknownTransaction);
  auto options = layer->request(outRequest("OPTIONS"), destination(Transport::Tcp));
  ASSERT_TRUE(options);
  EXPECT_EQ(layer->cancel(*options).error().kind, Kind::NotAccepted);
}

TEST_F(LayerTest, UnansweredCancelEndsTheInviteAfter64T1) {
  auto id = layer->request(outRequest("INVITE", Transport::Tcp), destination(Transport::Tcp));
  ASSERT_TRUE(id);
  inject(responseTo(outRequest("INVITE"), 180, "b2"), kPeerTcp);
  ASSERT_TRUE(layer->cancel(*id));
  EXPECT_EQ(sentLines(),
            (Events{"INVITE sip:bob@example.com SIP/2.0", "CANCEL sip:bob@example.com SIP/2.0"}));
  clock.advance(31999ms);
  EXPECT_EQ(user.take(), Events{"response 180"});
  clock.advance(1ms);
  EXPECT_EQ(user.take(), Events{"response 408 timeout"});
  EXPECT_EQ(layer->transactionCount(), 0u);
}

// ---- transport errors (RFC 3261 8.1.3.1, 17.1.4) ----

TEST_F(LayerTest, SynchronousSendErrorIsA503AfterTheCallReturns) {
  sender.failNextSend({transport::SendError::Kind::NoListener, "no TCP listener"});
  auto id = layer->request(outRequest("OPTIONS", Transport::Tcp), destination(Transport::Tcp));
  ASSERT_TRUE(id);
  EXPECT_EQ(user.take(), Events{});  // never from inside the user's call
  EXPECT_EQ(layer->transactionCount(), 0u);
  clock.advance(0ms);
  EXPECT_EQ(user.take(), Events{"response 503 transport-error"});
  const ClientResponse& r = user.responses.back().second;
  EXPECT_EQ(user.responses.back().first, *id);
  EXPECT_EQ(r.message().reasonPhrase(), "Service Unavailable");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->kind, transport::SendError::Kind::NoListener);

  // A retransmission that fails at once is reported from the timer, at once.
  ASSERT_TRUE(layer->request(outRequest("OPTIONS"), destination(Transport::Udp)));
  sender.failNextSend({transport::SendError::Kind::Overloaded, {}});
  clock.advance(500ms);
  EXPECT_EQ(user.take(), Events{"response 503 transport-error"});
  EXPECT_EQ(layer->counters().transport_errors, 2u);
}

TEST_F(LayerTest, AsynchronousSendErrorIsA503) {
  sender.failNextSendLater({transport::SendError::Kind::TlsIdentity, "bob.example.com"});
  auto id = layer->request(outRequest("INVITE", Transport::Tls), destination(Transport::Tls));
  ASSERT_TRUE(id);
  EXPECT_EQ(sender.reportAsyncErrors(), 1u);
  EXPECT_EQ(user.take(), Events{"response 503 transport-error"});
  EXPECT_EQ(user.responses.back().second.error->detail, "bob.example.com");
  EXPECT_EQ(layer->transactionCount(), 0u);

  // An error reported after the layer is gone does nothing.
  sender.failNextSendLater({transport::SendError::Kind::Closed, {}});
  ASSERT_TRUE(layer->request(outRequest("OPTIONS", Transport::Tcp), destination(Transport::Tcp)));
  layer.reset();
  EXPECT_EQ(sender.reportAsyncErrors(), 1u);
  EXPECT_EQ(user.take(), Events{});
  make();
}

TEST_F(LayerTest, FailedAckEndsTheTransactionWithoutASecondFinal) {
  ASSERT_TRUE(layer->request(outRequest("INVITE"), destination(Transport::Udp)));
  sender.failNextSend({transport::SendError::Kind::Refused, {}});  // the ACK
  sender.take();
  inject(responseTo(outRequest("INVITE"), 603, "b2"));
  EXPECT_EQ(user.take(), Events{"response 603"});
  EXPECT_EQ(layer->transactionCount(), 0u);
  clock.advance(0ms);
  EXPECT_EQ(user.take(), Events{});
}

// ---- RFC 3261 18.1.1: too large for UDP ----

TEST_F(LayerTest, LargeUdpRequestSwitchesToTcp) {
  ASSERT_TRUE(layer->request(outRequest("MESSAGE", Transport::Udp, std::string(1400, 'x')),
                             destination(Transport::Udp)));
  ASSERT_EQ(sender.pending(), 1u);
  const auto sent = sender.take();
  EXPECT_EQ(sent.destination, destination(Transport::Tcp));
  ASSERT_EQ(sent.message().vias().size(), 2u);
  EXPECT_EQ(sent.message().vias()[0].text, "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKc1;rport");
  EXPECT_EQ(sent.message().vias()[1].text, "SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKup");
  EXPECT_EQ(layer->counters().switched_to_tcp, 1u);
  clock.advance(1s);
  EXPECT_EQ(sender.pending(), 0u);  // reliable now: no timer E
  inject(responseTo(sent.message(), 200, "b2"), kPeerTcp);
  EXPECT_EQ(user.take(), Events{"response 200"});

  // At the limit it stays on UDP; without a TCP listener too.
  const std::size_t small = outRequest("MESSAGE").serialize().size();
  settings.max_udp_request_bytes = small;
  make();
  ASSERT_TRUE(layer->request(outRequest("MESSAGE"), destination(Transport::Udp)));
  EXPECT_EQ(sender.take().destination, destination(Transport::Udp));
  inject(responseTo(outRequest("MESSAGE"), 200, "b2"));
  sender.via_fails = true;
  sip::Message big = outRequest("MESSAGE", Transport::Udp, "xy");
  big.removeTopVia();
  ASSERT_TRUE(big.pushVia("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc2;rport"));
  ASSERT_TRUE(layer->request(std::move(big), destination(Transport::Udp)));
  const auto unswitched = sender.take();
  EXPECT_EQ(unswitched.destination, destination(Transport::Udp));
  EXPECT_EQ(layer->counters().switched_to_tcp, 0u);
  inject(responseTo(unswitched.message(), 200, "b2"));
}

// What the B2BUA hands to requestText: outRequest's text and the values it was written from.
RequestParts partsOfOutRequest(std::string_view method) {
  RequestParts p;
  p.method = std::string(method);
  p.request_uri = "sip:bob@example.com";
  p.top_via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport";
  p.from = "<sip:alice@example.net>;tag=a1";
  p.to = "<sip:bob@example.com>";
  p.call_id = "call-1@192.0.2.10";
  p.cseq = 10;
  p.routes = {"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"};
  return p;
}

TEST_F(LayerTest, RequestTextIsSentAsWrittenAndCancelledFromItsParts) {
  const std::string text = outRequest("INVITE").serialize();
  RequestOptions options;
  options.proxy_timer_c = true;
  auto id = layer->requestText(text, partsOfOutRequest("INVITE"), "z9hG4bKc1",
                               destination(Transport::Udp), options);
  ASSERT_TRUE(id) << id.error().describe();
  ASSERT_EQ(sender.pending(), 1u);
  EXPECT_EQ(sender.take().bytes, text);
  clock.advance(500ms);  // timer A: the same bytes again
  ASSERT_EQ(sender.pending(), 1u);
  EXPECT_EQ(sender.take().bytes, text);
  // Responses match it by its branch and method.
  const sip::Message invite = outRequest("INVITE");
  inject(responseTo(invite, 180, "b2"));
  EXPECT_EQ(user.take(), Events{"response 180"});
  // CANCEL (9.1) from the parts: the Request-URI, top Via, Route set, From, To, Call-ID, CSeq.
  ASSERT_TRUE(layer->cancel(*id));
  ASSERT_EQ(sender.pending(), 1u);
  EXPECT_EQ(sender.take().bytes, cancelOfOutRequest(Transport::Udp));
  inject(responseTo(outRequest("CANCEL"), 200, "b2"));
  inject(responseTo(invite, 487, "b2"));
  EXPECT_EQ(user.take(), Events{"response 487"});
  EXPECT_EQ(sentLines(), Events{"ACK sip:bob@example.com SIP/2.0"});  // the layer's, from parts
}

TEST_F(LayerTest, RequestTextMisuseAndTheLargeUdpCase) {
  const std::string options_text = outRequest("OPTIONS").serialize();
  EXPECT_EQ(layer
                ->requestText(options_text, partsOfOutRequest("OPTIONS"), "1234",
                              destination(Transport::Udp))
                .error()
                .kind,
            Kind::NoBranch);
  EXPECT_EQ(layer
                ->requestText(outRequest("ACK").serialize(), partsOfOutRequest("ACK"), "z9hG4bKc1",
                              destination(Transport::Udp))
                .error()
                .kind,
            Kind::InvalidMessage);
  ASSERT_TRUE(layer->requestText(options_text, partsOfOutRequest("OPTIONS"), "z9hG4bKc1",
                                 destination(Transport::Udp)));
  EXPECT_EQ(layer
                ->requestText(options_text, partsOfOutRequest("OPTIONS"), "z9hG4bKc1",
                              destination(Transport::Udp))
                .error()
                .kind,
            Kind::Duplicate);
  ASSERT_EQ(sender.pending(), 1u);
  inject(responseTo(sender.take().message(), 200, "b2"));
  EXPECT_EQ(user.take(), Events{"response 200"});

  // Too large for UDP: parsed, and moved to TCP as request() does.
  const std::string big = outRequest("MESSAGE", Transport::Udp, std::string(1400, 'x')).serialize();
  ASSERT_TRUE(layer->requestText(big, partsOfOutRequest("MESSAGE"), "z9hG4bKc1",
                                 destination(Transport::Udp)));
  ASSERT_EQ(sender.pending(), 1u);
  const auto sent = sender.take();
  EXPECT_EQ(sent.destination, destination(Transport::Tcp));
  EXPECT_EQ(sent.message().vias()[0].text, "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKc1;rport");
  EXPECT_EQ(layer->counters().switched_to_tcp, 1u);
  inject(responseTo(sent.message(), 200, "b2"), kPeerTcp);
  EXPECT_EQ(user.take(), Events{"response 200"});
}

TEST_F(LayerTest, RequestMisuseIsAnError) {
  sip::Message no_cookie = outRequest("OPTIONS");
  no_cookie.removeTopVia();
  (void)no_cookie.pushVia("SIP/2.0/UDP 192.0.2.10;branch=1234");
  EXPECT_EQ(layer->request(std::move(no_cookie), destination(Transport::Udp)).error().kind,
            Kind::NoBranch);
  EXPECT_EQ(layer->request(outRequest("ACK"), destination(Transport::Udp)).error().kind,
            Kind::InvalidMessage);
  EXPECT_EQ(layer->request(parse(testing::kOk), destination(Transport::Udp)).error().kind,
            Kind::InvalidMessage);
  ASSERT_TRUE(layer->request(outRequest("OPTIONS", Transport::Tcp), destination(Transport::Tcp)));
  EXPECT_EQ(layer->request(outRequest("OPTIONS"), destination(Transport::Udp)).error().kind,
            Kind::Duplicate);
  inject(responseTo(outRequest("OPTIONS"), 200, "b2"), kPeerTcp);
  EXPECT_EQ(layer->respond(ServerTransactionId{12345}, parse(testing::kOk)).error().kind,
            Kind::UnknownTransaction);
}

// ---- INVITE server (17.2.1) ----

TEST_F(LayerTest, InviteServerTryingRetransmissionsTimerGAndAck) {
  inject(wireRequest("INVITE", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport",
                     "Timestamp: 54\n"));
  EXPECT_EQ(user.take(), Events{"request INVITE"});
  const ServerTransactionId id = lastServerId();
  clock.advance(199ms);
  EXPECT_EQ(sender.pending(), 0u);
  clock.advance(1ms);  // the TU has been silent for 200 ms
  ASSERT_EQ(sender.pending(), 1u);
  const auto trying = sender.take();
  EXPECT_EQ(trying.destination.endpoint, kPeerUdp);  // rport: the source port
  EXPECT_EQ(trying.bytes,
            testing::crlf("SIP/2.0 100 Trying\n"
                          "Via: SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport\n"
                          "From: <sip:dave@partner.example.org>;tag=p1\n"
                          "To: <sip:carol@example.com>\n"
                          "Call-ID: in-1@partner.example.org\n"
                          "CSeq: 5 INVITE\n"
                          "Timestamp: 54\n"
                          "Content-Length: 0\n\n"));
  inject(wireRequest("INVITE"));  // a retransmission: the last provisional again
  EXPECT_EQ(user.take(), Events{});
  EXPECT_EQ(sender.take().bytes, trying.bytes);
  EXPECT_EQ(layer->counters().retransmissions_absorbed, 1u);

  answer(id, lastRequest(), 486);
  clock.advance(3999ms);  // timer G: 500, 1000, 2000
  EXPECT_EQ(sendTimes(), (std::vector<std::int64_t>{200, 700, 1700, 3700}));
  inject(wireRequest("ACK", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport", "", "s1"));
  inject(wireRequest("ACK", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport", "", "s1"));
  EXPECT_EQ(user.take(), Events{});  // absorbed: no TU call
  clock.advance(4999ms);
  EXPECT_EQ(sender.pending(), 0u);
  EXPECT_EQ(layer->transactionCount(), 1u);
  clock.advance(1ms);  // timer I = T4
  EXPECT_EQ(layer->transactionCount(), 0u);
}

// A response the TU built as text (respondText) runs the same machine as a parsed one: sent as it
// is, kept for retransmissions, its To-tag matching the ACK of a non-2xx.
TEST_F(LayerTest, RespondTextSendsTheBytesAndRunsTheMachine) {
  inject(wireRequest("INVITE", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport"));
  EXPECT_EQ(user.take(), Events{"request INVITE"});
  const ServerTransactionId id = lastServerId();
  const std::string busy = responseTo(lastRequest(), 486, "s1");
  EXPECT_EQ(layer->respondText(id, 404, busy, "s1").error().kind, Kind::InvalidMessage);
  EXPECT_EQ(layer->respondText(id, 486, "486 Busy", "s1").error().kind, Kind::InvalidMessage);
  EXPECT_EQ(sender.pending(), 0u);
  ASSERT_TRUE(layer->respondText(id, 486, busy, "s1"));
  EXPECT_EQ(sender.take().bytes, busy);
  inject(wireRequest("INVITE", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport"));
  EXPECT_EQ(sender.take().bytes, busy);  // a retransmitted INVITE gets it again
  inject(wireRequest("ACK", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport", "", "s1"));
  EXPECT_EQ(user.take(), Events{});  // the ACK for the 486: absorbed
  EXPECT_EQ(layer->respondText(id, 200, responseTo(lastRequest(), 200, "s1"), "s1").error().kind,
            Kind::NotAccepted);
  EXPECT_EQ(layer->respondText(ServerTransactionId{12345}, 486, busy, "s1").error().kind,
            Kind::UnknownTransaction);
  EXPECT_EQ(layer->sendAckText("INVITE sip:b@y SIP/2.0\r\n\r\n", destination(Transport::Udp))
                .error()
                .kind,
            Kind::InvalidMessage);
  const std::string ack = testing::crlf(
      "ACK sip:bob@192.0.2.99 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa2\n"
      "Max-Forwards: 70\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>;tag=2\nCall-ID: c\nCSeq: 10 ACK\n"
      "Content-Length: 0\n\n");
  ASSERT_TRUE(layer->sendAckText(ack, destination(Transport::Udp)));
  EXPECT_EQ(sender.take().bytes, ack);
}

TEST_F(LayerTest, InviteServerWithoutAckTimesOutWithTimerH) {
  settings.send_trying = false;
  make();
  inject(wireRequest("INVITE"));
  clock.advance(1s);
  EXPECT_EQ(sender.pending(), 0u);  // no 100 Trying when configured so
  answer(lastServerId(), lastRequest(), 480);
  clock.advance(31999ms);
  EXPECT_EQ(sendTimes(), (std::vector<std::int64_t>{1000, 1500, 2500, 4500, 8500, 12500, 16500,
                                                    20500, 24500, 28500, 32500}));
  EXPECT_EQ(user.take(), Events{"request INVITE"});
  clock.advance(1ms);
  EXPECT_EQ(user.take(), Events{"failure no-ack"});
  EXPECT_EQ(layer->counters().timeouts, 1u);
}

TEST_F(LayerTest, InviteServerSuccessPassesAcksToTheUser) {
  inject(wireRequest("INVITE"));
  const ServerTransactionId id = lastServerId();
  answer(id, lastRequest(), 200);
  EXPECT_EQ(sentLines(), Events{"SIP/2.0 200 Reason"});
  inject(wireRequest("INVITE"));  // absorbed in Accepted
  EXPECT_EQ(sender.pending(), 0u);
  answer(id, lastRequest(), 200);  // the TU's own 2xx retransmission
  EXPECT_EQ(sentLines(), Events{"SIP/2.0 200 Reason"});
  EXPECT_EQ(layer->respond(id, parse(responseTo(lastRequest(), 486))).error().kind,
            Kind::NotAccepted);
  // The ACK for a 2xx is its own transaction (a new branch); a matching one is passed up too.
  inject(wireRequest("ACK", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs2;rport", "", "s1"));
  inject(wireRequest("ACK", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport", "", "s1"));
  EXPECT_EQ(user.take(), (Events{"request INVITE", "ack", "ack"}));
  clock.advance(32s);  // timer L
  EXPECT_EQ(layer->respond(id, parse(responseTo(lastRequest(), 200))).error().kind,
            Kind::UnknownTransaction);
}

TEST_F(LayerTest, InviteServerSendFailureIsReportedAfterTheCall) {
  inject(wireRequest("INVITE"), kPeerTcp, transport::Flow{42, 7});
  sender.failNextSend({transport::SendError::Kind::Closed, {}});
  answer(lastServerId(), lastRequest(), 486);
  EXPECT_EQ(user.take(), Events{"request INVITE"});
  clock.advance(0ms);
  EXPECT_EQ(user.take(), Events{"failure transport-error"});
}

// ---- non-INVITE server (17.2.2) ----

TEST_F(LayerTest, NonInviteServerResendsItsResponseUntilTimerJ) {
  inject(wireRequest("OPTIONS"));
  inject(wireRequest("OPTIONS"));  // absorbed in Trying: nothing to resend
  EXPECT_EQ(sender.pending(), 0u);
  answer(lastServerId(), lastRequest(), 200);
  inject(wireRequest("OPTIONS"));
  EXPECT_EQ(sentLines(), (Events{"SIP/2.0 200 Reason", "SIP/2.0 200 Reason"}));
  EXPECT_EQ(layer->respond(lastServerId(), parse(responseTo(lastRequest(), 500))).error().kind,
            Kind::NotAccepted);
  clock.advance(31999ms);
  EXPECT_EQ(layer->transactionCount(), 1u);
  clock.advance(1ms);  // timer J
  EXPECT_EQ(layer->transactionCount(), 0u);
  inject(wireRequest("OPTIONS"));  // a new transaction now
  EXPECT_EQ(user.take(), (Events{"request OPTIONS", "request OPTIONS"}));
  answer(lastServerId(), lastRequest(), 200);

  // Over TCP the transaction ends with its final response.
  inject(wireRequest("OPTIONS", "SIP/2.0/TCP 198.51.100.7;branch=z9hG4bKt1"), kPeerTcp);
  answer(lastServerId(), lastRequest(), 200);
  EXPECT_EQ(layer->transactionCount(), 1u);  // the UDP one
}

// Policy drops a flood without an answer: the transaction goes at once, nothing is ever sent (no
// 100 Trying for an INVITE), and a retransmission reaches the user again as a new request.
TEST_F(LayerTest, DiscardedServerTransactionsSendNothingAndAreForgotten) {
  inject(wireRequest("INVITE"));
  EXPECT_EQ(user.take(), Events{"request INVITE"});
  ASSERT_TRUE(layer->discard(lastServerId()));
  EXPECT_EQ(layer->transactionCount(), 0u);
  clock.advance(1s);
  EXPECT_EQ(sender.pending(), 0u);
  inject(wireRequest("INVITE"));  // the retransmission: decided again
  EXPECT_EQ(user.take(), Events{"request INVITE"});
  const ServerTransactionId again = lastServerId();

  EXPECT_EQ(layer->discard(ServerTransactionId{again.value + 1000}).error().kind,
            Kind::UnknownTransaction);
  answer(again, lastRequest(), 403);
  EXPECT_EQ(layer->discard(again).error().kind, Kind::NotAccepted);  // after a response
  EXPECT_EQ(layer->transactionCount(), 1u);
}

// RFC 3261 18.2.2 (with RFC 3581).
TEST_F(LayerTest, ResponsesGoWhere18_2_2Says) {
  struct Case {
    std::string via;
    transport::Endpoint source;
    transport::Flow flow;
    transport::Endpoint expected;
  };
  const std::vector<Case> cases = {
      // UDP without rport: the source address, the sent-by port.
      {"SIP/2.0/UDP host.example.org:5080;branch=z9hG4bKr1",
       kPeerUdp,
       {0, 3},
       endpoint("198.51.100.7:5080", Transport::Udp)},
      // UDP with rport: the source address and port.
      {"SIP/2.0/UDP host.example.org:5080;branch=z9hG4bKr2;rport", kPeerUdp, {0, 3}, kPeerUdp},
      // received: the source address is what received says; default port 5060.
      {"SIP/2.0/UDP host.example.org;branch=z9hG4bKr3;received=198.51.100.7",
       kPeerUdp,
       {0, 3},
       endpoint("198.51.100.7:5060", Transport::Udp)},
      // Reliable: back over the connection (flow), else to the source address and sent-by port.
      {"SIP/2.0/TCP host.example.org;branch=z9hG4bKr4",
       kPeerTcp,
       {42, 7},
       endpoint("198.51.100.7:5060", Transport::Tcp)},
  };
  for (const Case& c : cases) {
    inject(wireRequest("OPTIONS", c.via), c.source, c.flow);
    answer(lastServerId(), lastRequest(), 200);
    ASSERT_EQ(sender.pending(), 1u) << c.via;
    const auto sent = sender.take();
    EXPECT_EQ(sent.destination.endpoint, c.expected) << c.via;
    EXPECT_EQ(sent.destination.flow, c.flow) << c.via;
    EXPECT_EQ(sent.destination.side, transport::Side::External);
  }
}

// ---- CANCEL (9.2) ----

TEST_F(LayerTest, MatchedCancelIsAnswered200AndTheUserAnswers487) {
  user.on_request = [&](ServerTransactionId id, const sip::Message& request) {
    answer(id, request, 180, "s7");
  };
  user.on_cancelled = [&](ServerTransactionId id) {
    answer(id, user.requests.front().second.message, 487, "s7");
  };
  inject(wireRequest("INVITE"));
  inject(wireRequest("CANCEL"));
  EXPECT_EQ(user.take(), (Events{"request INVITE", "cancelled"}));
  ASSERT_EQ(sender.pending(), 3u);
  EXPECT_EQ(sender.take().startLine(), "SIP/2.0 180 Reason");
  const auto ok = sender.take();
  EXPECT_EQ(ok.startLine(), "SIP/2.0 200 OK");
  EXPECT_EQ(header(ok.message(), "CSeq"), "5 CANCEL");
  EXPECT_EQ(ok.message().to()->tag, "s7");  // the INVITE's To tag (9.2)
  EXPECT_EQ(ok.destination.endpoint, kPeerUdp);
  EXPECT_EQ(sender.take().startLine(), "SIP/2.0 487 Reason");
  inject(wireRequest("CANCEL"));  // retransmitted: 200 again, the TU is not told twice
  EXPECT_EQ(sentLines(), Events{"SIP/2.0 200 OK"});
  inject(wireRequest("ACK", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKs1;rport", "", "s7"));
  EXPECT_EQ(user.take(), Events{});
  EXPECT_EQ(layer->transactionCount(), 2u);  // INVITE in Confirmed, CANCEL in Completed
}

TEST_F(LayerTest, UnmatchedCancelIsAnswered481) {
  inject(wireRequest("CANCEL"));
  EXPECT_EQ(user.take(), Events{});
  ASSERT_EQ(sender.pending(), 1u);
  const auto r = sender.take();
  EXPECT_EQ(r.startLine(), "SIP/2.0 481 Call/Transaction Does Not Exist");
  EXPECT_FALSE(r.message().to()->tag.empty());
  EXPECT_EQ(layer->counters().unmatched_cancels, 1u);
}

// ---- RFC 2543 peers (no magic cookie) ----

TEST_F(LayerTest, Rfc2543AckFindsItsInvite) {
  const std::string via = "SIP/2.0/UDP 198.51.100.7:5070";
  inject(wireRequest("INVITE", via));
  inject(wireRequest("INVITE", via));  // a retransmission matched by the 2543 rules
  EXPECT_EQ(user.take(), Events{"request INVITE"});
  answer(lastServerId(), lastRequest(), 404, "s9");
  EXPECT_EQ(sentLines(), Events{"SIP/2.0 404 Reason"});
  inject(wireRequest("ACK", via, "", "other"));  // not our To tag: not this transaction's ACK
  EXPECT_EQ(user.take(), Events{"ack"});
  inject(wireRequest("ACK", via, "", "s9"));
  EXPECT_EQ(user.take(), Events{});
  clock.advance(10s);
  EXPECT_EQ(sender.pending(), 0u);  // timer G stopped by the ACK
  EXPECT_EQ(layer->transactionCount(), 0u);
}

// ---- limits, ids ----

TEST_F(LayerTest, OverTheLimitNewRequestsGet503WithRetryAfter) {
  settings.max_transactions = 2;
  make();
  inject(wireRequest("OPTIONS", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKl1"));
  inject(wireRequest("OPTIONS", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKl2"));
  const ServerTransactionId first = user.requests[0].first;
  inject(wireRequest("OPTIONS", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKl3"));
  EXPECT_EQ(user.take(), (Events{"request OPTIONS", "request OPTIONS"}));
  ASSERT_EQ(sender.pending(), 1u);
  const auto busy = sender.take();
  EXPECT_EQ(busy.startLine(), "SIP/2.0 503 Service Unavailable");
  EXPECT_EQ(header(busy.message(), "Retry-After"), "5");
  EXPECT_EQ(busy.message().vias()[0].branch, "z9hG4bKl3");
  EXPECT_EQ(layer->counters().rejected_over_limit, 1u);
  EXPECT_EQ(layer->request(outRequest("OPTIONS"), destination(Transport::Udp)).error().kind,
            Kind::Overloaded);
  // The existing transactions are untouched.
  inject(wireRequest("OPTIONS", "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKl1"));
  EXPECT_EQ(layer->counters().retransmissions_absorbed, 1u);
  answer(first, user.requests[0].second.message, 200);
  answer(user.requests[1].first, user.requests[1].second.message, 200);
  EXPECT_EQ(sentLines(), (Events{"SIP/2.0 200 Reason", "SIP/2.0 200 Reason"}));
}

TEST_F(LayerTest, IdsCarryTheWorkerIndex) {
  settings.worker = 3;
  make();
  auto client = layer->request(outRequest("OPTIONS", Transport::Tcp), destination(Transport::Tcp));
  ASSERT_TRUE(client);
  inject(wireRequest("OPTIONS"));
  EXPECT_EQ(workerOfId(client->value), 3u);
  EXPECT_EQ(workerOfId(lastServerId().value), 3u);
  EXPECT_NE(client->value, lastServerId().value);
  answer(lastServerId(), lastRequest(), 200);
  inject(responseTo(outRequest("OPTIONS"), 200, "b"), kPeerTcp);
}

}  // namespace
}  // namespace sipedge::txn
