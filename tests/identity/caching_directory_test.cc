// CachingDirectory with a scripted backend and a manual clock: what is cached and for how long,
// LRU eviction, coalescing, and the Directory contract (answers now or one callback later).

#include "sipedge/identity/caching_directory.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include "../support/manual_clock.h"

namespace sipedge::identity {
namespace {

using std::chrono::milliseconds;

// A backend that keeps every lookup's callback until the test answers it, or answers at once
// when told to.
class FakeBackend final : public Directory {
 public:
  struct Call {
    Direction direction;
    Aor aor;
    Callback done;
  };

  explicit FakeBackend(bool* destroyed = nullptr) : destroyed_(destroyed) {}
  ~FakeBackend() override {
    if (destroyed_ != nullptr) {
      *destroyed_ = true;
    }
  }

  std::optional<Answer> lookup(Direction direction, const Aor& aor, Callback done) override {
    calls.push_back(Call{direction, aor, std::move(done)});
    return immediate;
  }
  DirectoryStats stats() const override { return backend_stats; }

  // Answers the i-th lookup.
  void answer(std::size_t i, const Answer& a) { calls.at(i).done(a); }

  std::vector<Call> calls;
  std::optional<Answer> immediate;
  DirectoryStats backend_stats;

 private:
  bool* destroyed_;
};

Answer found(const std::string& user) {
  Answer a;
  a.status = Status::Found;
  a.identity = Aor{user, "nyc.acme.test"};
  a.targets = {Target{"sip:" + user + "@nyc.acme.test", 1.0}};
  return a;
}

Answer notFound() {
  return Answer{Status::NotFound, {}, {}, "", {}};
}

Answer unavailable() {
  return Answer{Status::Unavailable, {}, {}, "down", {}};
}

const Aor kJerry{"jerry", "acme.test"};
const Aor kElaine{"elaine", "acme.test"};
const Aor kGeorge{"george", "acme.test"};

class CachingDirectoryTest : public ::testing::Test {
 protected:
  CachingDirectoryTest() { make(config::DirectoryCacheConfig{}); }

  void make(const config::DirectoryCacheConfig& config) {
    auto backend = std::make_unique<FakeBackend>(&backend_destroyed);
    fake = backend.get();
    cache = std::make_unique<CachingDirectory>(std::move(backend), config, clock);
  }

  // A lookup that records its callback's answers.
  std::optional<Answer> lookup(const Aor& aor, Direction d = Direction::ToInternal) {
    return cache->lookup(d, aor, [this](Answer a) { called.push_back(std::move(a)); });
  }

  testing::ManualClock clock;
  bool backend_destroyed = false;
  FakeBackend* fake = nullptr;
  std::unique_ptr<CachingDirectory> cache;
  std::vector<Answer> called;
};

TEST_F(CachingDirectoryTest, MissAsksTheBackendThenAHitAnswersAtOnce) {
  EXPECT_EQ(lookup(kJerry), std::nullopt);
  ASSERT_EQ(fake->calls.size(), 1u);
  EXPECT_EQ(fake->calls[0].aor, kJerry);
  EXPECT_EQ(fake->calls[0].direction, Direction::ToInternal);
  EXPECT_TRUE(called.empty());  // never inside lookup()
  EXPECT_EQ(cache->stats().pending, 1u);

  fake->answer(0, found("js"));
  ASSERT_EQ(called.size(), 1u);
  EXPECT_EQ(called[0], found("js"));

  EXPECT_EQ(lookup(kJerry), found("js"));
  EXPECT_EQ(fake->calls.size(), 1u);
  EXPECT_EQ(called.size(), 1u);  // a returned answer is not also called back

  const DirectoryStats s = cache->stats();
  EXPECT_EQ(s.lookups, 2u);
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_entries, 1u);
  EXPECT_EQ(s.pending, 0u);
}

TEST_F(CachingDirectoryTest, FoundIsKeptForThePositiveTtl) {
  config::DirectoryCacheConfig c;
  c.positive_ttl = milliseconds(5000);
  c.negative_ttl = milliseconds(100);
  make(c);
  lookup(kJerry);
  fake->answer(0, found("js"));
  clock.advance(milliseconds(4999));
  EXPECT_EQ(lookup(kJerry), found("js"));
  clock.advance(milliseconds(1));
  EXPECT_EQ(lookup(kJerry), std::nullopt);  // expired: asks again
  EXPECT_EQ(fake->calls.size(), 2u);
}

TEST_F(CachingDirectoryTest, NotFoundIsKeptForTheNegativeTtl) {
  config::DirectoryCacheConfig c;
  c.positive_ttl = milliseconds(5000);
  c.negative_ttl = milliseconds(300);
  make(c);
  lookup(kGeorge);
  fake->answer(0, notFound());
  clock.advance(milliseconds(299));
  EXPECT_EQ(lookup(kGeorge), notFound());
  clock.advance(milliseconds(1));
  EXPECT_EQ(lookup(kGeorge), std::nullopt);
  EXPECT_EQ(fake->calls.size(), 2u);
}

TEST_F(CachingDirectoryTest, UnavailableIsNeverCached) {
  lookup(kJerry);
  fake->answer(0, unavailable());
  ASSERT_EQ(called.size(), 1u);
  EXPECT_EQ(called[0], unavailable());
  EXPECT_EQ(lookup(kJerry), std::nullopt);
  EXPECT_EQ(fake->calls.size(), 2u);
  EXPECT_EQ(cache->stats().cache_entries, 0u);

  // An Unavailable the backend knows at once is returned at once, and not cached either.
  fake->immediate = unavailable();
  EXPECT_EQ(lookup(kElaine), unavailable());
  EXPECT_EQ(lookup(kElaine), unavailable());
  EXPECT_EQ(fake->calls.size(), 4u);
}

TEST_F(CachingDirectoryTest, AnImmediateBackendAnswerIsReturnedAndCached) {
  fake->immediate = found("eb");
  EXPECT_EQ(lookup(kElaine), found("eb"));
  fake->immediate.reset();
  EXPECT_EQ(lookup(kElaine), found("eb"));
  EXPECT_EQ(fake->calls.size(), 1u);
  EXPECT_TRUE(called.empty());
}

TEST_F(CachingDirectoryTest, ConcurrentLookupsOfOneKeyShareOneBackendLookup) {
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cache->lookup(Direction::ToInternal, kJerry,
                            [&order, i](const Answer& a) {
                              EXPECT_EQ(a, found("js"));
                              order.push_back(i);
                            }),
              std::nullopt);
  }
  // The other direction and another user are other keys.
  lookup(kJerry, Direction::ToExternal);
  lookup(kElaine);
  ASSERT_EQ(fake->calls.size(), 3u);
  EXPECT_EQ(fake->calls[1].direction, Direction::ToExternal);
  EXPECT_EQ(cache->stats().pending, 5u);

  fake->answer(0, found("js"));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));  // each once, in the order they asked
  EXPECT_EQ(cache->stats().pending, 2u);
  EXPECT_TRUE(called.empty());
  fake->answer(1, notFound());
  fake->answer(2, found("eb"));
  EXPECT_EQ(called, (std::vector<Answer>{notFound(), found("eb")}));
  EXPECT_EQ(cache->stats().pending, 0u);
}

TEST_F(CachingDirectoryTest, EvictsTheLeastRecentlyUsedEntry) {
  config::DirectoryCacheConfig c;
  c.max_entries = 2;
  make(c);
  lookup(kJerry);
  fake->answer(0, found("js"));
  lookup(kElaine);
  fake->answer(1, found("eb"));
  EXPECT_EQ(lookup(kJerry), found("js"));  // jerry is now the most recently used
  lookup(kGeorge);
  fake->answer(2, notFound());  // evicts elaine
  EXPECT_EQ(cache->stats().cache_entries, 2u);
  EXPECT_EQ(lookup(kJerry), found("js"));
  EXPECT_EQ(lookup(kGeorge), notFound());
  EXPECT_EQ(lookup(kElaine), std::nullopt);
  EXPECT_EQ(fake->calls.size(), 4u);
}

TEST_F(CachingDirectoryTest, ZeroEntriesCachesNothingButStillCoalesces) {
  config::DirectoryCacheConfig c;
  c.max_entries = 0;
  make(c);
  lookup(kJerry);
  lookup(kJerry);
  ASSERT_EQ(fake->calls.size(), 1u);
  fake->answer(0, found("js"));
  EXPECT_EQ(called.size(), 2u);
  EXPECT_EQ(lookup(kJerry), std::nullopt);
  EXPECT_EQ(fake->calls.size(), 2u);
  EXPECT_EQ(cache->stats().cache_entries, 0u);
}

TEST_F(CachingDirectoryTest, ACallbackMayLookUpAgainAndFindsTheFreshEntry) {
  std::optional<Answer> again;
  cache->lookup(Direction::ToInternal, kJerry, [&](const Answer&) {
    again = cache->lookup(Direction::ToInternal, kJerry, [](const Answer&) { FAIL(); });
  });
  fake->answer(0, found("js"));
  EXPECT_EQ(again, found("js"));
  EXPECT_EQ(fake->calls.size(), 1u);
}

TEST_F(CachingDirectoryTest, DestroyingDropsPendingCallbacksWithTheBackend) {
  lookup(kJerry);
  lookup(kJerry);
  cache.reset();
  EXPECT_TRUE(backend_destroyed);
  EXPECT_TRUE(called.empty());
}

TEST_F(CachingDirectoryTest, ACallbackThatDestroysTheCacheEndsTheDelivery) {
  int calls = 0;
  for (int i = 0; i < 3; ++i) {
    cache->lookup(Direction::ToInternal, kJerry, [&](const Answer&) {
      ++calls;
      cache.reset();
    });
  }
  // The backend's callback object is destroyed with the cache while it runs: copy it first, as a
  // real backend's loop would hold it.
  Directory::Callback done = fake->calls[0].done;
  done(found("js"));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(backend_destroyed);
}

TEST_F(CachingDirectoryTest, StatsCarryTheBackendsHealth) {
  fake->backend_stats.unavailable = 7;
  fake->backend_stats.backend_up = false;
  fake->backend_stats.lookups = 99;  // the cache counts its own
  lookup(kJerry);
  const DirectoryStats s = cache->stats();
  EXPECT_EQ(s.unavailable, 7u);
  EXPECT_FALSE(s.backend_up);
  EXPECT_EQ(s.lookups, 1u);
}

}  // namespace
}  // namespace sipedge::identity
