#pragma once

// GeoIP (DESIGN.md `geo`): the country of an IP address, from a MaxMind DB file (GeoIP2 /
// GeoLite2 Country or City, or any database with "country" -> "iso_code") through libmaxminddb.
// The file is memory-mapped once; lookups are read-only and thread-safe, so all workers share
// one Database. A reload opens a new Database and swaps the shared_ptr.

#include <memory>
#include <string>
#include <string_view>

#include "sipedge/base/result.h"

namespace sipedge::geo {

class Database {
 public:
  // Opens and checks the file: a missing file, a file that is not a MaxMind DB or one without
  // country data is an error naming the path and the reason.
  [[nodiscard]] static Result<std::shared_ptr<const Database>> open(const std::string& path);

  // The ISO 3166-1 alpha-2 code (upper case) of `ip` (an IPv4 or IPv6 literal); empty when the
  // address is not in the database or is not an address.
  std::string country(std::string_view ip) const;

  // The database's metadata: type and build time, for logs and check-config.
  std::string description() const;

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

 private:
  Database();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipedge::geo
