// The B2BUA's pure parts: minted ids, the header rule set, next-hop ordering and health.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sipedge/b2bua/header_rules.h"
#include "sipedge/b2bua/ids.h"
#include "sipedge/b2bua/next_hops.h"

namespace sipedge::b2bua {
namespace {

TEST(Ids, NameTheirWorker) {
  EngineRandom random(7);
  for (unsigned worker : {0u, 1u, 15u, 16u, 255u}) {
    const std::string tag = mintTag(worker, random);
    const std::string call_id = mintCallId(worker, random);
    EXPECT_EQ(workerOfId(tag), worker) << tag;
    EXPECT_EQ(workerOfId(call_id), worker) << call_id;
    EXPECT_GE(call_id.size(), 32u);
  }
  EXPECT_NE(mintTag(0, random), mintTag(0, random));
}

TEST(Ids, ForeignTextIsNotOurs) {
  for (const char* text : {"", "sE", "sE-", "sE1", "sEx-1", "sE1234-9", "16906SIPpTag001", "as7d6f",
                           "SE1-abc", "sEg-1"}) {
    EXPECT_EQ(workerOfId(text), std::nullopt) << text;
  }
}

TEST(HeaderRules, DefaultsPassWhatDescribesTheBodyAndDropTopology) {
  HeaderRules rules;
  for (const char* name : {"Content-Type", "c", "Supported", "k", "Allow", "Require", "RSeq",
                           "Event", "o", "Subscription-State", "Session-Expires", "x", "Min-SE",
                           "Expires", "Privacy", "Subject", "s"}) {
    EXPECT_TRUE(rules.passes(name)) << name;
  }
  for (const char* name : {"Via",
                           "v",
                           "Record-Route",
                           "Route",
                           "Contact",
                           "m",
                           "Call-ID",
                           "i",
                           "Server",
                           "User-Agent",
                           "Warning",
                           "Reason",
                           "Replaces",
                           "Call-Info",
                           "Alert-Info",
                           "Error-Info",
                           "Authorization",
                           "Proxy-Authorization",
                           "WWW-Authenticate",
                           "P-Asserted-Identity",
                           "Refer-To",
                           "X-Internal",
                           "Organization",
                           "Path",
                           "RAck",
                           "Max-Forwards",
                           "Content-Length"}) {
    EXPECT_FALSE(rules.passes(name)) << name;
  }
}

TEST(HeaderRules, ConfiguredPassAndDrop) {
  HeaderRules rules({"x-trace", "organization"}, {"subject", "supported"}, true);
  EXPECT_TRUE(rules.passes("X-Trace"));
  EXPECT_TRUE(rules.passes("Organization"));
  EXPECT_TRUE(rules.passes("User-Agent"));
  EXPECT_TRUE(rules.passes("Server"));
  EXPECT_FALSE(rules.passes("Subject"));
  EXPECT_FALSE(rules.passes("s"));  // compact forms follow their long names
  EXPECT_FALSE(rules.passes("k"));
}

NextHop hop(std::string name, unsigned priority, unsigned weight) {
  NextHop h;
  h.name = std::move(name);
  h.priority = priority;
  h.weight = weight;
  return h;
}

TEST(NextHops, PriorityFirstThenWeight) {
  NextHopSet set({hop("b1", 2, 1), hop("a1", 1, 90), hop("a2", 1, 10), hop("c", 3, 0)}, {});
  EngineRandom random(1);
  std::map<std::size_t, int> first;
  for (int i = 0; i < 2000; ++i) {
    auto order = set.candidates(random);
    ASSERT_EQ(order.size(), 4u);
    EXPECT_EQ(set.hop(order[2]).name, "b1");
    EXPECT_EQ(set.hop(order[3]).name, "c");
    ++first[order[0]];
  }
  // a1 (weight 90) leads about 90% of the time.
  EXPECT_GT(first[1], 1650);
  EXPECT_LT(first[1], 1950);
}

TEST(NextHops, HealthThresholds) {
  NextHopSet set({hop("a", 1, 1), hop("b", 2, 1)}, HealthSettings{2, 2});
  EngineRandom random(1);
  set.reportFailure(0);
  EXPECT_TRUE(set.up(0));  // one failure is not enough
  set.reportSuccess(0);
  set.reportFailure(0);
  EXPECT_TRUE(set.up(0));  // a success in between resets the count
  set.reportFailure(0);
  EXPECT_FALSE(set.up(0));
  EXPECT_EQ(set.upCount(), 1u);
  EXPECT_EQ(set.candidates(random), std::vector<std::size_t>{1});
  set.reportSuccess(0);
  EXPECT_FALSE(set.up(0));  // two successes bring it back
  set.reportSuccess(0);
  EXPECT_TRUE(set.up(0));
  set.reportFailure(1);
  set.reportFailure(1);
  set.reportFailure(0);
  set.reportFailure(0);
  EXPECT_TRUE(set.candidates(random).empty());
}

}  // namespace
}  // namespace sipedge::b2bua
