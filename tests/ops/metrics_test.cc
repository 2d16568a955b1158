// The Prometheus text format 0.0.4 as MetricsText writes it: exact text, grouping, escaping,
// number formatting and name checks.

#include "sipedge/ops/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sipedge::ops {
namespace {

TEST(MetricsTextTest, EmptyBuilderPrintsNothing) {
  EXPECT_EQ(MetricsText().str(), "");
}

TEST(MetricsTextTest, CounterAndGaugeWithoutLabels) {
  MetricsText m;
  m.counter("sipedge_requests_total", "SIP requests received.", 12);
  m.gauge("sipedge_dialogs", "Dialogs in progress.", 3);
  EXPECT_EQ(m.str(),
            "# HELP sipedge_requests_total SIP requests received.\n"
            "# TYPE sipedge_requests_total counter\n"
            "sipedge_requests_total 12\n"
            "# HELP sipedge_dialogs Dialogs in progress.\n"
            "# TYPE sipedge_dialogs gauge\n"
            "sipedge_dialogs 3\n");
}

TEST(MetricsTextTest, SamplesOfOneFamilyAreGroupedEvenWhenAddedOutOfOrder) {
  MetricsText m;
  m.gauge("sipedge_dialogs", "Dialogs in progress.", 4, {{"worker", "0"}});
  m.gauge("sipedge_transactions", "Transactions in progress.", 7, {{"worker", "0"}});
  m.gauge("sipedge_dialogs", "Dialogs in progress.", 5, {{"worker", "1"}});
  m.gauge("sipedge_transactions", "Transactions in progress.", 8, {{"worker", "1"}});
  EXPECT_EQ(m.str(),
            "# HELP sipedge_dialogs Dialogs in progress.\n"
            "# TYPE sipedge_dialogs gauge\n"
            "sipedge_dialogs{worker=\"0\"} 4\n"
            "sipedge_dialogs{worker=\"1\"} 5\n"
            "# HELP sipedge_transactions Transactions in progress.\n"
            "# TYPE sipedge_transactions gauge\n"
            "sipedge_transactions{worker=\"0\"} 7\n"
            "sipedge_transactions{worker=\"1\"} 8\n");
}

TEST(MetricsTextTest, SeveralLabelsKeepTheirOrder) {
  MetricsText m;
  m.gauge("sipedge_next_hop_up", "1 when the next hop answers.", 1,
          {{"hop", "proxy.example.net"}, {"transport", "tls"}});
  EXPECT_EQ(m.str(),
            "# HELP sipedge_next_hop_up 1 when the next hop answers.\n"
            "# TYPE sipedge_next_hop_up gauge\n"
            "sipedge_next_hop_up{hop=\"proxy.example.net\",transport=\"tls\"} 1\n");
}

TEST(MetricsTextTest, LabelValuesAreEscaped) {
  MetricsText m;
  m.counter("x_total", "h", 1, {{"v", "a\\b\"c\nd"}});
  EXPECT_EQ(m.str(),
            "# HELP x_total h\n"
            "# TYPE x_total counter\n"
            "x_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsTextTest, HelpTextEscapesBackslashAndNewlineButNotQuotes) {
  MetricsText m;
  m.gauge("g", "a \"quoted\" C:\\path\nsecond line", 0);
  EXPECT_EQ(m.str(),
            "# HELP g a \"quoted\" C:\\\\path\\nsecond line\n"
            "# TYPE g gauge\n"
            "g 0\n");
}

TEST(MetricsTextTest, EmptyHelpOmitsTheHelpLine) {
  MetricsText m;
  m.gauge("g", "", 2);
  EXPECT_EQ(m.str(), "# TYPE g gauge\ng 2\n");
}

TEST(MetricsTextTest, EmptyLabelValueAndUtf8AreKept) {
  MetricsText m;
  m.gauge("g", "h", 1, {{"a", ""}, {"b", "caf\xc3\xa9"}});
  EXPECT_EQ(m.str(), "# HELP g h\n# TYPE g gauge\ng{a=\"\",b=\"caf\xc3\xa9\"} 1\n");
}

TEST(MetricsTextTest, ValuesPrintWithoutExponentNoise) {
  EXPECT_EQ(formatMetricValue(0), "0");
  EXPECT_EQ(formatMetricValue(-0.0), "0");
  EXPECT_EQ(formatMetricValue(42), "42");
  EXPECT_EQ(formatMetricValue(-7), "-7");
  EXPECT_EQ(formatMetricValue(1e6), "1000000");
  EXPECT_EQ(formatMetricValue(1e15), "1000000000000000");
  EXPECT_EQ(formatMetricValue(9007199254740993.0), "9007199254740992");  // nearest double
  EXPECT_EQ(formatMetricValue(0.5), "0.5");
  EXPECT_EQ(formatMetricValue(0.1), "0.1");
  EXPECT_EQ(formatMetricValue(-2.25), "-2.25");
  EXPECT_EQ(formatMetricValue(1e-7), "1e-07");
  EXPECT_EQ(formatMetricValue(1e20), "1e+20");  // beyond int64: shortest round-trip form
  EXPECT_EQ(formatMetricValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(formatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(MetricsTextTest, LargeCountersStayIntegers) {
  MetricsText m;
  m.counter("c_total", "h", static_cast<double>(std::uint64_t{1} << 40));
  EXPECT_EQ(m.str(), "# HELP c_total h\n# TYPE c_total counter\nc_total 1099511627776\n");
}

TEST(MetricsTextTest, NameRules) {
  EXPECT_TRUE(isValidMetricName("sipedge_dialogs"));
  EXPECT_TRUE(isValidMetricName("_x:y_1"));
  EXPECT_TRUE(isValidMetricName(":colon"));
  EXPECT_FALSE(isValidMetricName(""));
  EXPECT_FALSE(isValidMetricName("1abc"));
  EXPECT_FALSE(isValidMetricName("a-b"));
  EXPECT_FALSE(isValidMetricName("a b"));
  EXPECT_FALSE(isValidMetricName("caf\xc3\xa9"));

  EXPECT_TRUE(isValidLabelName("worker"));
  EXPECT_TRUE(isValidLabelName("_x1"));
  EXPECT_FALSE(isValidLabelName(""));
  EXPECT_FALSE(isValidLabelName("__reserved"));
  EXPECT_FALSE(isValidLabelName("a:b"));
  EXPECT_FALSE(isValidLabelName("9a"));
  EXPECT_FALSE(isValidLabelName("a.b"));
}

using MetricsTextDeathTest = ::testing::Test;

TEST_F(MetricsTextDeathTest, BadNamesAreProgramErrors) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(MetricsText().gauge("bad-name", "h", 1), "isValidMetricName");
  EXPECT_DEATH(MetricsText().gauge("g", "h", 1, {{"bad-label", "v"}}), "isValidLabelName");
  EXPECT_DEATH(
      {
        MetricsText m;
        m.gauge("g", "h", 1);
        m.counter("g", "h", 1);
      },
      "family->type == type");
}

}  // namespace
}  // namespace sipedge::ops
