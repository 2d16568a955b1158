#include "sipedge/identity/caching_directory.h"

#include <functional>
#include <string>
#include <utility>

namespace sipedge::identity {

std::size_t CachingDirectory::KeyHash::operator()(const Key& k) const {
  std::size_t h = std::hash<std::string>()(k.aor.user);
  h = h * 31 + std::hash<std::string>()(k.aor.host);
  return h * 2 + (k.direction == Direction::ToInternal ? 0 : 1);
}

CachingDirectory::CachingDirectory(std::unique_ptr<Directory> backend,
                                   const config::DirectoryCacheConfig& config, Clock& clock)
    : backend_(std::move(backend)), config_(config), clock_(clock) {}

CachingDirectory::~CachingDirectory() {
  // The backend goes first: it drops its pending callbacks, which point into this object.
  backend_.reset();
}

std::optional<Answer> CachingDirectory::lookup(Direction direction, const Aor& aor, Callback done) {
  ++lookups_;
  Key key{direction, aor};
  if (auto it = index_.find(key); it != index_.end()) {
    if (clock_.now() < it->second->expires) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->answer;
    }
    lru_.erase(it->second);
    index_.erase(it);
  }
  ++misses_;
  if (auto w = waiting_.find(key); w != waiting_.end()) {
    w->second.push_back(std::move(done));
    ++pending_;
    return std::nullopt;
  }
  std::optional<Answer> now = backend_->lookup(
      direction, aor, [this, key](Answer answer) { onAnswer(key, std::move(answer)); });
  if (now) {
    store(key, *now);
    return now;
  }
  waiting_[key].push_back(std::move(done));
  ++pending_;
  return std::nullopt;
}

void CachingDirectory::onAnswer(const Key& key, Answer answer) {
  auto node = waiting_.extract(key);
  store(key, answer);
  if (node.empty()) {
    return;
  }
  std::vector<Callback> callers = std::move(node.mapped());
  pending_ -= callers.size();
  // A caller may destroy the cache (and with it the backend whose callback this is), or look up
  // the same key again (a hit now, or a new backend lookup after an Unavailable).
  const std::weak_ptr<bool> alive = alive_;
  for (Callback& done : callers) {
    if (alive.expired()) {
      return;
    }
    done(answer);
  }
}

void CachingDirectory::store(const Key& key, const Answer& answer) {
  if (answer.status == Status::Unavailable || config_.max_entries == 0) {
    return;
  }
  const Duration ttl = answer.status == Status::Found ? config_.positive_ttl : config_.negative_ttl;
  if (ttl <= Duration(0)) {
    return;
  }
  const MonoTime expires = clock_.now() + ttl;
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->answer = answer;
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{key, answer, expires});
  index_.emplace(key, lru_.begin());
  while (lru_.size() > config_.max_entries) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

DirectoryStats CachingDirectory::stats() const {
  DirectoryStats s = backend_->stats();
  s.lookups = lookups_;
  s.cache_entries = lru_.size();
  s.cache_hits = hits_;
  s.cache_misses = misses_;
  s.pending = pending_;
  return s;
}

}  // namespace sipedge::identity
