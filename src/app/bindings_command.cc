// `sipedge bindings`: the location service's bindings as the database holds them (issue 6),
// read-only, so it works while sipedge runs (WAL mode):
//
//   sipedge bindings [AOR] (--config FILE | --database FILE) [--json]
//
// - The AOR may be given as user@host or as a sip:/sips: URI; the host is compared in lower case.
// - The table is sorted by AOR, then in the order calls are forked (q, most recent first).
//   --json prints one object per binding and line instead.
// - Bindings that have expired (but are not purged yet) are not shown. The database lags memory
//   by at most [registrar]'s flush interval.
// Exit: 0 listed (or nothing registered at all), 3 the AOR given has no bindings, 1 errors (a
// missing or foreign database, a configuration without [registrar] database), 2 usage.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sipedge/base/strings.h"
#include "sipedge/config/config.h"
#include "sipedge/location/location.h"
#include "sipedge/policy/decision_record.h"

namespace sipedge::app {

namespace {

constexpr std::string_view kCommand = "sipedge bindings";

int failure(const std::string& message) {
  fmt::print(stderr, "{}: {}\n", kCommand, message);
  return 1;
}

// "sip:Alice@ACME.example" -> "Alice@acme.example" (the store's key: the user as written, the
// host in lower case).
std::string normaliseAor(std::string_view aor) {
  for (std::string_view scheme : {"sips:", "sip:"}) {
    if (aor.size() > scheme.size() && iequals(aor.substr(0, scheme.size()), scheme)) {
      aor.remove_prefix(scheme.size());
      break;
    }
  }
  const std::size_t at = aor.rfind('@');
  const std::size_t host = at == std::string_view::npos ? 0 : at + 1;
  return std::string(aor.substr(0, host)) + toLower(aor.substr(host));
}

std::string joinPath(const std::vector<std::string>& path, std::string_view separator) {
  std::string out;
  for (const std::string& p : path) {
    if (!out.empty()) {
      out.append(separator);
    }
    out.append(p);
  }
  return out;
}

// A table cell: "-" when empty; control characters (a User-Agent is the peer's text) as '?'.
std::string cell(std::string_view text) {
  if (text.empty()) {
    return "-";
  }
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = '?';
    }
  }
  return out;
}

std::string jsonLine(const location::Binding& b, location::UnixSeconds now) {
  std::string out = "{\"aor\":";
  policy::appendJsonString(out, b.aor);
  out.append(",\"contact\":");
  policy::appendJsonString(out, b.contact);
  out.append(fmt::format(",\"q\":{},\"expires\":{},\"expires_in\":{},\"call_id\":",
                         location::formatQ(b.q), b.expires, b.expires - now));
  policy::appendJsonString(out, b.call_id);
  out.append(fmt::format(",\"cseq\":{},\"instance\":", b.cseq));
  policy::appendJsonString(out, b.instance);
  out.append(fmt::format(",\"reg_id\":{},\"path\":[", b.reg_id));
  for (std::size_t i = 0; i < b.path.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    policy::appendJsonString(out, b.path[i]);
  }
  out.append("],\"received\":");
  policy::appendJsonString(out, b.received);
  out.append(b.external ? ",\"side\":\"external\"" : ",\"side\":\"internal\"");
  out.append(",\"user_agent\":");
  policy::appendJsonString(out, b.user_agent);
  out.append(fmt::format(",\"updated\":{}}}\n", b.updated));
  return out;
}

std::string table(const std::vector<location::Binding>& bindings, location::UnixSeconds now) {
  constexpr std::size_t kColumns = 10;
  using Row = std::array<std::string, kColumns>;
  std::vector<Row> rows;
  rows.push_back({"AOR", "CONTACT", "Q", "EXPIRES", "INSTANCE", "REG-ID", "RECEIVED", "SIDE",
                  "USER-AGENT", "PATH"});
  for (const location::Binding& b : bindings) {
    rows.push_back(
        {cell(b.aor), cell(b.contact), location::formatQ(b.q), fmt::format("{}s", b.expires - now),
         cell(b.instance), b.reg_id == 0 ? "-" : std::to_string(b.reg_id), cell(b.received),
         b.external ? "external" : "internal", cell(b.user_agent), cell(joinPath(b.path, ","))});
  }
  std::array<std::size_t, kColumns> width{};
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < kColumns; ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < kColumns; ++i) {
      out.append(row[i]);
      if (i + 1 < kColumns) {
        out.append(width[i] - row[i].size() + 2, ' ');
      }
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace

void addBindingsCommand(CLI::App& app, BindingsCommandOptions& opts) {
  auto* cmd = app.add_subcommand(
      "bindings",
      "List the registrar's bindings (the location service) from its SQLite database, read-only "
      "(works while sipedge runs)");
  cmd->add_option("AOR", opts.aor,
                  "only this address-of-record: user@host or a sip: URI (exit 3 when it has no "
                  "bindings)");
  auto* config = cmd->add_option("--config,-c", opts.config,
                                 "read the database path from [registrar] database in this "
                                 "configuration file");
  auto* database = cmd->add_option("--database", opts.database, "the location database file");
  config->excludes(database);
  database->excludes(config);
  cmd->add_flag("--json", opts.json, "one JSON object per binding and line");
}

int runBindingsCommand(const BindingsCommandOptions& opts) {
  std::string database = opts.database;
  if (database.empty()) {
    if (opts.config.empty()) {
      fmt::print(stderr, "{}: which database? give --database FILE or --config FILE\n", kCommand);
      return 2;
    }
    auto loaded = config::load(opts.config);
    if (!loaded) {
      return failure(loaded.error().describe());
    }
    if (loaded->registrar.database.empty()) {
      return failure(opts.config +
                     " has no [registrar] database: bindings are kept in memory only (nothing "
                     "to read)");
    }
    database = loaded->registrar.database;
  }

  const location::UnixSeconds now = std::time(nullptr);
  std::optional<std::string> aor;
  if (!opts.aor.empty()) {
    aor = normaliseAor(opts.aor);
  }
  auto bindings = location::readBindings(database, aor, now);
  if (!bindings) {
    return failure(bindings.error().message);
  }
  if (bindings->empty()) {
    if (aor) {
      fmt::print(stderr, "{}: {} has no bindings\n", kCommand, *aor);
      return 3;
    }
    fmt::print(stderr, "{}: no bindings in {}\n", kCommand, database);
    return 0;
  }
  std::string out;
  if (opts.json) {
    for (const location::Binding& b : *bindings) {
      out.append(jsonLine(b, now));
    }
  } else {
    out = table(*bindings, now);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace sipedge::app
