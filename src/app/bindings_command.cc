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

// q x 1000 as written in a Contact: 1, 0.5, 0.25, 0.001.
std::string formatQ(std::uint16_t q) {
  std::string s = fmt::format("{}.{:03}", q / 1000, q % 1000);
  while (s.back() == '0') {
    s.pop_back();
  }
  if (s.back() == '.') {
    s.pop_back();
  }
  return s;
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

// Length of the valid UTF-8 sequence at the start of `s`, 0 when it is not one.
std::size_t utf8Length(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  // The sequence's length, its smallest code point (shorter forms are overlong) and lead bits.
  struct Form {
    unsigned char first, last;
    std::size_t length;
    std::uint32_t min;
    unsigned char mask;
  };
  constexpr Form kForms[] = {
      {0xc2, 0xdf, 2, 0x80, 0x1f}, {0xe0, 0xef, 3, 0x800, 0x0f}, {0xf0, 0xf4, 4, 0x10000, 0x07}};
  const Form* form = nullptr;
  for (const Form& f : kForms) {
    if (lead >= f.first && lead <= f.last) {
      form = &f;
    }
  }
  if (form == nullptr) {
    return 0;
  }
  const std::size_t n = form->length;
  const std::uint32_t min = form->min;
  std::uint32_t cp = lead & form->mask;
  if (s.size() < n) {
    return 0;
  }
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

// A JSON string: quotes, backslashes and control characters escaped; bytes that are not UTF-8
// become U+FFFD, so that every line is valid JSON whatever a peer registered.
void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (const std::size_t n = utf8Length(s.substr(i)); n > 0) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        out.append("\\ufffd");
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out.append(fmt::format("\\u{:04x}", c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string jsonLine(const location::Binding& b, location::UnixSeconds now) {
  std::string out = "{\"aor\":";
  appendJsonString(out, b.aor);
  out.append(",\"contact\":");
  appendJsonString(out, b.contact);
  out.append(fmt::format(",\"q\":{},\"expires\":{},\"expires_in\":{},\"call_id\":", formatQ(b.q),
                         b.expires, b.expires - now));
  appendJsonString(out, b.call_id);
  out.append(fmt::format(",\"cseq\":{},\"instance\":", b.cseq));
  appendJsonString(out, b.instance);
  out.append(fmt::format(",\"reg_id\":{},\"path\":[", b.reg_id));
  for (std::size_t i = 0; i < b.path.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    appendJsonString(out, b.path[i]);
  }
  out.append("],\"received\":");
  appendJsonString(out, b.received);
  out.append(b.external ? ",\"side\":\"external\"" : ",\"side\":\"internal\"");
  out.append(",\"user_agent\":");
  appendJsonString(out, b.user_agent);
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
    rows.push_back({cell(b.aor), cell(b.contact), formatQ(b.q), fmt::format("{}s", b.expires - now),
                    cell(b.instance), b.reg_id == 0 ? "-" : std::to_string(b.reg_id),
                    cell(b.received), b.external ? "external" : "internal", cell(b.user_agent),
                    cell(joinPath(b.path, ","))});
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
