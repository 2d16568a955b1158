// What only the SQLite store does: persistence, the writer thread, its errors, and readBindings.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "location_test_util.h"

namespace sipedge::location {
namespace {

using test::binding;
using test::fullBinding;
using test::kNow;
using test::put;
using test::RawDb;
using test::waitFor;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    settings_.path = dir_.file("bindings.sqlite");
    settings_.flush_interval = Duration{5};
  }

  std::unique_ptr<Store> open(UnixSeconds now = kNow) {
    auto store = openSqliteStore(settings_, now);
    EXPECT_TRUE(store.has_value()) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  std::vector<Binding> read(std::optional<std::string_view> aor = std::nullopt,
                            UnixSeconds now = kNow) {
    auto bindings = readBindings(settings_.path, aor, now);
    EXPECT_TRUE(bindings.has_value()) << bindings.error().message;
    return bindings ? *bindings : std::vector<Binding>{};
  }

  void writeFile(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  test::TempDir dir_;
  SqliteSettings settings_;
};

TEST_F(SqliteStoreTest, EveryFieldSurvivesReopening) {
  const Binding full =
      fullBinding("alice@acme.example", "sip:alice@198.51.100.4:5061;transport=tls");
  Binding plain = binding("alice@acme.example", "sip:alice@192.0.2.1", 1000, kNow + 60, kNow);
  Binding one_path = binding("bob@acme.example", "sip:bob@192.0.2.2");
  one_path.path = {"<sip:edge.example;lr>"};
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    put(*store, "alice@acme.example", {full, plain});
    put(*store, "bob@acme.example", {one_path});
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  const std::vector<Binding> want{plain, full, one_path};  // alice: q 1000 before q 0.7
  EXPECT_EQ(store->all(kNow), want);
  EXPECT_EQ(store->lookup("alice@acme.example", kNow), (std::vector<Binding>{plain, full}));
  EXPECT_EQ(store->stats().aors, 2U);
  EXPECT_EQ(store->stats().bindings, 3U);
  EXPECT_EQ(read(), want);
}

TEST_F(SqliteStoreTest, LatestStateIsPersisted) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    put(*store, "alice@acme.example", {binding("alice@acme.example", "sip:a1@a")});
    put(*store, "bob@acme.example", {binding("bob@acme.example", "sip:b@b")});
    ASSERT_TRUE(waitFor([&] { return store->stats().persisted >= 2; }));
    put(*store, "alice@acme.example", {binding("alice@acme.example", "sip:a2@a")});
    put(*store, "bob@acme.example", {});
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  const auto all = store->all(kNow);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].contact, "sip:a2@a");
}

TEST_F(SqliteStoreTest, DestructorWritesWhatIsQueued) {
  settings_.flush_interval = std::chrono::hours(1);
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    put(*store, "alice@acme.example", {binding("alice@acme.example", "sip:a@a")});
    EXPECT_EQ(store->stats().persisted, 0U);
  }
  EXPECT_EQ(read().size(), 1U);
}

TEST_F(SqliteStoreTest, ExpiredRowsAreNotLoaded) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    put(*store, "alice@acme.example",
        {binding("alice@acme.example", "sip:short@a", 1000, kNow + 10),
         binding("alice@acme.example", "sip:long@a", 1000, kNow + 100)});
  }
  EXPECT_EQ(read(std::nullopt, kNow + 10).size(), 1U);
  auto store = open(kNow + 10);
  ASSERT_NE(store, nullptr);
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.bindings, 1U);
  EXPECT_EQ(store->all(kNow).size(), 1U);  // not in memory at all
  store.reset();
  // ... and open() deleted the expired row.
  EXPECT_EQ(RawDb(settings_.path).text("SELECT count(*) FROM bindings"), "1");
}

TEST_F(SqliteStoreTest, PurgeDeletesRows) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  put(*store, "alice@acme.example",
      {binding("alice@acme.example", "sip:short@a", 1000, kNow + 10),
       binding("alice@acme.example", "sip:long@a", 1000, kNow + 100)});
  put(*store, "bob@acme.example", {binding("bob@acme.example", "sip:b@b", 1000, kNow + 10)});
  ASSERT_TRUE(waitFor([&] { return store->stats().persisted >= 2; }));
  RawDb db(settings_.path);
  EXPECT_EQ(db.text("SELECT count(*) FROM bindings"), "3");
  EXPECT_EQ(store->purge(kNow + 10), 2U);
  EXPECT_TRUE(waitFor([&] { return db.text("SELECT count(*) FROM bindings") == "1"; }));
}

TEST_F(SqliteStoreTest, DatabaseIsInWalMode) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  RawDb db(settings_.path);
  EXPECT_EQ(db.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.text("PRAGMA user_version"), "1");
  EXPECT_NE(db.text("PRAGMA application_id"), "0");
}

TEST_F(SqliteStoreTest, ReadBindingsWhileTheStoreWrites) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  put(*store, "alice@acme.example", {binding("alice@acme.example", "sip:a@a")});
  ASSERT_TRUE(waitFor([&] { return store->stats().persisted >= 1; }));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      put(*store, "bob@acme.example",
          {binding("bob@acme.example", "sip:b" + std::to_string(i) + "@b")});
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  int reads = 0;
  for (; reads < 200; ++reads) {
    auto alice = readBindings(settings_.path, "alice@acme.example", kNow);
    ASSERT_TRUE(alice.has_value()) << alice.error().message;
    ASSERT_EQ(alice->size(), 1U);
    auto everything = readBindings(settings_.path, std::nullopt, kNow);
    ASSERT_TRUE(everything.has_value()) << everything.error().message;
    ASSERT_GE(everything->size(), 1U);
    ASSERT_LE(everything->size(), 2U);
  }
  stop = true;
  writer.join();
  EXPECT_TRUE(waitFor([&] { return read(std::string_view("bob@acme.example")).size() == 1; }));
  EXPECT_EQ(store->stats().persist_errors, 0U);
}

TEST_F(SqliteStoreTest, ReadBindingsFiltersAndOrders) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    put(*store, "bob@acme.example", {binding("bob@acme.example", "sip:b@b")});
    put(*store, "alice@acme.example",
        {binding("alice@acme.example", "sip:a1@a", 200),
         binding("alice@acme.example", "sip:a2@a", 900, kNow + 20)});
  }
  const auto all = read();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].contact, "sip:a2@a");
  EXPECT_EQ(all[1].contact, "sip:a1@a");
  EXPECT_EQ(all[2].contact, "sip:b@b");
  EXPECT_EQ(read(std::string_view("alice@acme.example"), kNow + 20).size(), 1U);
  EXPECT_TRUE(read(std::string_view("carol@acme.example")).empty());
}

TEST_F(SqliteStoreTest, ReadBindingsOfAMissingFileNamesIt) {
  const std::string path = dir_.file("missing.sqlite");
  auto r = readBindings(path, std::nullopt, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot open " + path + ": unable to open database file");
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0);  // and did not create it
}

TEST_F(SqliteStoreTest, GarbageFileIsRefused) {
  writeFile(settings_.path, std::string(4096, 'x'));
  auto store = openSqliteStore(settings_, kNow);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message, "cannot open " + settings_.path + ": file is not a database");
  auto r = readBindings(settings_.path, std::nullopt, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot open " + settings_.path + ": file is not a database");
}

TEST_F(SqliteStoreTest, AnotherDatabaseIsRefused) {
  {
    RawDb db(settings_.path);
    ASSERT_TRUE(db.exec("CREATE TABLE t (x)"));
  }
  auto store = openSqliteStore(settings_, kNow);
  ASSERT_FALSE(store.has_value());
  EXPECT_NE(store.error().message.find(settings_.path + ": not a sipedge location database"),
            std::string::npos)
      << store.error().message;
  auto r = readBindings(settings_.path, std::nullopt, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(settings_.path + ": not a sipedge location database"),
            std::string::npos);
  // Left as it was: not switched to WAL.
  EXPECT_EQ(RawDb(settings_.path).text("PRAGMA journal_mode"), "delete");
}

TEST_F(SqliteStoreTest, EmptyFileIsNotReadButBecomesAStore) {
  writeFile(settings_.path, "");
  auto r = readBindings(settings_.path, std::nullopt, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(settings_.path + ": not a sipedge location database"),
            std::string::npos);
  EXPECT_NE(open(), nullptr);
  EXPECT_TRUE(read().empty());
}

TEST_F(SqliteStoreTest, OtherSchemaVersionIsRefused) {
  ASSERT_NE(open(), nullptr);
  ASSERT_TRUE(RawDb(settings_.path).exec("PRAGMA user_version = 2"));
  auto store = openSqliteStore(settings_, kNow);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message, settings_.path +
                                       ": location database schema version 2, this sipedge "
                                       "reads version 1");
  auto r = readBindings(settings_.path, std::nullopt, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, store.error().message);
}

TEST_F(SqliteStoreTest, MissingDirectoryIsAnError) {
  settings_.path = dir_.file("no/such/dir/bindings.sqlite");
  auto store = openSqliteStore(settings_, kNow);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message,
            "cannot open " + settings_.path + ": unable to open database file");
}

TEST_F(SqliteStoreTest, QueueLimitDropsNewAors) {
  settings_.flush_interval = std::chrono::hours(1);  // nothing written before the destructor
  settings_.max_queued = 2;
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    put(*store, "alice@acme.example", {binding("alice@acme.example", "sip:a1@a")});
    put(*store, "bob@acme.example", {binding("bob@acme.example", "sip:b@b")});
    put(*store, "carol@acme.example", {binding("carol@acme.example", "sip:c@c")});   // dropped
    put(*store, "alice@acme.example", {binding("alice@acme.example", "sip:a2@a")});  // replaces
    const StoreStats stats = store->stats();
    EXPECT_EQ(stats.queue_dropped, 1U);
    EXPECT_EQ(stats.aors, 3U);  // memory has them all
    EXPECT_EQ(store->lookup("carol@acme.example", kNow).size(), 1U);
  }
  const auto persisted = read();
  ASSERT_EQ(persisted.size(), 2U);
  EXPECT_EQ(persisted[0].contact, "sip:a2@a");
  EXPECT_EQ(persisted[1].contact, "sip:b@b");
}

// Another connection holds the write lock: the writer's transactions fail (busy), are counted and
// retried, while updates and lookups go on; once the lock is released the retry succeeds.
TEST_F(SqliteStoreTest, WriteErrorIsCountedAndRetried) {
  settings_.busy_timeout = Duration{10};
  auto store = open();
  ASSERT_NE(store, nullptr);
  RawDb locker(settings_.path);
  ASSERT_TRUE(locker.exec("BEGIN IMMEDIATE"));
  put(*store, "alice@acme.example", {binding("alice@acme.example", "sip:a@a")});
  ASSERT_TRUE(waitFor([&] { return store->stats().persist_errors >= 2; }));
  StoreStats stats = store->stats();
  EXPECT_EQ(stats.persisted, 0U);
  EXPECT_EQ(stats.last_error, settings_.path + ": database is locked");
  // Callers are not held up.
  put(*store, "bob@acme.example", {binding("bob@acme.example", "sip:b@b")});
  EXPECT_EQ(store->lookup("alice@acme.example", kNow).size(), 1U);
  EXPECT_EQ(store->purge(kNow + 7200), 2U);
  put(*store, "alice@acme.example",
      {binding("alice@acme.example", "sip:a2@a", 1000, kNow + 9000, kNow + 7200)}, kNow + 7200);
  ASSERT_TRUE(locker.exec("COMMIT"));
  ASSERT_TRUE(waitFor([&] { return store->stats().persisted >= 2; }));
  // The retried batch holds the latest set of each AOR, and the purge.
  EXPECT_TRUE(waitFor([&] {
    return RawDb(settings_.path).text("SELECT group_concat(contact) FROM bindings") == "sip:a2@a";
  }));
  stats = store->stats();
  EXPECT_GE(stats.persisted, 2U);  // 3 when a batch was in flight at COMMIT
  EXPECT_GE(stats.persist_errors, 2U);
}

// The same threads as the typed test, and then everything is found again after reopening.
TEST_F(SqliteStoreTest, ConcurrentUpdatesAreAllPersisted) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 250;
  std::vector<Binding> want;
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::string own = "user" + std::to_string(t) + "@acme.example";
        for (int i = 0; i < kRounds; ++i) {
          const std::string contact = "sip:" + std::to_string(i) + "@h";
          store->update(own, kNow, [&](std::vector<Binding>& bindings) {
            bindings.push_back(binding(own, contact));
            return true;
          });
          store->update("shared@acme.example", kNow, [&](std::vector<Binding>& bindings) {
            if (bindings.size() < 3) {
              bindings.push_back(binding("shared@acme.example", contact + std::to_string(t)));
            } else {
              bindings[static_cast<std::size_t>(i) % 3].cseq++;
            }
            return true;
          });
          (void)store->lookup("shared@acme.example", kNow);
          (void)store->stats();
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    want = store->all(kNow);
    EXPECT_EQ(want.size(), static_cast<std::size_t>(kThreads * kRounds + 3));
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->all(kNow), want);
}

}  // namespace
}  // namespace sipedge::location
