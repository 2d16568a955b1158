#include "sipedge/base/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace sipedge::log {
namespace {

// 2026-11-22T12:00:00.123Z
constexpr std::int64_t kNoon = 1795348800123;

TEST(LogFormatTest, TextLine) {
  EXPECT_EQ(formatLine(Format::Text, kNoon, Level::Warning, "tls", "profile edge: expires soon"),
            "2026-11-22T12:00:00.123Z warning tls: profile edge: expires soon\n");
  EXPECT_EQ(formatLine(Format::Text, 0, Level::Error, "app", "x"),
            "1970-01-01T00:00:00.000Z error app: x\n");
  EXPECT_EQ(formatLine(Format::Text, 1005, Level::Debug, "a", "b"),
            "1970-01-01T00:00:01.005Z debug a: b\n");
}

TEST(LogFormatTest, TextEscapesControlCharacters) {
  EXPECT_EQ(formatLine(Format::Text, 0, Level::Info, "sip",
                       "a\nb\r\tc\\d\x01"
                       "e\x7f"),
            "1970-01-01T00:00:00.000Z info sip: a\\nb\\r\\tc\\\\d\\x01e\\x7f\n");
  // UTF-8 passes through.
  EXPECT_EQ(formatLine(Format::Text, 0, Level::Info, "c", "caf\xc3\xa9"),
            "1970-01-01T00:00:00.000Z info c: caf\xc3\xa9\n");
}

TEST(LogFormatTest, JsonLine) {
  EXPECT_EQ(formatLine(Format::Json, kNoon, Level::Info, "config", "reloaded"),
            "{\"time\":\"2026-11-22T12:00:00.123Z\",\"level\":\"info\",\"component\":\"config\","
            "\"message\":\"reloaded\"}\n");
}

TEST(LogFormatTest, JsonEscapes) {
  EXPECT_EQ(formatLine(Format::Json, 0, Level::Error, "t\"s", "say \"hi\"\\\n\x01"),
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"error\",\"component\":\"t\\\"s\","
            "\"message\":\"say \\\"hi\\\"\\\\\\n\\u0001\"}\n");
}

TEST(LogFormatTest, NegativeTimeRoundsDown) {
  EXPECT_EQ(formatLine(Format::Text, -1, Level::Info, "a", "b"),
            "1969-12-31T23:59:59.999Z info a: b\n");
}

TEST(LogLevelTest, NamesRoundTrip) {
  for (const Level l : {Level::Error, Level::Warning, Level::Info, Level::Debug}) {
    EXPECT_EQ(parseLevel(toString(l)), l);
  }
  EXPECT_EQ(parseLevel("verbose"), std::nullopt);
  EXPECT_EQ(parseLevel("INFO"), std::nullopt);
}

// Counts how often it is formatted.
struct Counted {
  int* count;
};

}  // namespace
}  // namespace sipedge::log

template <>
struct fmt::formatter<sipedge::log::Counted> : fmt::formatter<std::string_view> {
  auto format(const sipedge::log::Counted& c, fmt::format_context& ctx) const {
    ++*c.count;
    return fmt::formatter<std::string_view>::format("counted", ctx);
  }
};

namespace sipedge::log {
namespace {

class LogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sipedge-log-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    file_ = (dir_ / "sipedge.log").string();
  }
  void TearDown() override {
    // Back to the defaults, so that other tests in this process log as usual.
    ASSERT_TRUE(configure(Level::Info, Format::Text, "").has_value());
    std::filesystem::remove_all(dir_);
  }
  std::vector<std::string> lines() const {
    std::ifstream in(file_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }
  std::filesystem::path dir_;
  std::string file_;
};

TEST_F(LogFileTest, WritesEnabledLevelsOnly) {
  ASSERT_TRUE(configure(Level::Warning, Format::Text, file_).has_value());
  EXPECT_TRUE(enabled(Level::Error));
  EXPECT_TRUE(enabled(Level::Warning));
  EXPECT_FALSE(enabled(Level::Info));
  error("app", "one {}", 1);
  warning("tls", "profile {}: {}", "edge", "two");
  info("app", "three");
  debug("app", "four");
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find(" error app: one 1"), std::string::npos) << got[0];
  EXPECT_NE(got[1].find(" warning tls: profile edge: two"), std::string::npos) << got[1];
  EXPECT_EQ(got[0].size(), std::string("2026-11-22T12:00:00.123Z error app: one 1").size());
}

TEST_F(LogFileTest, DisabledLevelFormatsNothing) {
  ASSERT_TRUE(configure(Level::Error, Format::Text, file_).has_value());
  int count = 0;
  debug("app", "{}", Counted{&count});
  info("app", "{}", Counted{&count});
  EXPECT_EQ(count, 0);
  error("app", "{}", Counted{&count});
  EXPECT_EQ(count, 1);
  ASSERT_EQ(lines().size(), 1u);
}

TEST_F(LogFileTest, JsonFormat) {
  ASSERT_TRUE(configure(Level::Debug, Format::Json, file_).has_value());
  debug("geo", "lookup {}", "1.2.3.4");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rfind("{\"time\":\"", 0), 0u) << got[0];
  EXPECT_NE(
      got[0].find("\"level\":\"debug\",\"component\":\"geo\",\"message\":\"lookup 1.2.3.4\"}"),
      std::string::npos)
      << got[0];
}

TEST_F(LogFileTest, AppendsToAnExistingFile) {
  {
    std::ofstream out(file_);
    out << "earlier\n";
  }
  ASSERT_TRUE(configure(Level::Info, Format::Text, file_).has_value());
  info("app", "later");
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "earlier");
}

TEST_F(LogFileTest, UnopenableFileKeepsTheOldSink) {
  ASSERT_TRUE(configure(Level::Info, Format::Text, file_).has_value());
  const std::string bad = (dir_ / "missing" / "x.log").string();
  auto r = configure(Level::Debug, Format::Json, bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find(bad), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("No such file"), std::string::npos) << r.error();
  // Level, format and file unchanged.
  EXPECT_FALSE(enabled(Level::Debug));
  info("app", "still text");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find(" info app: still text"), std::string::npos);
}

TEST_F(LogFileTest, ReconfigureSwitchesFiles) {
  ASSERT_TRUE(configure(Level::Info, Format::Text, file_).has_value());
  info("app", "first");
  const std::string second = (dir_ / "second.log").string();
  ASSERT_TRUE(configure(Level::Info, Format::Text, second).has_value());
  info("app", "second");
  EXPECT_EQ(lines().size(), 1u);
  std::ifstream in(second);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find("second"), std::string::npos);
}

// Threads logging at once while the sink is switched: every line arrives whole.
TEST_F(LogFileTest, ConcurrentWritersNeverInterleave) {
  ASSERT_TRUE(configure(Level::Info, Format::Text, file_).has_value());
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  const std::string payload(200, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &payload] {
      for (int i = 0; i < kLines; ++i) {
        info("t" + std::to_string(t), "{} {}", i, payload);
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(configure(Level::Info, Format::Text, file_).has_value());
  }
  for (auto& th : threads) {
    th.join();
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads * kLines));
  for (const std::string& line : got) {
    ASSERT_EQ(line.substr(line.size() - payload.size()), payload) << line;
    ASSERT_NE(line.find(" info t"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace sipedge::log
