#include "dns_cache.h"

namespace sipedge::dns {

std::optional<Answer> DnsCache::find(const LookupKey& key, MonoTime now) {
  const std::string k = canonicalKey(key);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  if (it->second.expires <= now) {
    erase(k);
    return std::nullopt;
  }
  Answer out = it->second.answer;
  const auto left = std::chrono::ceil<std::chrono::seconds>(it->second.expires - now);
  out.ttl = static_cast<std::uint32_t>(left.count());
  out.cached = true;
  return out;
}

void DnsCache::insert(const LookupKey& key, Answer answer, std::chrono::seconds ttl, MonoTime now) {
  if (ttl.count() <= 0 || max_entries_ == 0) {
    return;
  }
  std::string k = canonicalKey(key);
  erase(k);
  // Expired entries go first; only then does a live one make room.
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    entries_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  while (entries_.size() >= max_entries_ && !by_expiry_.empty()) {
    entries_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
    ++evictions_;
  }
  const MonoTime expires = now + ttl;
  answer.cached = false;
  by_expiry_.emplace(expires, k);
  entries_.emplace(std::move(k), Entry{std::move(answer), expires});
}

void DnsCache::clear() {
  entries_.clear();
  by_expiry_.clear();
}

void DnsCache::erase(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return;
  }
  by_expiry_.erase({it->second.expires, key});
  entries_.erase(it);
}

}  // namespace sipedge::dns
