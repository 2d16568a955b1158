#include "sipedge/auth/nonce.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sipedge::auth {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

NonceManager manager(std::size_t max_tracked = 100) {
  return NonceManager(std::string(32, 'k'), Duration(300'000), max_tracked);
}

TEST(NonceTest, MintedNoncesAreUniqueTokens) {
  auto m = manager();
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string n = m.mint(kT0);
    EXPECT_EQ(n.size(), 48u);
    EXPECT_EQ(
        n.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_TRUE(seen.insert(n).second);
  }
}

TEST(NonceTest, ValidThenStaleAfterLifetime) {
  auto m = manager();
  const std::string n = m.mint(kT0);
  EXPECT_EQ(m.check(n, kT0), NonceCheck::Valid);
  EXPECT_EQ(m.check(n, kT0 + 300'000), NonceCheck::Valid);
  EXPECT_EQ(m.check(n, kT0 + 300'001), NonceCheck::Stale);
  EXPECT_EQ(m.use(n, 1, true, kT0 + 300'001), NonceCheck::Stale);
  EXPECT_EQ(m.check(n, kT0 - 5), NonceCheck::Valid);  // a clock step back is not fatal
  EXPECT_EQ(m.lifetime(), Duration(300'000));
}

TEST(NonceTest, TamperedOrForeignIsInvalid) {
  auto m = manager();
  std::string n = m.mint(kT0);
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string t = n;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(m.check(t, kT0), NonceCheck::Invalid) << i;
  }
  EXPECT_EQ(m.check("", kT0), NonceCheck::Invalid);
  EXPECT_EQ(m.check(n.substr(1), kT0), NonceCheck::Invalid);
  EXPECT_EQ(m.check(n + "AAAA", kT0), NonceCheck::Invalid);
  EXPECT_EQ(m.check(std::string(48, '!'), kT0), NonceCheck::Invalid);
  EXPECT_EQ(m.use(std::string(48, 'A'), 1, true, kT0), NonceCheck::Invalid);
  // Another secret (e.g. before a restart) does not verify.
  NonceManager other(std::string(32, 'x'), Duration(300'000), 10);
  EXPECT_EQ(other.check(n, kT0), NonceCheck::Invalid);
}

TEST(NonceTest, NonceCountMustIncrease) {
  auto m = manager();
  const std::string n = m.mint(kT0);
  EXPECT_EQ(m.use(n, 1, true, kT0), NonceCheck::Valid);
  EXPECT_EQ(m.use(n, 1, true, kT0), NonceCheck::Replay);
  EXPECT_EQ(m.use(n, 3, true, kT0), NonceCheck::Valid);  // gaps are fine
  EXPECT_EQ(m.use(n, 2, true, kT0), NonceCheck::Replay);
  EXPECT_EQ(m.use(n, 4, true, kT0), NonceCheck::Valid);
  EXPECT_EQ(m.use(n, 5, false, kT0), NonceCheck::Replay);  // no qop: a used nonce is spent
  EXPECT_EQ(m.tracked(), 1u);
}

TEST(NonceTest, NcZeroIsAReplay) {
  auto m = manager();
  EXPECT_EQ(m.use(m.mint(kT0), 0, true, kT0), NonceCheck::Replay);
}

TEST(NonceTest, WithoutQopANonceIsUsedOnce) {
  auto m = manager();
  const std::string n = m.mint(kT0);
  EXPECT_EQ(m.use(n, 0, false, kT0), NonceCheck::Valid);
  EXPECT_EQ(m.use(n, 0, false, kT0), NonceCheck::Replay);
  EXPECT_EQ(m.use(n, 7, true, kT0), NonceCheck::Replay);
}

TEST(NonceTest, TableIsBoundedAndEvictionNeverReopensReplay) {
  auto m = manager(3);
  std::vector<std::string> n;
  for (int i = 0; i < 5; ++i) {
    n.push_back(m.mint(kT0 + i));
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(m.use(n[i], 1, true, kT0 + 10), NonceCheck::Valid) << i;
    EXPECT_LE(m.tracked(), 3u);
  }
  EXPECT_EQ(m.tracked(), 3u);
  // n[0] and n[1] were forgotten: they are stale now (the client gets a fresh nonce), never valid.
  EXPECT_EQ(m.use(n[0], 1, true, kT0 + 10), NonceCheck::Stale);
  EXPECT_EQ(m.use(n[1], 2, true, kT0 + 10), NonceCheck::Stale);
  // The tracked ones still count.
  EXPECT_EQ(m.use(n[4], 1, true, kT0 + 10), NonceCheck::Replay);
  EXPECT_EQ(m.use(n[4], 2, true, kT0 + 10), NonceCheck::Valid);
  // A nonce minted after the evicted ones is unaffected.
  EXPECT_EQ(m.use(m.mint(kT0 + 20), 1, true, kT0 + 20), NonceCheck::Valid);
}

TEST(NonceTest, ExpiredEntriesGoFirst) {
  auto m = manager(3);
  const std::string old1 = m.mint(kT0);
  const std::string old2 = m.mint(kT0 + 1);
  EXPECT_EQ(m.use(old1, 1, true, kT0), NonceCheck::Valid);
  EXPECT_EQ(m.use(old2, 1, true, kT0), NonceCheck::Valid);
  EXPECT_EQ(m.tracked(), 2u);
  // Past their lifetime both are purged, so nothing live is evicted.
  const std::int64_t later = kT0 + 400'000;
  const std::string a = m.mint(later);
  const std::string b = m.mint(later);
  EXPECT_EQ(m.use(a, 1, true, later), NonceCheck::Valid);
  EXPECT_EQ(m.tracked(), 1u);
  EXPECT_EQ(m.use(b, 1, true, later), NonceCheck::Valid);
  EXPECT_EQ(m.use(a, 2, true, later), NonceCheck::Valid);  // still tracked, not evicted
  EXPECT_EQ(m.tracked(), 2u);
}

TEST(NonceTest, ThreadSafe) {
  auto m = manager(1000);
  std::vector<std::thread> threads;
  std::atomic<int> valid{0};
  const std::string shared = m.mint(kT0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const std::string n = m.mint(kT0);
        if (m.use(n, 1, true, kT0) == NonceCheck::Valid) {
          ++valid;
        }
        if (m.use(shared, 1, true, kT0) == NonceCheck::Valid) {
          ++valid;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(valid.load(), 801);  // each fresh nonce once, the shared one exactly once
  EXPECT_LE(m.tracked(), 1000u);
}

TEST(NonceTest, CreateUsesTheRng) {
  auto a = NonceManager::create(Duration(1000), 10);
  auto b = NonceManager::create(Duration(1000), 10);
  ASSERT_TRUE(a) << a.error();
  ASSERT_TRUE(b) << b.error();
  const std::string n = (*a)->mint(kT0);
  EXPECT_EQ((*a)->check(n, kT0), NonceCheck::Valid);
  EXPECT_EQ((*b)->check(n, kT0), NonceCheck::Invalid);
}

}  // namespace
}  // namespace sipedge::auth
