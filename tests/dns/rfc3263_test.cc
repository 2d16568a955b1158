#include <gtest/gtest.h>

#include <map>

#include "../support/fake_random.h"
#include "sipedge/dns/rfc3263.h"

namespace sipedge::dns {
namespace {

using sipedge::testing::FakeRandom;

Query query(std::string host) {
  Query q;
  q.host = std::move(host);
  return q;
}

TEST(PlanTest, NumericHostNeedsNoLookup) {
  Query q = query("127.0.0.1");
  q.numeric_host = true;
  Plan p = plan(q);
  EXPECT_EQ(p.kind, Plan::Kind::Address);
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_EQ(p.port, 5060);
  q.sips = true;
  p = plan(q);
  EXPECT_EQ(p.transport, Transport::Tls);
  EXPECT_EQ(p.port, 5061);
  q.sips = false;
  q.transport = Transport::Tcp;
  q.port = 5070;
  p = plan(q);
  EXPECT_EQ(p.transport, Transport::Tcp);
  EXPECT_EQ(p.port, 5070);
}

TEST(PlanTest, ExplicitPortSkipsNaptrAndSrv) {
  Query q = query("edge.partner.example");
  q.port = 5080;
  const Plan p = plan(q);
  EXPECT_EQ(p.kind, Plan::Kind::AddressLookup);
  EXPECT_EQ(p.port, 5080);
  EXPECT_EQ(p.transport, Transport::Udp);
}

TEST(PlanTest, TransportParameterGoesStraightToSrv) {
  Query q = query("partner.example");
  q.transport = Transport::Tcp;
  EXPECT_EQ(plan(q).kind, Plan::Kind::Srv);
  EXPECT_EQ(plan(q).srv_name, "_sip._tcp.partner.example");
  q.sips = true;  // sips:...;transport=tcp is TLS over TCP
  EXPECT_EQ(plan(q).srv_name, "_sips._tcp.partner.example");
  EXPECT_EQ(plan(q).transport, Transport::Tls);
}

TEST(PlanTest, OtherwiseNaptrFirst) {
  EXPECT_EQ(plan(query("partner.example")).kind, Plan::Kind::Naptr);
  Query s = query("partner.example");
  s.sips = true;
  EXPECT_EQ(plan(s).kind, Plan::Kind::Naptr);
}

TEST(SrvNameTest, PerTransportAndFederation) {
  EXPECT_EQ(srvName(Transport::Udp, "a.example"), "_sip._udp.a.example");
  EXPECT_EQ(srvName(Transport::Tcp, "a.example"), "_sip._tcp.a.example");
  EXPECT_EQ(srvName(Transport::Tls, "a.example"), "_sips._tcp.a.example");
  EXPECT_EQ(federationSrvName("partner.example."), "_sipfederationtls._tcp.partner.example");
}

TEST(NaptrTest, OrderPreferenceAndSupportedServices) {
  const std::vector<NaptrRecord> answer = {
      {90, 50, "s", "SIP+D2T", "_sip._tcp.partner.example."},
      {50, 50, "s", "SIPS+D2T", "_sips._tcp.partner.example."},
      {50, 10, "s", "SIP+D2S", "_sip._sctp.partner.example."},  // SCTP: not offered
      {100, 50, "s", "SIP+D2U", "_sip._udp.partner.example."},
      {10, 10, "u", "SIP+D2U", "!^.*$!sip:x@example!"},  // not an SRV pointer
      {40, 10, "s", "E2U+sip", "_x.partner.example."},   // not a SIP service
  };
  const auto targets = srvTargets(query("partner.example"), answer);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0], (SrvTarget{"_sips._tcp.partner.example", Transport::Tls}));
  EXPECT_EQ(targets[1], (SrvTarget{"_sip._tcp.partner.example", Transport::Tcp}));
  EXPECT_EQ(targets[2], (SrvTarget{"_sip._udp.partner.example", Transport::Udp}));
  // sips: keeps only SIPS+D2T.
  Query s = query("partner.example");
  s.sips = true;
  const auto secure = srvTargets(s, answer);
  ASSERT_EQ(secure.size(), 1u);
  EXPECT_EQ(secure[0].transport, Transport::Tls);
}

TEST(NaptrTest, NoUsableAnswerFallsBackToEverySupportedTransport) {
  const auto all = srvTargets(query("partner.example"), {});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], (SrvTarget{"_sips._tcp.partner.example", Transport::Tls}));
  EXPECT_EQ(all[1], (SrvTarget{"_sip._tcp.partner.example", Transport::Tcp}));
  EXPECT_EQ(all[2], (SrvTarget{"_sip._udp.partner.example", Transport::Udp}));
  Query s = query("partner.example");
  s.sips = true;
  // A sips: URI with only non-TLS NAPTR answers: the fallback is TLS only.
  const auto secure = srvTargets(s, {{10, 10, "s", "SIP+D2U", "_sip._udp.partner.example"}});
  ASSERT_EQ(secure.size(), 1u);
  EXPECT_EQ(secure[0].name, "_sips._tcp.partner.example");
}

TEST(SrvOrderTest, PriorityFirstThenWeightedChoice) {
  const std::vector<SrvRecord> answer = {
      {20, 0, 5061, "backup.partner.example"},
      {10, 60, 5061, "a.partner.example"},
      {10, 40, 5061, "b.partner.example"},
  };
  // Draw 70 of [0,100]: a's running sum 60 < 70, b's 100 >= 70 -> b first; then a.
  FakeRandom r({70});
  const auto ordered = orderSrv(answer, r);
  ASSERT_EQ(ordered.size(), 3u);
  EXPECT_EQ(ordered[0].target, "b.partner.example");
  EXPECT_EQ(ordered[1].target, "a.partner.example");
  EXPECT_EQ(ordered[2].target, "backup.partner.example");
  EXPECT_EQ(r.bounds, (std::vector<std::uint32_t>{101, 61, 1}));
}

TEST(SrvOrderTest, WeightZeroRecordsComeFirstInTheRunningSum) {
  const std::vector<SrvRecord> answer = {{10, 50, 5060, "w50"}, {10, 0, 5060, "w0"}};
  FakeRandom zero({0});  // 0 selects the first record in the running sum: the weight-0 one
  EXPECT_EQ(orderSrv(answer, zero)[0].target, "w0");
  FakeRandom high({50});
  EXPECT_EQ(orderSrv(answer, high)[0].target, "w50");
}

TEST(SrvOrderTest, WeightsShareTheLoadInProportion) {
  const std::vector<SrvRecord> answer = {{10, 75, 5060, "heavy"}, {10, 25, 5060, "light"}};
  EngineRandom r(42);
  std::map<std::string, int> first;
  for (int i = 0; i < 10000; ++i) {
    ++first[orderSrv(answer, r)[0].target];
  }
  // 75% +- 2% (deterministic seed; the bound is ~7 standard deviations).
  EXPECT_NEAR(first["heavy"], 7500, 200);
}

TEST(SrvOrderTest, DotTargetMeansNoService) {
  FakeRandom r;
  EXPECT_TRUE(orderSrv({{0, 0, 0, "."}}, r).empty());
  EXPECT_TRUE(orderSrv({}, r).empty());
}

}  // namespace
}  // namespace sipedge::dns
