// policy::MemoryRateLimiter (token buckets, bounded memory, thread safety) and the address
// helpers Ip::parse / contains.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "sipedge/policy/policy.h"

namespace sipedge::policy {
namespace {

MonoTime at(std::int64_t ms) {
  return MonoTime{} + std::chrono::milliseconds(ms);
}

TEST(MemoryRateLimiter, TakesUpToBurstThenRefills) {
  MemoryRateLimiter limiter;
  const config::RateLimitConfig rate{10, 5};
  double left = -1;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(limiter.take("k", rate, at(0), left)) << i;
    EXPECT_DOUBLE_EQ(left, 4 - i);
  }
  EXPECT_FALSE(limiter.take("k", rate, at(0), left));
  EXPECT_DOUBLE_EQ(left, 0);
  EXPECT_FALSE(limiter.take("k", rate, at(50), left));  // half a token
  EXPECT_NEAR(left, 0.5, 1e-9);
  EXPECT_TRUE(limiter.take("k", rate, at(100), left));  // 10/s: one token per 100 ms
  EXPECT_NEAR(left, 0, 1e-9);
  // Capped at the burst, however long the pause.
  EXPECT_TRUE(limiter.take("k", rate, at(100000), left));
  EXPECT_DOUBLE_EQ(left, 4);
  EXPECT_EQ(limiter.size(), 1u);
}

TEST(MemoryRateLimiter, KeysAreIndependent) {
  MemoryRateLimiter limiter;
  const config::RateLimitConfig rate{1, 1};
  double left = 0;
  EXPECT_TRUE(limiter.take("a", rate, at(0), left));
  EXPECT_FALSE(limiter.take("a", rate, at(0), left));
  EXPECT_TRUE(limiter.take("b", rate, at(0), left));
  EXPECT_EQ(limiter.size(), 2u);
}

TEST(MemoryRateLimiter, BurstDefaultsToMaxOfOneAndRate) {
  MemoryRateLimiter limiter;
  double left = 0;
  int taken = 0;
  while (limiter.take("fast", {7.2, 0}, at(0), left)) {
    ++taken;
  }
  EXPECT_EQ(taken, 8);  // ceil(7.2)
  taken = 0;
  while (limiter.take("slow", {0.1, 0}, at(0), left)) {
    ++taken;
  }
  EXPECT_EQ(taken, 1);
}

TEST(MemoryRateLimiter, ZeroRateIsUnlimitedAndStoresNothing) {
  MemoryRateLimiter limiter;
  double left = 0;
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(limiter.take("k", {0, 1}, at(0), left));
  }
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(MemoryRateLimiter, TimeGoingBackwardsRefillsNothing) {
  MemoryRateLimiter limiter;
  const config::RateLimitConfig rate{1, 1};
  double left = 0;
  EXPECT_TRUE(limiter.take("k", rate, at(10000), left));
  EXPECT_FALSE(limiter.take("k", rate, at(0), left));
  EXPECT_FALSE(limiter.take("k", rate, at(10500), left));
  EXPECT_TRUE(limiter.take("k", rate, at(11000), left));
}

TEST(MemoryRateLimiter, FloodOfDistinctKeysStaysBounded) {
  MemoryRateLimiter limiter(4096);
  const config::RateLimitConfig rate{1, 10};
  double left = 0;
  for (int i = 0; i < 100000; ++i) {
    // Same instant: no bucket is full again, so eviction must drop live ones.
    EXPECT_TRUE(limiter.take("s:p:" + std::to_string(i) + ":req", rate, at(0), left));
  }
  EXPECT_LE(limiter.size(), 4096u);
  EXPECT_GT(limiter.size(), 1000u);
  for (int i = 0; i < 100000; ++i) {
    limiter.take("t:" + std::to_string(i), rate, at(1000 + i), left);
  }
  EXPECT_LE(limiter.size(), 4096u);
}

TEST(MemoryRateLimiter, EvictionKeepsDrainedBuckets) {
  // 16 shards of 8: every shard sweeps many times during the flood.
  MemoryRateLimiter limiter(128);
  const config::RateLimitConfig slow{0.001, 3};  // ~50 minutes to refill
  double left = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.take("hot", slow, at(0), left));
  }
  EXPECT_FALSE(limiter.take("hot", slow, at(0), left));
  for (int i = 0; i < 20000; ++i) {
    limiter.take("flood:" + std::to_string(i), {1, 10}, at(i), left);
  }
  EXPECT_LE(limiter.size(), 128u);
  // Had "hot" been dropped it would come back full.
  EXPECT_FALSE(limiter.take("hot", slow, at(20000), left));
}

TEST(MemoryRateLimiter, IdleFullBucketsAreDroppedFirst) {
  MemoryRateLimiter limiter(16);  // one bucket per shard
  double left = 0;
  for (int i = 0; i < 1000; ++i) {
    // Each key is full again 1 ms later, so every insert finds the shard's bucket full.
    limiter.take("k" + std::to_string(i), {1000, 1}, at(i * 10), left);
  }
  EXPECT_LE(limiter.size(), 16u);
}

TEST(MemoryRateLimiter, ConcurrentTakesCountEveryTokenOnce) {
  MemoryRateLimiter limiter(1 << 12);
  const config::RateLimitConfig shared{1, 20000};
  std::atomic<int> granted{0};
  auto hammer = [&](int id) {
    double left = 0;
    for (int i = 0; i < 20000; ++i) {
      if (limiter.take("shared", shared, at(0), left)) {
        granted.fetch_add(1, std::memory_order_relaxed);
      }
      limiter.take("own:" + std::to_string(id) + ":" + std::to_string(i % 5000), {5, 5}, at(i),
                   left);
    }
  };
  std::thread a(hammer, 1);
  std::thread b(hammer, 2);
  a.join();
  b.join();
  EXPECT_EQ(granted.load(), 20000);  // 40000 attempts at one instant, burst 20000
  EXPECT_LE(limiter.size(), std::size_t{1} << 12);
}

// ---- addresses -----------------------------------------------------------------------------

config::Cidr cidr(std::string_view text) {
  return config::parseCidr(text).value();
}
Ip ip(std::string_view text) {
  return Ip::parse(text).value();
}

TEST(Ip, ParsesLiterals) {
  auto v4 = Ip::parse("192.0.2.33");
  ASSERT_TRUE(v4.has_value());
  EXPECT_FALSE(v4->ipv6);
  EXPECT_EQ(v4->bytes[0], 192);
  EXPECT_EQ(v4->bytes[3], 33);
  EXPECT_EQ(v4->bytes[4], 0);
  auto v6 = Ip::parse("2001:db8::1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->bytes[0], 0x20);
  EXPECT_EQ(v6->bytes[15], 1);
  auto mapped = Ip::parse("::ffff:192.0.2.1");
  ASSERT_TRUE(mapped.has_value());
  EXPECT_TRUE(mapped->ipv6);
  EXPECT_EQ(Ip::parse("2001:DB8::1"), v6);
}

TEST(Ip, RefusesWhatIsNotALiteral) {
  for (std::string_view bad : {"", "192.0.2", "192.0.2.256", "192.0.2.1:5060", "[2001:db8::1]",
                               "2001:db8::1%eth0", "host.example", " 192.0.2.1", "2001:db8:::1",
                               "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:ffff:ffff"}) {
    EXPECT_FALSE(Ip::parse(bad).has_value()) << bad;
  }
  EXPECT_FALSE(Ip::parse(std::string_view("192.0.2.1\0x", 11)).has_value());
  EXPECT_TRUE(Ip::parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").has_value());
}

TEST(Ip, Contains) {
  EXPECT_TRUE(contains(cidr("192.0.2.0/24"), ip("192.0.2.255")));
  EXPECT_FALSE(contains(cidr("192.0.2.0/24"), ip("192.0.3.0")));
  // Prefixes that are not a multiple of 8.
  EXPECT_TRUE(contains(cidr("192.0.2.128/25"), ip("192.0.2.200")));
  EXPECT_FALSE(contains(cidr("192.0.2.128/25"), ip("192.0.2.127")));
  EXPECT_TRUE(contains(cidr("10.0.0.0/31"), ip("10.0.0.1")));
  EXPECT_FALSE(contains(cidr("10.0.0.0/31"), ip("10.0.0.2")));
  EXPECT_TRUE(contains(cidr("172.16.0.0/12"), ip("172.31.255.255")));
  EXPECT_FALSE(contains(cidr("172.16.0.0/12"), ip("172.32.0.0")));
  // Host routes and the whole space.
  EXPECT_TRUE(contains(cidr("192.0.2.7"), ip("192.0.2.7")));
  EXPECT_FALSE(contains(cidr("192.0.2.7"), ip("192.0.2.6")));
  EXPECT_TRUE(contains(cidr("0.0.0.0/0"), ip("203.0.113.9")));
  EXPECT_TRUE(contains(cidr("::/0"), ip("2001:db8::1")));
  // IPv6.
  EXPECT_TRUE(contains(cidr("2001:db8::/33"), ip("2001:db8:7fff::1")));
  EXPECT_FALSE(contains(cidr("2001:db8::/33"), ip("2001:db8:8000::1")));
  EXPECT_TRUE(contains(cidr("2001:db8::1/128"), ip("2001:db8::1")));
  // IPv4 never matches a plain IPv6 network, nor the reverse.
  EXPECT_FALSE(contains(cidr("::/0"), ip("192.0.2.1")));
  EXPECT_FALSE(contains(cidr("0.0.0.0/0"), ip("2001:db8::1")));
  EXPECT_FALSE(contains(cidr("0.0.0.0/0"), ip("::1")));
  // IPv4-mapped IPv6 addresses are the IPv4 address they carry.
  EXPECT_TRUE(contains(cidr("192.0.2.0/24"), ip("::ffff:192.0.2.9")));
  EXPECT_FALSE(contains(cidr("192.0.2.0/24"), ip("::ffff:192.0.3.9")));
  EXPECT_TRUE(contains(cidr("0.0.0.0/0"), ip("::ffff:1.2.3.4")));
  EXPECT_FALSE(contains(cidr("192.0.2.0/24"), ip("::192.0.2.9")));  // IPv4-compatible: no
  // ... and, like any IPv4 address, never match an IPv6 network.
  EXPECT_FALSE(contains(cidr("::/0"), ip("::ffff:192.0.2.9")));
  EXPECT_FALSE(contains(cidr("::ffff:192.0.2.0/120"), ip("::ffff:192.0.2.9")));
  EXPECT_FALSE(contains(cidr("::ffff:192.0.2.0/120"), ip("192.0.2.9")));
}

}  // namespace
}  // namespace sipedge::policy
