#pragma once

// Shared by the location tests: a temporary directory per test, bindings, and waiting for the
// SQLite writer.

#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "sipedge/location/location.h"

namespace sipedge::location::test {

constexpr UnixSeconds kNow = 1'800'000'000;  // never the wall clock (STYLE S33)

// mkdtemp under /tmp; removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sipedge-location-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) {
      path_ = tmpl;
    }
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline Binding binding(const std::string& aor, const std::string& contact, std::uint16_t q = 1000,
                       UnixSeconds expires = kNow + 3600, UnixSeconds updated = kNow) {
  Binding b;
  b.aor = aor;
  b.contact = contact;
  b.q = q;
  b.expires = expires;
  b.updated = updated;
  b.call_id = "call-" + contact;
  b.cseq = 1;
  b.received = "udp:192.0.2.1:5060";
  return b;
}

// Every field set, two Path values.
inline Binding fullBinding(const std::string& aor, const std::string& contact) {
  Binding b = binding(aor, contact, 700, kNow + 1800, kNow - 5);
  b.call_id = "a84b4c76e66710@pc33.example";
  b.cseq = 314159;
  b.instance = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
  b.reg_id = 2;
  b.path = {"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr;ob>"};
  b.received = "tls:[2001:db8::7]:50123";
  b.external = true;
  b.user_agent = "Softphone \"Beta\" 1.2\\x";
  return b;
}

// Replaces the AOR's bindings with `set` (empty: removes the AOR).
inline void put(Store& store, const std::string& aor, std::vector<Binding> set,
                UnixSeconds now = kNow) {
  store.update(aor, now, [&](std::vector<Binding>& bindings) {
    bindings = set;
    return true;
  });
}

// Polls `done` every millisecond for up to ten seconds.
inline bool waitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A connection of the test's own to a database file (the sqlite3 C API).
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  bool exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  // The first column of the first row as text ("" when none or on error).
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace sipedge::location::test
