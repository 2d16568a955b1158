// Hand-over between workers: a response that arrives on a worker other than the one that owns
// its client transaction (the branch names the owner) is passed to the owner's loop.

#include "../../src/app/node.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "sipedge/sip/response.h"
#include "sipedge/txn/branch.h"

namespace sipedge::app {
namespace {

class RecordingUser final : public txn::TransactionUser {
 public:
  explicit RecordingUser(Node& node) : node_(node) {}
  void onRequest(txn::ServerTransactionId, transport::Inbound&&) override {}
  void onResponse(txn::ClientTransactionId id, txn::ClientResponse&& r) override {
    if (r.message().statusCode() >= 200) {
      result.set_value({id.value, r.message().statusCode(), std::this_thread::get_id()});
    }
  }
  void onStrayResponse(transport::Inbound&&) override { ++strays; }
  struct Got {
    std::uint64_t id;
    int status;
    std::thread::id thread;
  };
  std::promise<Got> result;
  int strays = 0;
  Node& node_;
};

TEST(NodePoolTest, AResponseOnAnotherWorkerReachesTheOwnerOfItsTransaction) {
  transport::TlsContextStore tls;
  std::vector<RecordingUser*> users;
  NodePool pool(2, transport::Limits{}, tls, txn::LayerSettings{}, [&](Node& node) {
    auto u = std::make_unique<RecordingUser>(node);
    users.push_back(u.get());
    return u;
  });
  transport::ListenerSettings l;
  l.endpoint = {*transport::Address::parseIp("127.0.0.1", 0), transport::Transport::Udp};
  auto bound = pool.listen(l);
  ASSERT_TRUE(bound.has_value());

  // A UDP peer that receives the request.
  int peer = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(peer, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  getsockname(peer, reinterpret_cast<sockaddr*>(&sin), &len);
  timeval tv{5, 0};
  setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  Node& owner = *pool.nodes()[0];
  Node& other = *pool.nodes()[1];
  pool.start();
  std::promise<std::uint64_t> sent;
  owner.worker().post([&] {
    std::string branch = txn::makeBranch(owner.index(), owner.random());
    std::string text =
        "OPTIONS sip:peer@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
        std::to_string(bound->port()) + ";branch=" + branch +
        "\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:peer@127.0.0.1>\r\n"
        "Call-ID: handover\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    transport::Destination d;
    d.endpoint = {*transport::Address::parseIp("127.0.0.1", ntohs(sin.sin_port)),
                  transport::Transport::Udp};
    auto id = owner.layer().request(*sip::parseMessage(text, {}), d);
    sent.set_value(id ? id->value : 0);
  });
  std::uint64_t id = sent.get_future().get();
  ASSERT_NE(id, 0u);
  char buf[4096];
  ssize_t n = recv(peer, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  auto request = sip::parseMessage(std::string_view(buf, static_cast<std::size_t>(n)), {});
  ASSERT_TRUE(request.has_value());
  close(peer);

  // The response arrives at the other worker (as the kernel's SO_REUSEPORT hash may decide).
  auto response = sip::makeResponse(*request, 200, {}, "t");
  ASSERT_TRUE(response.has_value());
  auto in = std::make_shared<transport::Inbound>(transport::Inbound{
      std::move(*response),
      {*transport::Address::parseIp("127.0.0.1", ntohs(sin.sin_port)), transport::Transport::Udp},
      *bound,
      transport::Side::External,
      {},
      nullptr,
      {}});
  std::promise<std::thread::id> other_thread;
  other.worker().post([&, in] {
    other_thread.set_value(std::this_thread::get_id());
    other.onMessage(std::move(*in));
  });
  auto got_future = users[0]->result.get_future();
  ASSERT_EQ(got_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto got = got_future.get();
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.status, 200);
  EXPECT_NE(got.thread, other_thread.get_future().get()) << "handled on the owner's thread";
  pool.stop();
  EXPECT_EQ(other.handedOver(), 1u);
  EXPECT_EQ(users[1]->strays, 0);
  EXPECT_EQ(owner.layer().counters().stray_responses, 0u);
}

}  // namespace
}  // namespace sipedge::app
