#pragma once

// The location service (RFC 3261 10, issue 6): the bindings of each address-of-record that the
// registrar writes and the B2BUA's routing and the redirect server read.
//
// - `Store` is the interface (DESIGN.md "Growth": a Redis store can replace the embedded one
//   without touching its callers). Every member is thread-safe: all workers share one store.
// - Lookups are served from memory. `update()` edits one AOR's bindings under the store's lock
//   (two workers' REGISTERs for one AOR apply one after the other) and returns at once; the
//   SQLite store persists the new set on a writer thread of its own, never on a worker loop.
// - Times are wall-clock Unix seconds: a binding's expiry must mean the same after a restart.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/base/time.h"

namespace sipedge::location {

using UnixSeconds = std::int64_t;

// One Contact of an address-of-record.
struct Binding {
  std::string aor;                // "user@host", host lower case (the To URI's user and host)
  std::string contact;            // the Contact URI as registered, without < > or header parameters
  std::uint16_t q = 1000;         // q-value x 1000 (0..1000); 1000 when the Contact had none
  UnixSeconds expires = 0;        // absolute expiry
  std::string call_id;            // of the REGISTER that last wrote it (RFC 3261 10.3 step 7)
  std::uint32_t cseq = 0;         // ... and its CSeq
  std::string instance;           // +sip.instance (RFC 5626), as written, without quotes; or ""
  std::uint32_t reg_id = 0;       // reg-id (RFC 5626); 0: none
  std::vector<std::string> path;  // Path header values (RFC 3327), first to last; each <uri>
  std::string received;           // where the REGISTER came from: "udp:127.0.0.1:5060"
  bool external = false;          // registered by a partner (the external side)
  std::string user_agent;         // for operators (sipedge bindings); may be empty
  UnixSeconds updated = 0;        // when it was last written
  bool operator==(const Binding&) const = default;
};

// Highest q first, then the most recently updated, then by contact (a stable order for forking
// and for the 200 OK's Contact list).
void sortForUse(std::vector<Binding>& bindings);

// A q-value in thousandths as written in a Contact: "1", "0.5", "0.25", "0.001", "0".
std::string formatQ(std::uint16_t q);

struct StoreStats {
  std::uint64_t aors = 0;            // gauge: AORs with at least one binding in memory
  std::uint64_t bindings = 0;        // gauge
  std::uint64_t updates = 0;         // update() calls that changed something
  std::uint64_t purged = 0;          // bindings removed because they expired
  std::uint64_t persisted = 0;       // AOR sets written to the database
  std::uint64_t persist_errors = 0;  // failed database writes (kept in memory, retried)
  std::uint64_t queue_dropped = 0;   // AOR sets that could not be queued (see SqliteSettings)
  std::string last_error;            // empty: none
};

class Store {
 public:
  virtual ~Store() = default;
  // The bindings of `aor` that have not expired at `now`, in sortForUse order.
  virtual std::vector<Binding> lookup(std::string_view aor, UnixSeconds now) const = 0;
  // Runs `change` on the AOR's unexpired bindings (sortForUse order) under the store's lock.
  // When it returns true, the edited list becomes the AOR's bindings (an empty list removes the
  // AOR) and is persisted asynchronously; false leaves them as they were. `change` must not call
  // the store. The store sets each kept binding's `aor` to `aor`, drops those that have expired
  // at `now` (an Expires of 0 left in the list), and sorts the rest (sortForUse).
  virtual void update(std::string_view aor, UnixSeconds now,
                      const std::function<bool(std::vector<Binding>&)>& change) = 0;
  // Every unexpired binding, by AOR then sortForUse order.
  virtual std::vector<Binding> all(UnixSeconds now) const = 0;
  // Removes the bindings that expired at or before `now` (from memory and the database); returns
  // how many.
  virtual std::size_t purge(UnixSeconds now) = 0;
  virtual StoreStats stats() const = 0;
};

// Bindings in memory only: lost when sipedge stops.
std::unique_ptr<Store> makeMemoryStore();

struct SqliteSettings {
  std::string path;              // the database file; created when missing
  Duration flush_interval{100};  // the writer commits queued changes at least this often
  // AOR sets waiting for the writer. A new AOR past this is not queued (queue_dropped): memory
  // has its bindings, the database keeps its previous ones until the AOR's next update.
  std::size_t max_queued = 100000;
  Duration busy_timeout{5000};  // how long a write waits for another process's lock
};

// The embedded default: bindings in memory, persisted to SQLite (WAL mode) by a writer thread.
// open() creates the schema when needed and loads every binding that has not expired at `now`.
// The destructor writes what is still queued, then closes the database. An error names the path
// and SQLite's message.
[[nodiscard]] Result<std::unique_ptr<Store>> openSqliteStore(const SqliteSettings& settings,
                                                             UnixSeconds now);

// For `sipedge bindings`: reads the database file (read-only; sipedge may be running and
// writing it) and returns the unexpired bindings, of `aor` only when given, in all() order.
[[nodiscard]] Result<std::vector<Binding>> readBindings(const std::string& path,
                                                        std::optional<std::string_view> aor,
                                                        UnixSeconds now);

}  // namespace sipedge::location
