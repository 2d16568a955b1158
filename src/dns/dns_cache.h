#pragma once

// The per-worker answer cache: positive and negative answers per (name, type), each kept until
// its TTL runs out by the time given to it (STYLE S2: the caller reads the clock). Bounded: when
// full, the entry expiring soonest makes room.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "answer.h"
#include "sipedge/base/time.h"

namespace sipedge::dns {

class DnsCache {
 public:
  explicit DnsCache(std::size_t max_entries) : max_entries_(max_entries) {}

  // The answer for `key` if it has not expired at `now`, with `ttl` set to the seconds left
  // (rounded up) and `cached` set. An expired entry is removed.
  std::optional<Answer> find(const LookupKey& key, MonoTime now);

  // Keeps `answer` for `ttl`. A zero TTL or a zero capacity keeps nothing.
  void insert(const LookupKey& key, Answer answer, std::chrono::seconds ttl, MonoTime now);

  void clear();
  std::size_t size() const { return entries_.size(); }
  std::uint64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    Answer answer;
    MonoTime expires;
  };
  void erase(const std::string& key);

  std::size_t max_entries_;
  std::uint64_t evictions_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::set<std::pair<MonoTime, std::string>> by_expiry_;  // the same entries, soonest first
};

}  // namespace sipedge::dns
