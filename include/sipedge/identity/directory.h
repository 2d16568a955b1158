#pragma once

// Identity mapping (DESIGN.md `identity`): the Directory maps an external address-of-record (what
// partners use, e.g. jerry@acme.com) to the internal identity and the targets calls go to (e.g.
// js@nyc.acme.com), and an internal identity back to its external one (for outbound From and
// P-Asserted-Identity). Backends implement Directory and nothing else: the static map
// (static_directory.h, pure), LDAP (ldap_directory.h, asynchronous on a worker's loop), and the
// cache that wraps a backend which waits (caching_directory.h).
//
// One Directory per worker, used on that worker's thread only.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipedge::identity {

// "user@host": host in lower case, user as written (RFC 3261 19.1.4 compares users exactly).
struct Aor {
  std::string user;
  std::string host;
  std::string str() const { return user + "@" + host; }
  bool operator==(const Aor&) const = default;
};
// Parses "user@host" (no scheme, no parameters); the host is lower-cased. nullopt when either
// part is empty, there is no '@', or the text is not headerSafe.
std::optional<Aor> parseAor(std::string_view text);

// Whether a directory's value can go into the headers and Request-URI sipedge writes: no control
// character, space, '<', '>' or '"', nothing that could end a header or a name-addr there.
bool headerSafe(std::string_view text);

struct Target {
  std::string uri;  // "sip:js@nyc.acme.com"
  double q = 1.0;
  bool operator==(const Target&) const = default;
};

enum class Status : std::uint8_t {
  Found,
  NotFound,     // unknown, or not federated: callers answer both the same way
  Unavailable,  // the backend cannot answer now (fail closed: 503)
};
std::string_view statusName(Status s);

enum class Direction : std::uint8_t { ToInternal, ToExternal };
std::string_view directionName(Direction d);

struct Answer {
  Status status = Status::NotFound;
  // Found: the mapped identity, the internal one for ToInternal, the external one for ToExternal.
  Aor identity;
  // Found, ToInternal: where requests for the user go, highest q first, at least one. Empty for
  // ToExternal.
  std::vector<Target> targets;
  // Unavailable (and NotFound where useful): why, for the operator's log. Never sent to a peer.
  std::string detail;
  // Found, ToInternal: the user's digest credentials, HA1 as lower-case hex (32 digits: MD5, 64:
  // SHA-256), for the registrar's authentication ([registrar.auth] without ha1_file). Static:
  // `ha1` of [[directory.static.users]]; LDAP: [directory.ldap] ha1_attribute. Empty: none.
  std::vector<std::string> credentials;
  bool operator==(const Answer&) const = default;
};

struct DirectoryStats {
  std::uint64_t lookups = 0;      // calls to lookup()
  std::uint64_t unavailable = 0;  // answers with Status::Unavailable
  std::uint64_t cache_entries = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t pending = 0;  // lookups waiting for the backend
  bool backend_up = true;     // false while the backend is unreachable
};

class Directory {
 public:
  using Callback = std::function<void(Answer)>;
  virtual ~Directory() = default;

  // Maps `aor` in `direction`. When the answer needs no waiting (static map, cache hit, backend
  // known to be down) it is returned and `done` is never called. Otherwise returns nullopt and
  // calls `done` exactly once, later, on the calling worker's thread, never from inside lookup().
  // Destroying the directory drops the pending callbacks without calling them; a caller whose
  // interest ended (a CANCEL) checks its own state when the callback runs.
  virtual std::optional<Answer> lookup(Direction direction, const Aor& aor, Callback done) = 0;

  virtual DirectoryStats stats() const = 0;
};

}  // namespace sipedge::identity
