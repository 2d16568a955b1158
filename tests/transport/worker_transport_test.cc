// WorkerTransport on a real loop with loopback clients: what crosses the wire over UDP and TCP,
// response routing, bad input, keep-alives and connection limits.

#include "sipedge/transport/worker_transport.h"

#include <gtest/gtest.h>

#include "transport_harness.h"

namespace sipedge::transport {
namespace {

using testing::Client;
using testing::Harness;
using testing::options;

TEST(WorkerTransportUdp, DeliversAndAnswersFromTheSameSocketWithRport) {
  Harness h;
  Address at = h.listen(Transport::Udp);
  h.start();
  Client c(SOCK_DGRAM);
  // The client claims a sent-by port it does not use and asks for rport (RFC 3581).
  c.sendTo(at, options("127.0.0.1", 9, "UDP", ";rport"));
  auto reply = c.read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_NE(reply->find("SIP/2.0 200 OK\r\n"), std::string::npos) << *reply;
  EXPECT_NE(reply->find(";rport=" + std::to_string(c.port()) + ";received=127.0.0.1"),
            std::string::npos)
      << *reply;
  ASSERT_TRUE(h.waitFor(1));
  auto got = h.received();
  EXPECT_EQ(got[0].source.transport, Transport::Udp);
  EXPECT_EQ(got[0].source.address.port(), c.port());
  EXPECT_EQ(got[0].side, Side::External);
  EXPECT_NE(got[0].flow.listener, 0u);
  EXPECT_EQ(got[0].flow.connection, 0u);
  EXPECT_EQ(got[0].local, at);
}

// ListenerSettings::worker_port: requests this worker sends on the side leave from a port of its
// own, which their Via names and which receives what comes back; a request that arrives on the
// shared port is still answered from it.
TEST(WorkerTransportUdp, WorkerPortSendsRequestsAndReceivesWhatComesBack) {
  Harness h;
  ListenerSettings s;
  s.endpoint = Endpoint{*Address::parseIp("127.0.0.1", 0), Transport::Udp};
  s.side = Side::Internal;
  s.worker_port = true;
  auto at = h.transport().listen(s);
  ASSERT_TRUE(at.has_value()) << at.error();
  h.start();

  Client peer(SOCK_DGRAM);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(peer.fd(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  const Destination d{Endpoint{*Address::parseIp("127.0.0.1", peer.port()), Transport::Udp},
                      Side::Internal,
                      {},
                      {}};
  auto via = h.call([&] { return h.transport().viaFor(d); });
  ASSERT_TRUE(via.has_value());
  EXPECT_EQ(via->host, "127.0.0.1");
  EXPECT_NE(via->port, 0);
  EXPECT_NE(via->port, at->port());

  // A request from the worker: it leaves from the worker's port.
  auto sent = h.call([&] {
    return h.transport().send(d, options(via->host, via->port, "UDP", ";rport", "out-1"), {});
  });
  ASSERT_TRUE(sent.has_value());
  char buffer[2048];
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  const ssize_t n =
      recvfrom(peer.fd(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  ASSERT_GT(n, 0);
  EXPECT_EQ(ntohs(from.sin_port), via->port);

  // The peer's answer goes to that port and reaches the worker there.
  const std::string request(buffer, static_cast<std::size_t>(n));
  std::string answer = request;
  answer.replace(0, answer.find("\r\n"), "SIP/2.0 200 OK");
  peer.sendTo(*Address::parseIp("127.0.0.1", ntohs(from.sin_port)), answer);
  ASSERT_TRUE(h.waitFor(1));
  auto got = h.received();
  EXPECT_FALSE(got[0].request);
  EXPECT_EQ(got[0].text.substr(0, 14), "SIP/2.0 200 OK");
  EXPECT_EQ(got[0].local.port(), via->port);
  EXPECT_EQ(got[0].side, Side::Internal);

  // A request to the shared port is answered from the shared port (RFC 3581 symmetry).
  peer.sendTo(*at, options("127.0.0.1", peer.port(), "UDP", ";rport", "in-1"));
  from_len = sizeof from;
  const ssize_t m =
      recvfrom(peer.fd(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  ASSERT_GT(m, 0);
  EXPECT_EQ(std::string_view(buffer, static_cast<std::size_t>(m)).substr(0, 14), "SIP/2.0 200 OK");
  EXPECT_EQ(ntohs(from.sin_port), at->port());
}

TEST(WorkerTransportUdp, WithoutRportTheResponseGoesToTheSentByPort) {
  Harness h;
  Address at = h.listen(Transport::Udp);
  h.start();
  Client listener(SOCK_DGRAM);
  Address back = *Address::parseIp("127.0.0.1", 0);
  {
    // Bind the "sent-by" socket first so the response has somewhere to go.
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener.fd(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    back.setPort(listener.port());
  }
  Client sender(SOCK_DGRAM);
  sender.sendTo(at, options("127.0.0.1", back.port()));
  auto reply = listener.read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_NE(reply->find("SIP/2.0 200 OK"), std::string::npos);
  EXPECT_EQ(reply->find("received="), std::string::npos) << "host matched the source";
}

TEST(WorkerTransportUdp, MalformedRequestGetsA400WithThePreciseReason) {
  Harness h;
  Address at = h.listen(Transport::Udp);
  h.start();
  Client c(SOCK_DGRAM);
  std::string bad = options("127.0.0.1", 9, "UDP", ";rport");
  bad.replace(bad.find("CSeq: 1 OPTIONS"), 15, "CSeq: x OPTIONS");
  c.sendTo(at, bad);
  auto reply = c.read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->rfind("SIP/2.0 400 Malformed CSeq: missing sequence number\r\n", 0), 0u)
      << *reply;
  EXPECT_NE(reply->find(";rport=" + std::to_string(c.port())), std::string::npos) << *reply;
  EXPECT_NE(reply->find("Call-ID: opt-1"), std::string::npos);
  // Nothing reached the handler, and the counters say why.
  EXPECT_EQ(h.call([&] { return h.transport().counters().bad_messages_answered; }), 1u);
  EXPECT_TRUE(h.received().empty());
}

TEST(WorkerTransportUdp, UnaddressableGarbageIsDroppedAndCounted) {
  Harness h;
  Address at = h.listen(Transport::Udp);
  h.start();
  Client c(SOCK_DGRAM);
  c.sendTo(at, "\x16\x03\x01 not SIP at all\r\n\r\n");
  // A valid request afterwards is still served: bad input never costs a valid transaction.
  c.sendTo(at, options("127.0.0.1", 9, "UDP", ";rport", "after"));
  auto reply = c.read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_NE(reply->find("Call-ID: after"), std::string::npos) << *reply;
  EXPECT_EQ(h.call([&] { return h.transport().counters().bad_messages_dropped; }), 1u);
}

TEST(WorkerTransportUdp, Ipv6Loopback) {
  Harness h;
  Address at = h.listen(Transport::Udp, "::1");
  h.start();
  Client c(SOCK_DGRAM, /*v6=*/true);
  c.sendTo(at, options("[::1]", 9, "UDP", ";rport"));
  auto reply = c.read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_NE(reply->find("SIP/2.0 200 OK"), std::string::npos);
  EXPECT_NE(reply->find(";rport=" + std::to_string(c.port()) + ";received=::1"), std::string::npos)
      << *reply;
}

TEST(WorkerTransportTcp, FramesSplitAndCoalescedMessagesAndAnswersOnTheConnection) {
  Harness h;
  Address at = h.listen(Transport::Tcp);
  h.start();
  Client c(SOCK_STREAM);
  ASSERT_TRUE(c.connectTo(at));
  std::string one = options("127.0.0.1", 9, "TCP", "", "tcp-1");
  std::string two = options("127.0.0.1", 9, "TCP", "", "tcp-2");
  std::string three = options("127.0.0.1", 9, "TCP", "", "tcp-3");
  c.write(one + two.substr(0, 40));
  c.write(two.substr(40) + three);
  std::string replies = c.readUntil("SIP/2.0 200 OK", 3);
  EXPECT_NE(replies.find("Call-ID: tcp-1"), std::string::npos);
  EXPECT_NE(replies.find("Call-ID: tcp-2"), std::string::npos);
  EXPECT_NE(replies.find("Call-ID: tcp-3"), std::string::npos);
  ASSERT_TRUE(h.waitFor(3));
  auto got = h.received();
  EXPECT_NE(got[0].flow.connection, 0u);
  EXPECT_EQ(got[0].flow.connection, got[2].flow.connection);
  EXPECT_EQ(h.call([&] { return h.transport().connectionCount(); }), 1u);
}

TEST(WorkerTransportTcp, AnswersKeepAlivePings) {
  Harness h;
  Address at = h.listen(Transport::Tcp);
  h.start();
  Client c(SOCK_STREAM);
  ASSERT_TRUE(c.connectTo(at));
  c.write("\r\n\r\n");
  auto pong = c.read();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(*pong, "\r\n");
}

TEST(WorkerTransportTcp, BrokenFramingIsAnsweredThenClosed) {
  Harness h;
  Address at = h.listen(Transport::Tcp);
  h.start();
  Client c(SOCK_STREAM);
  ASSERT_TRUE(c.connectTo(at));
  std::string bad = options("127.0.0.1", 9, "TCP");
  bad.replace(bad.find("Content-Length: 0"), 17, "Content-Length: zz");
  c.write(bad);
  std::string all = c.readUntil("\r\n\r\n");
  EXPECT_EQ(all.rfind("SIP/2.0 400 ", 0), 0u) << all;
  EXPECT_NE(all.find("Content-Length"), std::string::npos) << "the reason names the header";
  EXPECT_EQ(h.call([&] { return h.transport().counters().bad_messages_answered; }), 1u);
  EXPECT_EQ(h.call([&] { return h.transport().counters().bad_messages_dropped; }), 0u);
  auto eof = c.read();
  ASSERT_TRUE(eof.has_value());
  EXPECT_EQ(*eof, "") << "the connection is closed after the 400";
}

TEST(WorkerTransportTcp, ConnectionsPerIpAreLimited) {
  Limits limits;
  limits.max_connections_per_ip = 2;
  Harness h(limits);
  Address at = h.listen(Transport::Tcp);
  h.start();
  Client a(SOCK_STREAM), b(SOCK_STREAM), c(SOCK_STREAM);
  ASSERT_TRUE(a.connectTo(at));
  ASSERT_TRUE(b.connectTo(at));
  ASSERT_TRUE(c.connectTo(at));  // the kernel accepts; sipedge closes it at once
  auto eof = c.read();
  ASSERT_TRUE(eof.has_value());
  EXPECT_EQ(*eof, "");
  // The first two still work.
  a.write(options("127.0.0.1", 9, "TCP", "", "a"));
  EXPECT_NE(a.readUntil("SIP/2.0 200 OK").find("Call-ID: a"), std::string::npos);
  EXPECT_EQ(h.call([&] { return h.transport().counters().connections_refused_by_limit; }), 1u);
  EXPECT_EQ(h.budget().total(), 2u);
}

TEST(WorkerTransportTcp, IdleConnectionsAreClosed) {
  Limits limits;
  limits.idle_timeout = Duration{100};
  Harness h(limits);
  Address at = h.listen(Transport::Tcp);
  h.start();
  Client c(SOCK_STREAM);
  ASSERT_TRUE(c.connectTo(at));
  auto eof = c.read();  // bounded by the client's 5 s receive timeout
  ASSERT_TRUE(eof.has_value());
  EXPECT_EQ(*eof, "");
  EXPECT_EQ(h.call([&] { return h.transport().counters().connections_closed_idle; }), 1u);
  EXPECT_EQ(h.call([&] { return h.transport().connectionCount(); }), 0u);
  EXPECT_EQ(h.budget().total(), 0u);
}

TEST(WorkerTransportTcp, OutboundConnectionsAreReusedAndAnswersComeBackOnThem) {
  // Two transports on two loops: a client side and a server side.
  Harness server;
  Address at = server.listen(Transport::Tcp);
  server.start();
  Harness client(Limits{}, /*answer=*/false);
  client.listen(Transport::Udp);  // gives the client a Via address
  client.start();
  Destination d{Endpoint{at, Transport::Tcp}, Side::External, {}, {}};
  for (int i = 0; i < 3; ++i) {
    auto sent = client.call([&] {
      auto via = client.transport().viaFor(d);
      EXPECT_TRUE(via.has_value());
      return client.transport().send(
          d, options(via->host, via->port, "TCP", "", "reuse-" + std::to_string(i)), {});
    });
    EXPECT_TRUE(sent.has_value());
  }
  ASSERT_TRUE(client.waitFor(3));  // the three 200 OKs
  ASSERT_TRUE(server.waitFor(3));
  auto got = server.received();
  EXPECT_EQ(got[0].flow.connection, got[1].flow.connection);
  EXPECT_EQ(got[1].flow.connection, got[2].flow.connection);
  EXPECT_EQ(client.call([&] { return client.transport().connectionCount(); }), 1u);
  EXPECT_EQ(server.call([&] { return server.transport().connectionCount(); }), 1u);
}

TEST(WorkerTransportTcp, AnAliasMakesTheInboundConnectionTheWayBack) {
  // RFC 5923: a peer that puts ;alias in its Via asks that requests to its sent-by address reuse
  // the connection it opened, instead of a new connection to that address.
  Harness h;
  Address at = h.listen(Transport::Tcp);
  h.start();
  Client c(SOCK_STREAM);
  ASSERT_TRUE(c.connectTo(at));
  c.write(options("127.0.0.1", 5999, "TCP", ";alias", "alias-1"));
  ASSERT_NE(c.readUntil("SIP/2.0 200 OK").find("Call-ID: alias-1"), std::string::npos);
  // A request toward the sent-by address (nobody listens on 5999) arrives on the connection.
  Destination d{
      Endpoint{*Address::parseIp("127.0.0.1", 5999), Transport::Tcp}, Side::External, {}, {}};
  auto sent =
      h.call([&] { return h.transport().send(d, options("127.0.0.1", 1, "TCP", "", "back"), {}); });
  ASSERT_TRUE(sent.has_value());
  EXPECT_NE(c.readUntil("Call-ID: back").find("OPTIONS sip:edge@127.0.0.1"), std::string::npos);
  EXPECT_EQ(h.call([&] { return h.transport().connectionCount(); }), 1u);
}

TEST(WorkerTransportTcp, ConnectionRefusedIsReportedLaterNotInsideSend) {
  Harness client(Limits{}, false);
  client.listen(Transport::Udp);
  client.start();
  // A port nobody listens on: bind a socket, take its port, close it.
  std::uint16_t dead_port;
  {
    Client probe(SOCK_STREAM);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(probe.fd(), reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    dead_port = probe.port();
  }
  Destination d{
      Endpoint{*Address::parseIp("127.0.0.1", dead_port), Transport::Tcp}, Side::External, {}, {}};
  std::promise<SendError> error;
  bool called_inside = false;
  bool inside = false;
  auto sent = client.call([&] {
    inside = true;
    auto r = client.transport().send(d, options("127.0.0.1", 9, "TCP"), [&](const SendError& e) {
      called_inside = inside;
      error.set_value(e);
    });
    inside = false;
    return r;
  });
  EXPECT_TRUE(sent.has_value());
  auto f = error.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  SendError e = f.get();
  EXPECT_FALSE(called_inside);
  EXPECT_EQ(e.kind, SendError::Kind::Refused) << e.describe();
  EXPECT_EQ(client.call([&] { return client.transport().connectionCount(); }), 0u);
  EXPECT_EQ(client.budget().total(), 0u);
}

TEST(WorkerTransportTcp, ConnectionLimitRefusesNewOutboundConnections) {
  Limits limits;
  limits.max_connections = 1;
  Harness server;
  Address at1 = server.listen(Transport::Tcp);
  Address at2 = server.listen(Transport::Tcp);
  server.start();
  Harness client(limits, false);
  client.listen(Transport::Udp);
  client.start();
  auto first = client.call([&] {
    return client.transport().send(
        Destination{Endpoint{at1, Transport::Tcp}, Side::External, {}, {}},
        options("127.0.0.1", 9, "TCP", "", "l1"), {});
  });
  EXPECT_TRUE(first.has_value());
  auto second = client.call([&] {
    return client.transport().send(
        Destination{Endpoint{at2, Transport::Tcp}, Side::External, {}, {}},
        options("127.0.0.1", 9, "TCP", "", "l2"), {});
  });
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().kind, SendError::Kind::Overloaded);
}

TEST(WorkerTransportTcp, APeerThatDoesNotReadIsNoLongerReadFromUntilItCatchesUp) {
  Limits limits;
  limits.max_pending_bytes = 32 * 1024;
  Harness h(limits);
  Address at = h.listen(Transport::Tcp);
  h.start();
  Client c(SOCK_STREAM);
  int small = 4096;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_TRUE(c.connectTo(at));
  constexpr int kRequests = 20000;  // more than the kernel buffers on both sides hold
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      c.write(options("127.0.0.1", 9, "TCP", "", "bp-" + std::to_string(i)));
    }
  });
  // The answers pile up unread until the server stops reading.
  bool paused = false;
  for (int i = 0; i < 500 && !paused; ++i) {
    paused = h.call([&] { return h.transport().counters().reads_paused; }) > 0;
    if (!paused) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_TRUE(paused);
  // Reading everything lets the server resume: every request is answered, none is lost, and the
  // connection was never dropped.
  std::string all = c.readUntil("Call-ID: bp-19999\r\n");
  writer.join();
  std::size_t answered = 0;
  for (std::size_t p = all.find("SIP/2.0 200 OK"); p != std::string::npos;
       p = all.find("SIP/2.0 200 OK", p + 1)) {
    ++answered;
  }
  EXPECT_EQ(answered, static_cast<std::size_t>(kRequests));
  EXPECT_NE(all.find("Call-ID: bp-19999\r\n"), std::string::npos);
  EXPECT_EQ(h.call([&] { return h.transport().counters().connections_closed_pending_bytes; }), 0u);
}

TEST(WorkerTransportTcp, PendingBytesOverTheLimitCloseTheConnection) {
  Limits limits;
  limits.max_pending_bytes = 64 * 1024;
  // A peer that accepts and never reads.
  Client silent(SOCK_STREAM);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int small = 4096;
  setsockopt(silent.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_EQ(bind(silent.fd(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(::listen(silent.fd(), 1), 0);
  Address at = *Address::parseIp("127.0.0.1", silent.port());
  Harness client(limits, false);
  client.listen(Transport::Udp);
  client.start();
  Destination d{Endpoint{at, Transport::Tcp}, Side::External, {}, {}};
  std::string big(8000, 'x');
  std::string msg =
      "MESSAGE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKp\r\n"
      "From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: p\r\n"
      "CSeq: 1 MESSAGE\r\nContent-Length: " +
      std::to_string(big.size()) + "\r\n\r\n" + big;
  bool overloaded = false;
  for (int i = 0; i < 2000 && !overloaded; ++i) {
    auto r = client.call([&] { return client.transport().send(d, msg, {}); });
    if (!r && r.error().kind == SendError::Kind::Overloaded) {
      overloaded = true;
    }
  }
  EXPECT_TRUE(overloaded);
  EXPECT_EQ(
      client.call([&] { return client.transport().counters().connections_closed_pending_bytes; }),
      1u);
}

TEST(WorkerTransportApi, ViaForNamesTheListener) {
  Harness h;
  Address at = h.listen(Transport::Udp, "127.0.0.1", Side::Internal);
  h.start();
  auto via = h.call([&] {
    return h.transport().viaFor(Destination{
        Endpoint{*Address::parseIp("127.0.0.9", 5060), Transport::Udp}, Side::Internal, {}, {}});
  });
  ASSERT_TRUE(via.has_value());
  EXPECT_EQ(via->host, "127.0.0.1");
  EXPECT_EQ(via->port, at.port());
  auto none = h.call([&] {
    return h.transport().viaFor(Destination{
        Endpoint{*Address::parseIp("::1", 5060), Transport::Udp}, Side::Internal, {}, {}});
  });
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().kind, SendError::Kind::NoListener);
}

}  // namespace
}  // namespace sipedge::transport
