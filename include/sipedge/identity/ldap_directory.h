#pragma once

// The LDAP backend (OpenLDAP's libldap), run on one worker's loop.
//
// - Searches and the bind are asynchronous (ldap_search_ext, ldap_sasl_bind): a libevent event on
//   worker.base() watches the connection's descriptor, and ldap_result() is polled with a zero
//   timeout when it is readable. One timer enforces every search's deadline (config timeout):
//   a late search is abandoned and answered Unavailable.
// - Opening a connection (name lookup, TCP connect, the TLS handshake of ldaps:// and StartTLS)
//   runs on a short-lived helper thread: libldap 2.5 performs TLS handshakes only blockingly
//   (polling inside ldap_connect / ldap_start_tls_s for up to the network timeout), which must not
//   happen on the loop (STYLE S15). The thread hands the open handle back through Worker::post;
//   the bind and everything after run on the loop. Destroying the directory aborts a running open
//   (it shuts the socket down) and joins the thread.
// - Fail closed: after the connection is lost, or an open or bind fails, lookup() answers
//   Unavailable at once (stats().backend_up = false) and the directory reopens by itself every
//   reconnect_interval (at once after losing a connection that worked). Lookups made before the
//   first connection is up wait for it, within their timeout.
// - Answers: one entry found -> Found; none -> NotFound; several -> NotFound "ambiguous: N
//   entries"; a missing or unparsable attribute -> NotFound with a detail; LDAP errors, timeouts
//   and lost connections -> Unavailable with a detail.
// - stats().backend_up is true while a bound connection is open.
// - SIGPIPE is ignored for the process (once, in create()): libldap writes with write().
// - Callbacks run on the worker's loop, never inside lookup(). Destroying the directory abandons
//   pending searches without calling their callbacks.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sipedge/base/result.h"
#include "sipedge/config/config.h"
#include "sipedge/identity/directory.h"

namespace sipedge::loop {
class Worker;
}

namespace sipedge::identity {

// RFC 4515 section 3: escapes '*', '(', ')', '\' and NUL in an assertion value as \2a, \28, \29,
// \5c and \00, so that a value can never change a filter's structure.
std::string escapeLdapFilterValue(std::string_view value);

// Replaces {aor}, {user} and {domain} in `filter` with the escaped values of `aor`. Other text is
// copied as is.
std::string expandLdapFilter(std::string_view filter, const Aor& aor);

// Parses a target attribute value: "sip:uri" or "sip:uri;q=0.5" (also sips:). The q parameter is
// removed from the URI; other parameters stay. nullopt when the scheme is not sip/sips, the URI
// is empty, or q is not a number from 0 to 1.
std::optional<Target> parseLdapTarget(std::string_view value);

class LdapDirectory final : public Directory {
 public:
  // Validates `config`, reads the bind password (the first line of password_file) and starts
  // opening the connection. Call on the worker's thread.
  [[nodiscard]] static Result<std::unique_ptr<LdapDirectory>, std::string> create(
      const config::LdapDirectoryConfig& config, loop::Worker& worker);

  ~LdapDirectory() override;
  LdapDirectory(const LdapDirectory&) = delete;
  LdapDirectory& operator=(const LdapDirectory&) = delete;

  std::optional<Answer> lookup(Direction direction, const Aor& aor, Callback done) override;
  DirectoryStats stats() const override;

  class Core;  // the connection state machine (ldap_directory.cc), kept out of this header

 private:
  explicit LdapDirectory(std::unique_ptr<Core> core);
  std::unique_ptr<Core> core_;
};

}  // namespace sipedge::identity
