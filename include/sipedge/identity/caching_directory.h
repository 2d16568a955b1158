#pragma once

// A cache in front of a Directory backend that waits (LDAP): Found answers are kept for
// positive_ttl, NotFound for negative_ttl, Unavailable never. At most max_entries entries, the
// least recently used evicted first; max_entries = 0 caches nothing (lookups still coalesce).
// Keyed by (direction, aor).
//
// Concurrent lookups of one key share one backend lookup: every waiting caller is answered once,
// in the order it asked. The Directory contract holds for callers: an answer known now (a hit, or
// the backend's own immediate answer) is returned; otherwise `done` runs once, later, from the
// backend's callback, never inside lookup(). Destroying the cache destroys the backend, so no
// callback runs after.
//
// stats(): lookups, cache_entries, cache_hits, cache_misses and pending are the cache's own
// (pending counts the callers waiting, not the backend lookups); unavailable and backend_up are
// the backend's.

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sipedge/base/time.h"
#include "sipedge/config/config.h"
#include "sipedge/identity/directory.h"

namespace sipedge::identity {

class CachingDirectory final : public Directory {
 public:
  CachingDirectory(std::unique_ptr<Directory> backend, const config::DirectoryCacheConfig& config,
                   Clock& clock);
  ~CachingDirectory() override;
  CachingDirectory(const CachingDirectory&) = delete;
  CachingDirectory& operator=(const CachingDirectory&) = delete;

  std::optional<Answer> lookup(Direction direction, const Aor& aor, Callback done) override;
  DirectoryStats stats() const override;

 private:
  struct Key {
    Direction direction;
    Aor aor;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const;
  };
  struct Entry {
    Key key;
    Answer answer;
    MonoTime expires;
  };
  using Lru = std::list<Entry>;  // most recently used first

  void onAnswer(const Key& key, Answer answer);
  void store(const Key& key, const Answer& answer);

  std::unique_ptr<Directory> backend_;
  config::DirectoryCacheConfig config_;
  Clock& clock_;
  Lru lru_;
  std::unordered_map<Key, Lru::iterator, KeyHash> index_;
  // Callers waiting for the backend, per key; the first one started the backend lookup.
  std::unordered_map<Key, std::vector<Callback>, KeyHash> waiting_;
  std::uint64_t pending_ = 0;
  std::uint64_t lookups_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  // Expires with the cache: a callback that destroyed the cache stops the delivery loop.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sipedge::identity
