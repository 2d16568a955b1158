// libmaxminddb behind geo::Database: MMDB_open once (memory-mapped), then read-only lookups that
// any thread may run at the same time (libmaxminddb's lookups do not modify the handle).

#include "sipedge/geo/geo.h"

#include <maxminddb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string_view>

namespace sipedge::geo {

struct Database::Impl {
  MMDB_s mmdb{};
  bool open = false;
  ~Impl() {
    if (open) {
      MMDB_close(&mmdb);
    }
  }
};

Database::Database() : impl_(std::make_unique<Impl>()) {}
Database::~Database() = default;

Result<std::shared_ptr<const Database>> Database::open(const std::string& path) {
  // libmaxminddb reports every I/O failure as one code, and errno is not reliable after it
  // (it closes the file on the way out): ask the file system first, for a precise reason.
  if (::access(path.c_str(), R_OK) != 0) {
    return fail(Error{path + ": " + std::strerror(errno)});
  }
  std::shared_ptr<Database> db(new Database());
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->impl_->mmdb);
  if (status != MMDB_SUCCESS) {
    return fail(Error{path + ": not a usable MaxMind DB: " + MMDB_strerror(status)});
  }
  db->impl_->open = true;
  // Only Country and City databases carry "country" -> "iso_code"; an ASN or ISP database
  // would answer every lookup with nothing, silently disabling the country rules.
  const char* type = db->impl_->mmdb.metadata.database_type;
  const std::string_view kind = type != nullptr ? type : "";
  if (kind.find("Country") == std::string_view::npos &&
      kind.find("City") == std::string_view::npos) {
    return fail(Error{path + ": database type '" + std::string(kind) +
                      "' has no country data (expected a GeoIP2/GeoLite2 Country or City "
                      "database)"});
  }
  return std::shared_ptr<const Database>(std::move(db));
}

std::string Database::country(std::string_view ip) const {
  char text[64];
  if (ip.empty() || ip.size() >= sizeof(text)) {
    return {};
  }
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  int gai_error = 0;
  int mmdb_error = MMDB_SUCCESS;
  // MMDB_lookup_string takes a const MMDB_s*: safe to call from several threads.
  MMDB_lookup_result_s result = MMDB_lookup_string(&impl_->mmdb, text, &gai_error, &mmdb_error);
  if (gai_error != 0 || mmdb_error != MMDB_SUCCESS || !result.found_entry) {
    return {};
  }
  MMDB_entry_data_s data{};
  if (MMDB_get_value(&result.entry, &data, "country", "iso_code", nullptr) != MMDB_SUCCESS ||
      !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2) {
    return {};
  }
  std::string code(data.utf8_string, data.data_size);
  for (char& c : code) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return code;
}

std::string Database::description() const {
  const MMDB_metadata_s& m = impl_->mmdb.metadata;
  char built[32] = "?";
  const std::time_t t = static_cast<std::time_t>(m.build_epoch);
  std::tm tm{};
  if (gmtime_r(&t, &tm) != nullptr) {
    std::strftime(built, sizeof(built), "%Y-%m-%d", &tm);
  }
  return std::string(m.database_type ? m.database_type : "?") + ", built " + built + ", IPv" +
         std::to_string(m.ip_version);
}

}  // namespace sipedge::geo
