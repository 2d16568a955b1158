#pragma once

// The HA1 file: precomputed H(user:realm:password) per user, realm and algorithm, so that no
// password is stored (docs/digest-auth.md). One `user:realm:HA1` line each (htdigest-compatible);
// `#` comments and blank lines allowed; HA1 is 32 hex digits (MD5) or 64 (SHA-256), so a user may
// have one line per algorithm.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sipedge/auth/digest.h"
#include "sipedge/base/result.h"

namespace sipedge::auth {

struct Ha1Error {
  std::size_t line = 0;    // 1-based
  std::size_t column = 0;  // 1-based, in bytes
  std::string message;     // what was expected
  bool operator==(const Ha1Error&) const = default;
};

// "SOURCE:LINE:COL: message".
std::string toString(const Ha1Error& error, std::string_view source);

// The largest HA1 file load() reads.
inline constexpr std::size_t kMaxHa1FileBytes = 64 * 1024 * 1024;

class Ha1Table {
 public:
  Ha1Table() = default;

  // Pure. Users and realms are kept exactly as written (they compare exactly); HA1 is stored in
  // lower case. Errors: a missing field, an empty user or realm, a control character, bad hex or
  // length, or a duplicate (user, realm, algorithm), each at its line and column.
  [[nodiscard]] static Result<Ha1Table, Ha1Error> parse(std::string_view text);
  // Reads and parses a file: errors are "PATH:LINE:COL: message" (or "PATH: cannot read: ...").
  [[nodiscard]] static Result<Ha1Table, std::string> load(const std::string& path);

  // The lower-case HA1 hex for this user, realm and algorithm.
  std::optional<std::string_view> find(std::string_view user, std::string_view realm,
                                       Algorithm algorithm) const;
  std::size_t size() const { return entries_.size(); }

 private:
  static std::string key(std::string_view user, std::string_view realm, Algorithm algorithm);
  std::unordered_map<std::string, std::string> entries_;  // key() -> HA1 hex
};

}  // namespace sipedge::auth
