// The behaviour both stores share (location::Store), run on each through typed tests.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "location_test_util.h"

namespace sipedge::location {
namespace {

using test::binding;
using test::kNow;
using test::put;

struct MemoryStoreMaker {
  static std::unique_ptr<Store> make(const test::TempDir&) { return makeMemoryStore(); }
};

struct SqliteStoreMaker {
  static std::unique_ptr<Store> make(const test::TempDir& dir) {
    SqliteSettings settings;
    settings.path = dir.file("bindings.sqlite");
    settings.flush_interval = Duration{5};
    auto store = openSqliteStore(settings, kNow);
    EXPECT_TRUE(store.has_value()) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }
};

template <class Maker>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    store_ = Maker::make(dir_);
    ASSERT_NE(store_, nullptr);
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

using StoreMakers = ::testing::Types<MemoryStoreMaker, SqliteStoreMaker>;

class StoreMakerNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryStoreMaker> ? "Memory" : "Sqlite";
  }
};

TYPED_TEST_SUITE(StoreTest, StoreMakers, StoreMakerNames);

std::vector<std::string> contacts(const std::vector<Binding>& bindings) {
  std::vector<std::string> out;
  for (const Binding& b : bindings) {
    out.push_back(b.contact);
  }
  return out;
}

TYPED_TEST(StoreTest, EmptyStoreFindsNothing) {
  EXPECT_TRUE(this->store_->lookup("alice@acme.example", kNow).empty());
  EXPECT_TRUE(this->store_->all(kNow).empty());
  EXPECT_EQ(this->store_->purge(kNow), 0U);
}

TYPED_TEST(StoreTest, LookupInUseOrder) {
  put(*this->store_, "alice@acme.example",
      {binding("alice@acme.example", "sip:low@a", 500, kNow + 60, kNow),
       binding("alice@acme.example", "sip:old@a", 1000, kNow + 60, kNow - 10),
       binding("alice@acme.example", "sip:b@a", 1000, kNow + 60, kNow),
       binding("alice@acme.example", "sip:a@a", 1000, kNow + 60, kNow)});
  // q first, then the most recently updated, then by contact.
  EXPECT_EQ(contacts(this->store_->lookup("alice@acme.example", kNow)),
            (std::vector<std::string>{"sip:a@a", "sip:b@a", "sip:old@a", "sip:low@a"}));
  EXPECT_TRUE(this->store_->lookup("bob@acme.example", kNow).empty());
}

TYPED_TEST(StoreTest, ExpiredBindingsAreNotFound) {
  put(*this->store_, "alice@acme.example",
      {binding("alice@acme.example", "sip:short@a", 1000, kNow + 10),
       binding("alice@acme.example", "sip:long@a", 1000, kNow + 100)});
  EXPECT_EQ(this->store_->lookup("alice@acme.example", kNow + 9).size(), 2U);
  // Expired at its expiry second.
  EXPECT_EQ(contacts(this->store_->lookup("alice@acme.example", kNow + 10)),
            std::vector<std::string>{"sip:long@a"});
  EXPECT_EQ(contacts(this->store_->all(kNow + 10)), std::vector<std::string>{"sip:long@a"});
  EXPECT_TRUE(this->store_->lookup("alice@acme.example", kNow + 100).empty());
  // Still in memory until purged.
  EXPECT_EQ(this->store_->stats().bindings, 2U);
}

TYPED_TEST(StoreTest, UpdateSeesUnexpiredBindingsInUseOrder) {
  put(*this->store_, "alice@acme.example",
      {binding("alice@acme.example", "sip:gone@a", 1000, kNow + 5),
       binding("alice@acme.example", "sip:low@a", 100, kNow + 60),
       binding("alice@acme.example", "sip:high@a", 900, kNow + 60)});
  std::vector<std::string> seen;
  this->store_->update("alice@acme.example", kNow + 5, [&](std::vector<Binding>& bindings) {
    seen = contacts(bindings);
    return false;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"sip:high@a", "sip:low@a"}));
}

TYPED_TEST(StoreTest, UpdateReturningFalseChangesNothing) {
  put(*this->store_, "alice@acme.example", {binding("alice@acme.example", "sip:a@a")});
  const StoreStats before = this->store_->stats();
  this->store_->update("alice@acme.example", kNow, [](std::vector<Binding>& bindings) {
    bindings.clear();
    return false;
  });
  this->store_->update("bob@acme.example", kNow, [](std::vector<Binding>& bindings) {
    bindings.push_back(binding("bob@acme.example", "sip:b@b"));
    return false;
  });
  EXPECT_EQ(contacts(this->store_->lookup("alice@acme.example", kNow)),
            std::vector<std::string>{"sip:a@a"});
  EXPECT_TRUE(this->store_->lookup("bob@acme.example", kNow).empty());
  EXPECT_EQ(this->store_->stats().updates, before.updates);
}

TYPED_TEST(StoreTest, UpdateEditsInPlace) {
  put(*this->store_, "alice@acme.example",
      {binding("alice@acme.example", "sip:a@a", 1000), binding("alice@acme.example", "sip:b@a")});
  this->store_->update("alice@acme.example", kNow + 1, [](std::vector<Binding>& bindings) {
    EXPECT_EQ(bindings.size(), 2U);
    bindings[0].q = 100;  // sip:a@a now sorts last
    bindings.push_back(binding("", "sip:c@a", 500, kNow + 60, kNow + 1));
    return true;
  });
  const auto found = this->store_->lookup("alice@acme.example", kNow + 1);
  EXPECT_EQ(contacts(found), (std::vector<std::string>{"sip:b@a", "sip:c@a", "sip:a@a"}));
  // The store fills in the AOR of what the change added.
  EXPECT_EQ(found[1].aor, "alice@acme.example");
}

TYPED_TEST(StoreTest, UpdateDropsBindingsAlreadyExpired) {
  put(*this->store_, "alice@acme.example",
      {binding("alice@acme.example", "sip:a@a", 1000, kNow),  // an Expires: 0 left in
       binding("alice@acme.example", "sip:b@a", 1000, kNow + 60)});
  EXPECT_EQ(this->store_->stats().bindings, 1U);
  EXPECT_EQ(contacts(this->store_->all(kNow - 1)), std::vector<std::string>{"sip:b@a"});
}

TYPED_TEST(StoreTest, EmptySetRemovesTheAor) {
  put(*this->store_, "alice@acme.example", {binding("alice@acme.example", "sip:a@a")});
  put(*this->store_, "bob@acme.example", {binding("bob@acme.example", "sip:b@b")});
  EXPECT_EQ(this->store_->stats().aors, 2U);
  put(*this->store_, "alice@acme.example", {});
  EXPECT_TRUE(this->store_->lookup("alice@acme.example", kNow).empty());
  const StoreStats stats = this->store_->stats();
  EXPECT_EQ(stats.aors, 1U);
  EXPECT_EQ(stats.bindings, 1U);
  EXPECT_EQ(stats.updates, 3U);
}

TYPED_TEST(StoreTest, AllByAorThenUseOrder) {
  put(*this->store_, "carol@acme.example", {binding("carol@acme.example", "sip:c@c")});
  put(*this->store_, "alice@acme.example",
      {binding("alice@acme.example", "sip:a2@a", 300), binding("alice@acme.example", "sip:a1@a")});
  put(*this->store_, "bob@acme.example", {binding("bob@acme.example", "sip:b@b", 1000, kNow + 10)});
  EXPECT_EQ(contacts(this->store_->all(kNow)),
            (std::vector<std::string>{"sip:a1@a", "sip:a2@a", "sip:b@b", "sip:c@c"}));
  EXPECT_EQ(contacts(this->store_->all(kNow + 10)),
            (std::vector<std::string>{"sip:a1@a", "sip:a2@a", "sip:c@c"}));
}

TYPED_TEST(StoreTest, PurgeRemovesExpiredAndCounts) {
  put(*this->store_, "alice@acme.example",
      {binding("alice@acme.example", "sip:a1@a", 1000, kNow + 10),
       binding("alice@acme.example", "sip:a2@a", 1000, kNow + 20)});
  put(*this->store_, "bob@acme.example", {binding("bob@acme.example", "sip:b@b", 1000, kNow + 10)});
  EXPECT_EQ(this->store_->purge(kNow + 9), 0U);
  EXPECT_EQ(this->store_->purge(kNow + 10), 2U);  // at or before now
  StoreStats stats = this->store_->stats();
  EXPECT_EQ(stats.aors, 1U);
  EXPECT_EQ(stats.bindings, 1U);
  EXPECT_EQ(stats.purged, 2U);
  EXPECT_EQ(this->store_->purge(kNow + 30), 1U);
  stats = this->store_->stats();
  EXPECT_EQ(stats.aors, 0U);
  EXPECT_EQ(stats.bindings, 0U);
  EXPECT_EQ(stats.purged, 3U);
  EXPECT_EQ(stats.updates, 2U);
}

TYPED_TEST(StoreTest, StatsStartAtZero) {
  const StoreStats stats = this->store_->stats();
  EXPECT_EQ(stats.aors, 0U);
  EXPECT_EQ(stats.bindings, 0U);
  EXPECT_EQ(stats.updates, 0U);
  EXPECT_EQ(stats.purged, 0U);
  EXPECT_EQ(stats.persist_errors, 0U);
  EXPECT_EQ(stats.queue_dropped, 0U);
  EXPECT_EQ(stats.last_error, "");
}

// Four threads: each adds bindings to its own AOR and to a shared one (keeping the shared one at
// most 8 long), and looks both up in between. No update may be lost.
TYPED_TEST(StoreTest, ConcurrentUpdatesAndLookups) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 250;
  std::atomic<int> bad_lookups{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string own = "user" + std::to_string(t) + "@acme.example";
      for (int i = 0; i < kRounds; ++i) {
        const std::string contact = "sip:" + std::to_string(t) + "-" + std::to_string(i) + "@h";
        this->store_->update(own, kNow, [&](std::vector<Binding>& bindings) {
          bindings.push_back(binding(own, contact));
          return true;
        });
        this->store_->update("shared@acme.example", kNow, [&](std::vector<Binding>& bindings) {
          bindings.push_back(binding("shared@acme.example", contact, 1000, kNow + 60, kNow + i));
          if (bindings.size() > 8) {
            bindings.erase(bindings.begin() + 8, bindings.end());
          }
          return true;
        });
        if (this->store_->lookup(own, kNow).size() != static_cast<std::size_t>(i + 1)) {
          ++bad_lookups;
        }
        const auto shared = this->store_->lookup("shared@acme.example", kNow);
        if (shared.empty() || shared.size() > 8) {
          ++bad_lookups;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(bad_lookups.load(), 0);
  const StoreStats stats = this->store_->stats();
  EXPECT_EQ(stats.aors, static_cast<std::uint64_t>(kThreads + 1));
  EXPECT_EQ(stats.bindings, static_cast<std::uint64_t>(kThreads * kRounds + 8));
  EXPECT_EQ(stats.updates, static_cast<std::uint64_t>(2 * kThreads * kRounds));
  EXPECT_EQ(this->store_->all(kNow).size(), static_cast<std::size_t>(kThreads * kRounds + 8));
}

TEST(FormatQ, AsWrittenInAContact) {
  EXPECT_EQ(formatQ(1000), "1");
  EXPECT_EQ(formatQ(500), "0.5");
  EXPECT_EQ(formatQ(250), "0.25");
  EXPECT_EQ(formatQ(125), "0.125");
  EXPECT_EQ(formatQ(1), "0.001");
  EXPECT_EQ(formatQ(0), "0");
}

}  // namespace
}  // namespace sipedge::location
