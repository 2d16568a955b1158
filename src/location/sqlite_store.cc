// The embedded location store: BindingTable in memory (every lookup), persisted to SQLite by a
// writer thread, and readBindings() for `sipedge bindings`.
//
// - The database: one row per binding (schema below), `PRAGMA application_id` marks it as ours
//   and `PRAGMA user_version` is the schema version; WAL mode, synchronous=NORMAL.
// - update() and purge() edit memory under the store's lock and, still under it, queue the AOR's
//   new set (or a purge) for the writer, so the queue always ends with memory's latest state. An
//   AOR queued again replaces its pending set.
// - The writer commits the queue every flush_interval in one transaction. A failed transaction is
//   rolled back, counted and queued again (unless a newer set came meanwhile); nothing blocks a
//   caller and nothing is fatal. The destructor commits what is left, then closes.

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "binding_table.h"

namespace sipedge::location {

namespace {

constexpr std::int32_t kApplicationId = 0x53454c4f;  // "SELO": sipedge location
constexpr std::int32_t kSchemaVersion = 1;

// One row per binding; `path` holds the Path values joined by "\n" (a header value never holds
// one). No uniqueness constraint: the registrar decides what a binding is, and a row the store
// could not write would block every later batch.
constexpr const char* kCreateSchema =
    "CREATE TABLE bindings ("
    " aor TEXT NOT NULL,"
    " contact TEXT NOT NULL,"
    " q INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " call_id TEXT NOT NULL,"
    " cseq INTEGER NOT NULL,"
    " instance TEXT NOT NULL,"
    " reg_id INTEGER NOT NULL,"
    " path TEXT NOT NULL,"
    " received TEXT NOT NULL,"
    " external INTEGER NOT NULL,"
    " user_agent TEXT NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX bindings_aor ON bindings(aor);"
    "CREATE INDEX bindings_expires ON bindings(expires);";

constexpr const char* kColumns =
    "aor, contact, q, expires, call_id, cseq, instance, reg_id, path, received, external, "
    "user_agent, updated";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

std::string dbError(const std::string& path, sqlite3* db) {
  return path + ": " + sqlite3_errmsg(db);
}

[[nodiscard]] Result<DbPtr> openDatabase(const std::string& path, int flags, Duration busy) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return fail(
        Error{"cannot open " + path + ": " + (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc))});
  }
  sqlite3_busy_timeout(db.get(), static_cast<int>(busy.count()));
  return db;
}

[[nodiscard]] Result<StmtPtr> prepare(sqlite3* db, const std::string& path,
                                      const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return fail(Error{dbError(path, db)});
  }
  return StmtPtr(raw);
}

[[nodiscard]] Result<void> exec(sqlite3* db, const std::string& path, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(Error{dbError(path, db)});
  }
  return {};
}

// Steps a statement that returns no rows and resets it; on failure the error names the path.
[[nodiscard]] Result<void> run(sqlite3* db, const std::string& path, sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  Result<void> result;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    result = fail(Error{dbError(path, db)});
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return result;
}

[[nodiscard]] Result<std::int64_t> pragmaInt(sqlite3* db, const std::string& path,
                                             const char* sql) {
  auto stmt = prepare(db, path, sql);
  if (!stmt) {
    return fail(stmt.error());
  }
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW) {
    return fail(Error{dbError(path, db)});
  }
  return sqlite3_column_int64(stmt->get(), 0);
}

// Whether `db` is empty (a new file); an error when it is another kind of database or another
// version of ours. SQLite reads the file first here, so garbage fails here too.
[[nodiscard]] Result<bool> checkSchema(sqlite3* db, const std::string& path) {
  auto app_id = pragmaInt(db, path, "PRAGMA application_id");
  if (!app_id) {
    return fail(Error{"cannot open " + app_id.error().message});
  }
  auto version = pragmaInt(db, path, "PRAGMA user_version");
  auto objects = pragmaInt(db, path, "SELECT count(*) FROM sqlite_master");
  if (!version || !objects) {
    return fail(Error{"cannot open " + (version ? objects : version).error().message});
  }
  if (*app_id == 0 && *version == 0 && *objects == 0) {
    return true;
  }
  if (*app_id != kApplicationId) {
    return fail(Error{path + ": not a sipedge location database (application_id " +
                      std::to_string(*app_id) + ", expected " + std::to_string(kApplicationId) +
                      ")"});
  }
  if (*version != kSchemaVersion) {
    return fail(Error{path + ": location database schema version " + std::to_string(*version) +
                      ", this sipedge reads version " + std::to_string(kSchemaVersion)});
  }
  return false;
}

std::string joinPath(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& p : path) {
    if (!out.empty()) {
      out.push_back('\n');
    }
    out.append(p);
  }
  return out;
}

std::vector<std::string> splitPath(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) {
      break;
    }
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string columnText(sqlite3_stmt* stmt, int column) {
  const auto* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}

Binding rowToBinding(sqlite3_stmt* stmt) {
  Binding b;
  b.aor = columnText(stmt, 0);
  b.contact = columnText(stmt, 1);
  b.q = static_cast<std::uint16_t>(sqlite3_column_int64(stmt, 2));
  b.expires = sqlite3_column_int64(stmt, 3);
  b.call_id = columnText(stmt, 4);
  b.cseq = static_cast<std::uint32_t>(sqlite3_column_int64(stmt, 5));
  b.instance = columnText(stmt, 6);
  b.reg_id = static_cast<std::uint32_t>(sqlite3_column_int64(stmt, 7));
  b.path = splitPath(columnText(stmt, 8));
  b.received = columnText(stmt, 9);
  b.external = sqlite3_column_int64(stmt, 10) != 0;
  b.user_agent = columnText(stmt, 11);
  b.updated = sqlite3_column_int64(stmt, 12);
  return b;
}

void bindText(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void bindRow(sqlite3_stmt* stmt, const std::string& aor, const Binding& b) {
  bindText(stmt, 1, aor);
  bindText(stmt, 2, b.contact);
  sqlite3_bind_int64(stmt, 3, b.q);
  sqlite3_bind_int64(stmt, 4, b.expires);
  bindText(stmt, 5, b.call_id);
  sqlite3_bind_int64(stmt, 6, b.cseq);
  bindText(stmt, 7, b.instance);
  sqlite3_bind_int64(stmt, 8, b.reg_id);
  bindText(stmt, 9, joinPath(b.path));
  bindText(stmt, 10, b.received);
  sqlite3_bind_int64(stmt, 11, b.external ? 1 : 0);
  bindText(stmt, 12, b.user_agent);
  sqlite3_bind_int64(stmt, 13, b.updated);
}

// The unexpired rows (of `aor` when given), in no particular order.
[[nodiscard]] Result<std::vector<Binding>> readRows(sqlite3* db, const std::string& path,
                                                    std::optional<std::string_view> aor,
                                                    UnixSeconds now) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM bindings WHERE expires > ?1";
  if (aor) {
    sql += " AND aor = ?2";
  }
  auto stmt = prepare(db, path, sql);
  if (!stmt) {
    return fail(stmt.error());
  }
  sqlite3_bind_int64(stmt->get(), 1, now);
  if (aor) {
    sqlite3_bind_text(stmt->get(), 2, aor->data(), static_cast<int>(aor->size()), SQLITE_TRANSIENT);
  }
  std::vector<Binding> out;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    out.push_back(rowToBinding(stmt->get()));
  }
  if (rc != SQLITE_DONE) {
    return fail(Error{dbError(path, db)});
  }
  return out;
}

class SqliteStore final : public Store {
 public:
  struct Statements {
    StmtPtr begin, commit, rollback, delete_aor, insert, purge;
  };

  SqliteStore(const SqliteSettings& settings, DbPtr db, Statements statements,
              std::vector<Binding> loaded)
      : path_(settings.path),
        flush_interval_(settings.flush_interval),
        max_queued_(settings.max_queued),
        db_(std::move(db)),
        stmts_(std::move(statements)) {
    table_.load(std::move(loaded));
    writer_ = std::thread([this] { runWriter(); });
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
  }

  std::vector<Binding> lookup(std::string_view aor, UnixSeconds now) const override {
    std::shared_lock lock(mutex_);
    return table_.lookup(aor, now);
  }

  void update(std::string_view aor, UnixSeconds now,
              const std::function<bool(std::vector<Binding>&)>& change) override {
    std::unique_lock lock(mutex_);
    const std::vector<Binding>* edited = table_.update(aor, now, change);
    if (edited == nullptr) {
      return;
    }
    // Queued under the store's lock: two updates of one AOR are queued in the order applied.
    std::lock_guard queue_lock(queue_mutex_);
    if (auto it = pending_.find(aor); it != pending_.end()) {
      it->second = *edited;
    } else if (pending_.size() >= max_queued_) {
      ++queue_dropped_;
    } else {
      pending_.emplace(std::string(aor), *edited);
    }
  }

  std::vector<Binding> all(UnixSeconds now) const override {
    std::shared_lock lock(mutex_);
    return table_.all(now);
  }

  std::size_t purge(UnixSeconds now) override {
    std::unique_lock lock(mutex_);
    const std::size_t removed = table_.purge(now);
    std::lock_guard queue_lock(queue_mutex_);
    pending_purge_ = std::max(pending_purge_.value_or(now), now);
    return removed;
  }

  StoreStats stats() const override {
    StoreStats s;
    {
      std::shared_lock lock(mutex_);
      table_.addStats(s);
    }
    std::lock_guard queue_lock(queue_mutex_);
    s.persisted = persisted_;
    s.persist_errors = persist_errors_;
    s.queue_dropped = queue_dropped_;
    s.last_error = last_error_;
    return s;
  }

 private:
  using Pending = StringMap<std::vector<Binding>>;

  void runWriter() {
    std::unique_lock lock(queue_mutex_);
    while (true) {
      wake_.wait_for(lock, flush_interval_, [this] { return stopping_; });
      const bool stop = stopping_;
      Pending batch = std::exchange(pending_, {});
      std::optional<UnixSeconds> purge = std::exchange(pending_purge_, std::nullopt);
      if (!batch.empty() || purge) {
        lock.unlock();
        Result<void> written = write(batch, purge);
        lock.lock();
        if (written) {
          persisted_ += batch.size();
        } else {
          ++persist_errors_;
          last_error_ = written.error().message;
          // Retried at the next flush, unless a newer set of the AOR is waiting.
          for (auto& [aor, set] : batch) {
            pending_.try_emplace(aor, std::move(set));
          }
          if (purge) {
            pending_purge_ = std::max(pending_purge_.value_or(*purge), *purge);
          }
        }
      }
      if (stop) {
        return;
      }
    }
  }

  // One transaction: each AOR's rows replaced by its set, then the purge. Writer thread only.
  [[nodiscard]] Result<void> write(const Pending& batch, std::optional<UnixSeconds> purge) {
    sqlite3* db = db_.get();
    if (auto r = run(db, path_, stmts_.begin.get()); !r) {
      return r;
    }
    Result<void> result;
    for (const auto& [aor, set] : batch) {
      bindText(stmts_.delete_aor.get(), 1, aor);
      result = run(db, path_, stmts_.delete_aor.get());
      for (auto it = set.begin(); result && it != set.end(); ++it) {
        bindRow(stmts_.insert.get(), aor, *it);
        result = run(db, path_, stmts_.insert.get());
      }
      if (!result) {
        break;
      }
    }
    if (result && purge) {
      sqlite3_bind_int64(stmts_.purge.get(), 1, *purge);
      result = run(db, path_, stmts_.purge.get());
    }
    if (result) {
      result = run(db, path_, stmts_.commit.get());
    }
    if (!result && sqlite3_get_autocommit(db) == 0) {
      (void)run(db, path_, stmts_.rollback.get());
    }
    return result;
  }

  const std::string path_;
  const Duration flush_interval_;
  const std::size_t max_queued_;

  mutable std::shared_mutex mutex_;  // guards table_
  BindingTable table_;

  mutable std::mutex queue_mutex_;  // guards what follows, up to the writer's own members
  std::condition_variable wake_;
  Pending pending_;
  std::optional<UnixSeconds> pending_purge_;  // DELETE rows expired at or before this
  bool stopping_ = false;
  std::uint64_t persisted_ = 0;
  std::uint64_t persist_errors_ = 0;
  std::uint64_t queue_dropped_ = 0;
  std::string last_error_;

  // The writer thread's (open() hands them over before it starts).
  DbPtr db_;
  Statements stmts_;
  std::thread writer_;
};

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const SqliteSettings& settings, UnixSeconds now) {
  const std::string& path = settings.path;
  auto db = openDatabase(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, settings.busy_timeout);
  if (!db) {
    return fail(db.error());
  }
  sqlite3* raw = db->get();
  auto fresh = checkSchema(raw, path);
  if (!fresh) {
    return fail(fresh.error());
  }
  // Only once the file is known to be ours (or new): journal_mode is persistent.
  auto mode = prepare(raw, path, "PRAGMA journal_mode=WAL");
  if (!mode) {
    return fail(mode.error());
  }
  if (sqlite3_step(mode->get()) != SQLITE_ROW) {
    return fail(Error{dbError(path, raw)});
  }
  if (const std::string got = columnText(mode->get(), 0); got != "wal") {
    return fail(Error{path + ": cannot use WAL mode (journal_mode is " + got + ")"});
  }
  mode->reset();  // finalized: nothing may stay pending before the next statements
  if (auto r = exec(raw, path, "PRAGMA synchronous=NORMAL"); !r) {
    return fail(r.error());
  }
  if (*fresh) {
    const std::string create = std::string("BEGIN IMMEDIATE;") + kCreateSchema +
                               "PRAGMA application_id=" + std::to_string(kApplicationId) +
                               ";PRAGMA user_version=" + std::to_string(kSchemaVersion) +
                               ";COMMIT;";
    if (auto r = exec(raw, path, create.c_str()); !r) {
      (void)exec(raw, path, "ROLLBACK");
      return fail(r.error());
    }
  }
  // Rows that expired while sipedge was stopped are deleted, the rest loaded.
  const std::string remove_expired = "DELETE FROM bindings WHERE expires <= " + std::to_string(now);
  if (auto r = exec(raw, path, remove_expired.c_str()); !r) {
    return fail(r.error());
  }
  auto loaded = readRows(raw, path, std::nullopt, now);
  if (!loaded) {
    return fail(loaded.error());
  }

  SqliteStore::Statements stmts;
  const std::pair<StmtPtr*, std::string> sql[] = {
      {&stmts.begin, "BEGIN IMMEDIATE"},
      {&stmts.commit, "COMMIT"},
      {&stmts.rollback, "ROLLBACK"},
      {&stmts.delete_aor, "DELETE FROM bindings WHERE aor = ?1"},
      {&stmts.insert, std::string("INSERT INTO bindings (") + kColumns +
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"},
      {&stmts.purge, "DELETE FROM bindings WHERE expires <= ?1"},
  };
  for (const auto& [target, text] : sql) {
    auto stmt = prepare(raw, path, text);
    if (!stmt) {
      return fail(stmt.error());
    }
    *target = std::move(*stmt);
  }
  return std::make_unique<SqliteStore>(settings, std::move(*db), std::move(stmts),
                                       std::move(*loaded));
}

namespace {

// "file:PATH?immutable=1", for sqlite3_open_v2 with SQLITE_OPEN_URI.
std::string immutableUri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : path) {
    if (c == '?' || c == '#' || c == '%') {
      constexpr char kHex[] = "0123456789abcdef";
      uri.push_back('%');
      uri.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
      uri.push_back(kHex[static_cast<unsigned char>(c) & 0xf]);
    } else {
      uri.push_back(c);
    }
  }
  return uri + "?immutable=1";
}

[[nodiscard]] Result<std::vector<Binding>> readFrom(sqlite3* db, const std::string& path,
                                                    std::optional<std::string_view> aor,
                                                    UnixSeconds now) {
  auto fresh = checkSchema(db, path);
  if (!fresh) {
    return fail(fresh.error());
  }
  if (*fresh) {
    return fail(Error{path + ": not a sipedge location database (empty)"});
  }
  return readRows(db, path, aor, now);
}

}  // namespace

Result<std::vector<Binding>> readBindings(const std::string& path,
                                          std::optional<std::string_view> aor, UnixSeconds now) {
  auto db = openDatabase(path, SQLITE_OPEN_READONLY, Duration{5000});
  if (!db) {
    return fail(db.error());
  }
  auto rows = readFrom(db->get(), path, aor, now);
  if (!rows && (sqlite3_errcode(db->get()) & 0xff) == SQLITE_READONLY &&
      ::access((path + "-wal").c_str(), F_OK) != 0) {
    // A WAL database that nobody has open, in a directory this user may not write: SQLite
    // cannot create the -shm file a reader needs. With no -wal file the database file holds
    // everything, and no writer is running (it would have created the -wal file), so the file
    // is read as it is.
    auto immutable =
        openDatabase(immutableUri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, Duration{5000});
    if (immutable) {
      rows = readFrom(immutable->get(), path, aor, now);
    }
  }
  if (!rows) {
    return fail(rows.error());
  }
  std::map<std::string, std::vector<Binding>> grouped;
  for (Binding& b : *rows) {
    grouped[b.aor].push_back(std::move(b));
  }
  std::vector<Binding> out;
  out.reserve(rows->size());
  for (auto& [key, list] : grouped) {
    sortForUse(list);
    out.insert(out.end(), std::make_move_iterator(list.begin()),
               std::make_move_iterator(list.end()));
  }
  return out;
}

}  // namespace sipedge::location
