#pragma once

// Nonces for digest authentication: minted statelessly (a timestamp, a counter and random bytes,
// authenticated with HMAC-SHA256 under a per-process secret), so that any worker can check any
// nonce; and a bounded table of the nonces used so far, for replay protection (RFC 7616 5.12).
// Thread-safe: one NonceManager is shared by all workers.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "sipedge/base/result.h"
#include "sipedge/base/time.h"

namespace sipedge::auth {

enum class NonceCheck : std::uint8_t {
  Valid,
  Stale,    // ours, but older than the lifetime (or forgotten): retry with a fresh nonce
  Invalid,  // not minted with our secret (forged, garbled, or from before a restart)
  Replay,   // nc not above the last one accepted (or, without qop, the nonce was already used)
};

std::string_view nonceCheckName(NonceCheck check);

class NonceManager;
using NonceManagerPtr = std::unique_ptr<NonceManager>;

class NonceManager {
 public:
  // `secret` keys the MAC (use 32 random bytes: see create()); nonces older than `lifetime` are
  // Stale; at most `max_tracked` used nonces are remembered (at least 1).
  NonceManager(std::string secret, Duration lifetime, std::size_t max_tracked);
  NonceManager(const NonceManager&) = delete;
  NonceManager& operator=(const NonceManager&) = delete;

  // With a secret of 32 bytes from OpenSSL's RAND_bytes; an error when the RNG fails.
  [[nodiscard]] static Result<NonceManagerPtr, std::string> create(Duration lifetime,
                                                                   std::size_t max_tracked);

  // A fresh nonce: 48 base64url characters (no padding, so no quoting issues).
  std::string mint(std::int64_t now_ms);

  // Whether the nonce is ours and fresh, without recording a use (no lock taken).
  NonceCheck check(std::string_view nonce, std::int64_t now_ms) const;

  // check() and, when the nonce is ours and fresh, the replay check: with qop the nonce count must
  // be above the last one accepted for this nonce; without qop a nonce may be used once. A Valid
  // answer records the use. When the table is full the oldest nonce is forgotten (expired ones
  // go first, as they are the oldest); a forgotten nonce, and any nonce minted before it, is
  // Stale from then on, so eviction never reopens a replay.
  NonceCheck use(std::string_view nonce, std::uint32_t nc, bool has_qop, std::int64_t now_ms);

  // Number of nonces in the replay table (for metrics and tests).
  std::size_t tracked() const;
  Duration lifetime() const { return lifetime_; }

 private:
  struct Used {
    std::uint32_t last_nc = 0;
    bool without_qop = false;
  };
  // The decoded token (its timestamp first, big-endian and offset, so that the map is ordered by
  // mint time) or empty when it is not one of ours.
  std::string decodeOurs(std::string_view nonce) const;
  void purgeExpiredLocked(std::int64_t now_ms);

  const std::string secret_;
  const Duration lifetime_;
  const std::size_t max_tracked_;

  mutable std::mutex mutex_;
  std::uint32_t counter_ = 0;         // guarded by mutex_
  std::map<std::string, Used> used_;  // guarded by mutex_; key: the decoded token
  bool evicted_ = false;              // guarded by mutex_
  std::uint64_t evicted_up_to_ = 0;   // guarded by mutex_: newest mint time evicted (biased)
};

}  // namespace sipedge::auth
