#include "sipedge/ops/decision_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sipedge::ops {
namespace {

namespace fs = std::filesystem;

class DecisionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sipedge-decision-log-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static policy::DecisionRecord record(int n) {
    policy::DecisionRecord r;
    r.time_ms = 1795348800000 + n;
    r.id = "d-" + std::to_string(n);
    r.verdict = n % 2 == 0 ? "allow" : "deny";
    r.status = n % 2 == 0 ? 0 : 403;
    r.partner = "globex";
    r.call_id = "call-" + std::to_string(n) + "@host";
    r.from = "sip:a@globex.example";
    return r;
  }

  static std::vector<std::string> lines(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }

  config::DecisionLogConfig config(std::uint64_t max_bytes = 1 << 20, unsigned keep = 3) {
    config::DecisionLogConfig c;
    c.path = (dir_ / "decisions.log").string();
    c.max_file_bytes = max_bytes;
    c.keep_files = keep;
    c.flush_interval = config::Duration(20);
    return c;
  }

  fs::path dir_;
};

TEST_F(DecisionLogTest, WritesOneParseableLinePerRecordInOrder) {
  auto log = DecisionLog::open(config());
  ASSERT_TRUE(log) << log.error().message;
  for (int i = 0; i < 100; ++i) {
    (*log)->record(record(i));
  }
  (*log)->flush();
  const auto got = lines(dir_ / "decisions.log");
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    auto r = policy::parseJsonLine(got[i]);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, record(i));
  }
  const auto s = (*log)->stats();
  EXPECT_EQ(s.written, 100u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.write_errors, 0u);
  EXPECT_EQ(s.last_error, "");
}

TEST_F(DecisionLogTest, FlushesWithinTheIntervalWithoutFlushCalls) {
  auto log = DecisionLog::open(config());
  ASSERT_TRUE(log);
  (*log)->record(record(1));
  // flush_interval is 20 ms; allow a generous bound for a loaded machine.
  for (int i = 0; i < 200 && lines(dir_ / "decisions.log").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(lines(dir_ / "decisions.log").size(), 1u);
}

TEST_F(DecisionLogTest, AppendsToAnExistingFile) {
  {
    std::ofstream out(dir_ / "decisions.log");
    out << policy::toJsonLine(record(0));
  }
  auto log = DecisionLog::open(config());
  ASSERT_TRUE(log);
  (*log)->record(record(1));
  (*log)->flush();
  EXPECT_EQ(lines(dir_ / "decisions.log").size(), 2u);
}

TEST_F(DecisionLogTest, DestructorDrainsTheQueue) {
  {
    auto c = config();
    c.flush_interval = config::Duration(60000);
    auto log = DecisionLog::open(c);
    ASSERT_TRUE(log);
    for (int i = 0; i < 1000; ++i) {
      (*log)->record(record(i));
    }
  }
  EXPECT_EQ(lines(dir_ / "decisions.log").size(), 1000u);
}

TEST_F(DecisionLogTest, RotatesBySizeAndKeepsTheConfiguredNumberOfFiles) {
  auto log = DecisionLog::open(config(4096, 2));
  ASSERT_TRUE(log);
  const int n = 200;  // ~4 files' worth of lines at 4 KiB each
  for (int i = 10; i < 10 + n; ++i) {
    (*log)->record(record(i));
    if (i % 7 == 0) {
      (*log)->flush();  // several batches, so rotation happens between and inside batches
    }
  }
  (*log)->flush();
  const auto s = (*log)->stats();
  EXPECT_EQ(s.written, static_cast<std::uint64_t>(n));
  EXPECT_GE(s.rotations, 3u);
  EXPECT_TRUE(fs::exists(dir_ / "decisions.log"));
  EXPECT_TRUE(fs::exists(dir_ / "decisions.log.1"));
  EXPECT_TRUE(fs::exists(dir_ / "decisions.log.2"));
  EXPECT_FALSE(fs::exists(dir_ / "decisions.log.3"));
  // Every file is within the limit, holds whole lines, and the files are in order: .2 oldest.
  std::vector<std::string> all;
  for (const char* name : {"decisions.log.2", "decisions.log.1", "decisions.log"}) {
    EXPECT_LE(fs::file_size(dir_ / name), 4096u) << name;
    for (auto& l : lines(dir_ / name)) {
      all.push_back(l);
    }
  }
  ASSERT_FALSE(all.empty());
  const std::string last = policy::toJsonLine(record(10 + n - 1));
  EXPECT_EQ(all.back() + "\n", last);
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(policy::parseJsonLine(all[i - 1])->time_ms, policy::parseJsonLine(all[i])->time_ms);
  }
}

TEST_F(DecisionLogTest, KeepZeroRemovesTheOldFile) {
  auto log = DecisionLog::open(config(4096, 0));
  ASSERT_TRUE(log);
  for (int i = 0; i < 100; ++i) {
    (*log)->record(record(i));
  }
  (*log)->flush();
  EXPECT_GE((*log)->stats().rotations, 1u);
  EXPECT_FALSE(fs::exists(dir_ / "decisions.log.1"));
}

TEST_F(DecisionLogTest, AFailedRotationKeepsAppendingToThePath) {
  fs::create_directories(dir_ / "decisions.log.1" / "in-the-way");  // rename() cannot replace it
  auto log = DecisionLog::open(config(4096, 1));
  ASSERT_TRUE(log);
  for (int i = 0; i < 100; ++i) {
    (*log)->record(record(i));
  }
  (*log)->flush();
  const auto s = (*log)->stats();
  EXPECT_EQ(s.written, 100u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.write_errors, 1u);  // once per batch, not once per line
  EXPECT_EQ(s.last_error.rfind("rename " + (dir_ / "decisions.log").string() + ": ", 0), 0u)
      << s.last_error;
  EXPECT_EQ(lines(dir_ / "decisions.log").size(), 100u);
}

TEST_F(DecisionLogTest, DropsAndCountsPastTheQueueBound) {
  auto c = config();
  c.queue_records = 10;
  c.flush_interval = config::Duration(60000);
  auto log = DecisionLog::open(c);
  ASSERT_TRUE(log);
  for (int i = 0; i < 25; ++i) {
    (*log)->record(record(i));
  }
  (*log)->flush();
  const auto s = (*log)->stats();
  EXPECT_EQ(s.written, 10u);
  EXPECT_EQ(s.dropped, 15u);
}

TEST_F(DecisionLogTest, OpenNamesThePathAndTheError) {
  auto c = config();
  c.path = (dir_ / "missing" / "decisions.log").string();
  auto log = DecisionLog::open(c);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().message,
            "decision log: cannot open " + c.path + ": No such file or directory");
  c.path = "";
  EXPECT_FALSE(DecisionLog::open(c));
}

TEST_F(DecisionLogTest, AFullDiskIsCountedNotFatal) {
  auto c = config();
  c.path = "/dev/full";  // every write fails with ENOSPC
  auto log = DecisionLog::open(c);
  ASSERT_TRUE(log) << log.error().message;
  for (int i = 0; i < 10; ++i) {
    (*log)->record(record(i));
  }
  (*log)->flush();
  (*log)->record(record(11));
  (*log)->flush();
  const auto s = (*log)->stats();
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.dropped, 11u);
  EXPECT_EQ(s.write_errors, 2u);
  EXPECT_EQ(s.last_error, "write /dev/full: No space left on device");
}

TEST_F(DecisionLogTest, ARemovedDirectoryIsReportedAndWritingResumesWhenItIsBack) {
  fs::create_directories(dir_ / "sub");
  auto c = config();
  c.path = (dir_ / "sub" / "decisions.log").string();
  auto log = DecisionLog::open(c);
  ASSERT_TRUE(log);
  (*log)->record(record(1));
  (*log)->flush();
  EXPECT_EQ((*log)->stats().written, 1u);

  fs::remove_all(dir_ / "sub");
  (*log)->record(record(2));
  (*log)->flush();
  auto s = (*log)->stats();
  EXPECT_EQ(s.written, 1u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_GE(s.write_errors, 1u);
  EXPECT_EQ(s.last_error, "open " + c.path + ": No such file or directory");

  fs::create_directories(dir_ / "sub");
  (*log)->record(record(3));
  (*log)->flush();
  s = (*log)->stats();
  EXPECT_EQ(s.written, 2u);
  const auto got = lines(c.path);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(policy::parseJsonLine(got[0])->id, "d-3");
}

TEST_F(DecisionLogTest, AMovedFileIsReopenedAtThePath) {
  auto log = DecisionLog::open(config());
  ASSERT_TRUE(log);
  (*log)->record(record(1));
  (*log)->flush();
  fs::rename(dir_ / "decisions.log", dir_ / "moved.log");  // an external logrotate
  (*log)->record(record(2));
  (*log)->flush();
  EXPECT_EQ(lines(dir_ / "moved.log").size(), 1u);
  EXPECT_EQ(lines(dir_ / "decisions.log").size(), 1u);
}

TEST_F(DecisionLogTest, ManyThreadsRecordConcurrently) {
  auto log = DecisionLog::open(config(1 << 20, 50));
  ASSERT_TRUE(log);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        (*log)->record(record(t * 100000 + i));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  (*log)->flush();
  const auto s = (*log)->stats();
  EXPECT_EQ(s.written + s.dropped, 20000u);
  EXPECT_EQ(s.dropped, 0u);  // the default bound is far above this
  std::size_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    for (const auto& l : lines(entry.path())) {
      ASSERT_TRUE(policy::parseJsonLine(l)) << l;
      ++total;
    }
  }
  EXPECT_EQ(total, 20000u);
}

}  // namespace
}  // namespace sipedge::ops
