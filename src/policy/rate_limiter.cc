// MemoryRateLimiter: token buckets in kShards mutex-guarded hash maps (the key's hash picks the
// shard), so that workers taking tokens for different keys rarely wait for each other.
//
// A bucket holds its tokens, when they were last counted, and when it will be full again
// (`full_at`). Refill is lazy: at each take(), elapsed seconds * per_second tokens are added,
// capped at the burst. Time that goes backwards (it should not: MonoTime is steady) adds nothing.
//
// Bounded memory: when a new key would grow a shard past max_per_shard, the shard first drops
// every bucket that is full again by `now` (forgetting it changes nothing: it would be created
// full). If that is not enough to get down to 3/4 of the bound, the buckets closest to full are
// dropped too; each such sweep frees a quarter of the shard, so its O(n) cost is amortised over
// the inserts that follow. Dropping a bucket that is not yet full hands its key a fresh burst:
// under a flood of distinct keys, bounded memory wins over exactness.

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sipedge/base/strings.h"
#include "sipedge/policy/policy.h"

namespace sipedge::policy {

namespace {

constexpr std::size_t kShards = 16;

struct Bucket {
  double tokens = 0;
  MonoTime last{};
  MonoTime full_at{};
};

// The bucket's capacity: burst, or max(1, per_second) rounded up when burst is 0.
double capacityOf(const config::RateLimitConfig& rate) {
  if (rate.burst > 0) {
    return static_cast<double>(rate.burst);
  }
  return std::max(1.0, std::ceil(rate.per_second));
}

MonoTime fullAt(const Bucket& b, double capacity, double per_second) {
  const double missing = capacity - b.tokens;
  if (missing <= 0) {
    return b.last;
  }
  const double seconds = missing / per_second;
  // Far-off times (tiny rates) are clamped to avoid overflowing the duration.
  const double capped = std::min(seconds, 1e9);
  return b.last +
         std::chrono::duration_cast<MonoTime::duration>(std::chrono::duration<double>(capped));
}

}  // namespace

struct alignas(64) MemoryRateLimiter::Shard {
  mutable std::mutex mutex;
  StringMap<Bucket> buckets;

  // Called with the mutex held, before inserting a key into a shard of `max` buckets or more.
  void evict(MonoTime now, std::size_t max) {
    std::erase_if(buckets, [now](const auto& entry) { return entry.second.full_at <= now; });
    const std::size_t target = max - max / 4 - (max % 4 != 0 ? 1 : 0);  // < max, about 3/4
    if (buckets.size() <= target) {
      return;
    }
    std::vector<std::pair<MonoTime, decltype(buckets)::iterator>> order;
    order.reserve(buckets.size());
    for (auto it = buckets.begin(); it != buckets.end(); ++it) {
      order.emplace_back(it->second.full_at, it);
    }
    const std::size_t drop = buckets.size() - target;
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                     order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < drop; ++i) {
      buckets.erase(order[i].second);
    }
  }
};

MemoryRateLimiter::MemoryRateLimiter(std::size_t max_buckets)
    : shards_(std::make_unique<Shard[]>(kShards)),
      max_per_shard_(std::max<std::size_t>(1, max_buckets / kShards)) {}

MemoryRateLimiter::~MemoryRateLimiter() = default;

bool MemoryRateLimiter::take(std::string_view key, const config::RateLimitConfig& rate,
                             MonoTime now, double& left) {
  const double capacity = capacityOf(rate);
  if (!(rate.per_second > 0) || !std::isfinite(rate.per_second)) {
    left = capacity;  // no limit
    return true;
  }
  std::size_t h = std::hash<std::string_view>{}(key);
  h ^= h >> 29;  // the map uses the low bits; mix the high ones in for the shard
  Shard& shard = shards_[(h * 0x9E3779B97F4A7C15ULL >> 32) % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);

  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) {
      shard.evict(now, max_per_shard_);
    }
    it = shard.buckets.emplace(std::string(key), Bucket{capacity, now, now}).first;
  }
  Bucket& b = it->second;
  if (now > b.last) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(capacity, b.tokens + elapsed * rate.per_second);
    b.last = now;
  }
  // A bucket made under a larger burst (before a reload) keeps no more than the new capacity.
  b.tokens = std::min(b.tokens, capacity);
  bool ok = false;
  // The epsilon absorbs rounding in elapsed * per_second (0.1 s * 10/s must give a token).
  if (b.tokens >= 1.0 - 1e-9) {
    b.tokens = std::max(0.0, b.tokens - 1.0);
    ok = true;
  }
  b.full_at = fullAt(b, capacity, rate.per_second);
  left = b.tokens;
  return ok;
}

std::size_t MemoryRateLimiter::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    n += shards_[i].buckets.size();
  }
  return n;
}

}  // namespace sipedge::policy
