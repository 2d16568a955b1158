// Stateless nonces with a bounded replay table (RFC 7616 3.3 and 5.12).
//
// A nonce is base64url(T || C || R || MAC): T the mint time in ms (8 bytes, big-endian, biased by
// 2^63 so that byte order is time order), C a per-manager counter (4 bytes), R 8 random bytes,
// MAC the first 16 bytes of HMAC-SHA256(secret, T || C || R). 36 bytes, 48 characters.

#include "sipedge/auth/nonce.h"

#include <algorithm>
#include <array>
#include <utility>

#include "crypto.h"

namespace sipedge::auth {

namespace {

constexpr std::size_t kSignedBytes = 20;
constexpr std::size_t kMacBytes = 16;
constexpr std::size_t kRawBytes = kSignedBytes + kMacBytes;
constexpr std::size_t kTextBytes = kRawBytes / 3 * 4;
constexpr std::uint64_t kBias = std::uint64_t{1} << 63;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() / 3 * 4);
  for (std::size_t i = 0; i + 3 <= raw.size(); i += 3) {
    const std::uint32_t v =
        (static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i])) << 16) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i + 1])) << 8) |
        static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i + 2]));
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  return out;  // callers pass whole 3-byte groups only
}

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '-') {
    return 62;
  }
  if (c == '_') {
    return 63;
  }
  return -1;
}

// Whole 4-character groups only; empty on any other character.
std::string unbase64url(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i + 4 <= text.size(); i += 4) {
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const int s = sextet(text[i + j]);
      if (s < 0) {
        return {};
      }
      v = (v << 6) | static_cast<std::uint32_t>(s);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xFF));
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
    out.push_back(static_cast<char>(v & 0xFF));
  }
  return out;
}

void putBigEndian(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}

std::uint64_t biasedTime(std::string_view raw) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(raw[i]);
  }
  return v;
}

std::uint64_t bias(std::int64_t ms) {
  return static_cast<std::uint64_t>(ms) ^ kBias;
}

// Whether a nonce minted at `minted` (biased) is older than `lifetime` at `now_ms`.
bool expired(std::uint64_t minted, std::int64_t now_ms, Duration lifetime) {
  const std::uint64_t now = bias(now_ms);
  return now > minted && now - minted > static_cast<std::uint64_t>(lifetime.count());
}

}  // namespace

std::string_view nonceCheckName(NonceCheck check) {
  switch (check) {
    case NonceCheck::Valid: return "valid";
    case NonceCheck::Stale: return "stale";
    case NonceCheck::Invalid: return "invalid";
    case NonceCheck::Replay: return "replay";
  }
  return "?";
}

NonceManager::NonceManager(std::string secret, Duration lifetime, std::size_t max_tracked)
    : secret_(std::move(secret)),
      lifetime_(lifetime.count() < 0 ? Duration(0) : lifetime),
      max_tracked_(max_tracked == 0 ? 1 : max_tracked) {}

Result<NonceManagerPtr, std::string> NonceManager::create(Duration lifetime,
                                                          std::size_t max_tracked) {
  std::array<std::uint8_t, 32> secret{};
  if (!crypto::randomBytes(secret.data(), secret.size())) {
    return fail(std::string("cannot generate the nonce secret: RAND_bytes failed"));
  }
  return std::make_unique<NonceManager>(
      std::string(reinterpret_cast<const char*>(secret.data()), secret.size()), lifetime,
      max_tracked);
}

std::string NonceManager::mint(std::int64_t now_ms) {
  std::uint32_t counter = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    counter = counter_++;
  }
  std::array<std::uint8_t, 8> random{};
  // On an RNG failure the nonce stays unique (time and counter) and authenticated: only its
  // unpredictability suffers, which digest does not rely on.
  static_cast<void>(crypto::randomBytes(random.data(), random.size()));
  std::string raw;
  raw.reserve(kRawBytes);
  putBigEndian(raw, bias(now_ms), 8);
  putBigEndian(raw, counter, 4);
  raw.append(reinterpret_cast<const char*>(random.data()), random.size());
  std::array<std::uint8_t, 32> mac{};
  static_cast<void>(crypto::hmacSha256(secret_, raw, mac));
  raw.append(reinterpret_cast<const char*>(mac.data()), kMacBytes);
  return base64url(raw);
}

std::string NonceManager::decodeOurs(std::string_view nonce) const {
  if (nonce.size() != kTextBytes) {
    return {};
  }
  std::string raw = unbase64url(nonce);
  if (raw.size() != kRawBytes) {
    return {};
  }
  std::array<std::uint8_t, 32> mac{};
  if (!crypto::hmacSha256(secret_, std::string_view(raw).substr(0, kSignedBytes), mac)) {
    return {};
  }
  const std::string_view expected(reinterpret_cast<const char*>(mac.data()), kMacBytes);
  if (!crypto::equalConstantTime(expected, std::string_view(raw).substr(kSignedBytes))) {
    return {};
  }
  return raw;
}

NonceCheck NonceManager::check(std::string_view nonce, std::int64_t now_ms) const {
  const std::string raw = decodeOurs(nonce);
  if (raw.empty()) {
    return NonceCheck::Invalid;
  }
  return expired(biasedTime(raw), now_ms, lifetime_) ? NonceCheck::Stale : NonceCheck::Valid;
}

void NonceManager::purgeExpiredLocked(std::int64_t now_ms) {
  // Ordered by mint time: the expired ones are at the front.
  while (!used_.empty() && expired(biasedTime(used_.begin()->first), now_ms, lifetime_)) {
    used_.erase(used_.begin());
  }
}

NonceCheck NonceManager::use(std::string_view nonce, std::uint32_t nc, bool has_qop,
                             std::int64_t now_ms) {
  std::string raw = decodeOurs(nonce);
  if (raw.empty()) {
    return NonceCheck::Invalid;
  }
  const std::uint64_t minted = biasedTime(raw);
  if (expired(minted, now_ms, lifetime_)) {
    return NonceCheck::Stale;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  purgeExpiredLocked(now_ms);
  const auto it = used_.find(raw);
  if (it != used_.end()) {
    Used& u = it->second;
    if (!has_qop || u.without_qop || nc <= u.last_nc) {
      return NonceCheck::Replay;
    }
    u.last_nc = nc;
    return NonceCheck::Valid;
  }
  if (evicted_ && minted <= evicted_up_to_) {
    return NonceCheck::Stale;  // its uses were forgotten: it cannot be trusted against replay
  }
  if (has_qop && nc == 0) {
    return NonceCheck::Replay;  // nonce counts start at 1 (RFC 7616 3.4)
  }
  used_.emplace(std::move(raw), Used{has_qop ? nc : 0, !has_qop});
  while (used_.size() > max_tracked_) {
    const std::uint64_t oldest = biasedTime(used_.begin()->first);
    evicted_up_to_ = evicted_ ? std::max(evicted_up_to_, oldest) : oldest;
    evicted_ = true;
    used_.erase(used_.begin());
  }
  return NonceCheck::Valid;
}

std::size_t NonceManager::tracked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return used_.size();
}

}  // namespace sipedge::auth
