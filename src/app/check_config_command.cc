// `sipedge check-config FILE [--strict] [--quiet]`: validates a configuration without starting
// anything (DESIGN.md "Configuration and reload"). Three kinds of findings:
//  - the parse error config::load reports (file:line:col), which stops the check;
//  - config::lint's warnings (risky or dead settings);
//  - what needs the file system: every TLS profile builds (TlsContexts::build: key matches,
//    CA bundle readable, OpenSSL accepts the settings), certificates not expired (an error) or
//    expiring within 30 days (a warning) and covering the served domains (a warning), and the
//    files and directories the configuration names exist (errors).
// Errors go to stderr as "FILE:LINE:COL: PATH: message", warnings as
// "FILE:LINE:COL: warning: PATH: message"; one summary line to stdout. Exit 0: no errors (and,
// with --strict, no warnings); 1: errors; 2: warnings only, with --strict.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "settings.h"
#include "sipedge/auth/ha1_table.h"
#include "sipedge/config/config.h"
#include "sipedge/config/lint.h"
#include "sipedge/transport/tls.h"
#include "sipedge/transport/tls_certificates.h"

namespace sipedge::app {

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kExpiryWarningSeconds = 30LL * 24 * 3600;

std::string utcDate(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

class Checker {
 public:
  Checker(const config::Config& config, std::int64_t now) : config_(config), now_(now) {}

  void run() {
    for (config::ConfigWarning& w : config::lint(config_)) {
      warnings_.push_back(std::move(w));
    }
    for (const config::TlsProfile& p : config_.tls) {
      tlsProfile(p);
    }
    files();
  }

  const std::vector<config::ConfigError>& errors() const { return errors_; }
  const std::vector<config::ConfigWarning>& warnings() const { return warnings_; }

 private:
  // The position of `path` in the main file, or of its nearest written parent.
  config::SourceMap::Position at(std::string path) const {
    const std::string& file = config_.sources.mainFile();
    config::SourceMap::Position pos = config_.sources.find(file, path);
    while (pos.line == 0 && !path.empty()) {
      const std::size_t cut = path.find_last_of(".[");
      path = cut == std::string::npos ? "" : path.substr(0, cut);
      pos = path.empty() ? config::SourceMap::Position{} : config_.sources.find(file, path);
    }
    return pos;
  }

  void error(const std::string& path, std::string message) {
    const auto pos = at(path);
    errors_.push_back(config::ConfigError{config_.sources.mainFile(), path, pos.line, pos.column,
                                          std::move(message)});
  }

  void warn(const std::string& path, std::string message) {
    const auto pos = at(path);
    warnings_.push_back(config::ConfigWarning{config_.sources.mainFile(), path, pos.line,
                                              pos.column, std::move(message)});
  }

  // Expiry, and the SIP domains the certificate covers (RFC 5922); empty when unreadable or
  // expired (the error is recorded).
  std::optional<std::vector<std::string>> certificate(const std::string& path,
                                                      const std::string& file) {
    auto checked = transport::checkCertificateFile(file, "");
    if (!checked) {
      error(path, checked.error().reason);
      return std::nullopt;
    }
    const transport::PeerIdentity& leaf = checked->leaf;
    if (leaf.not_after <= now_) {
      error(path, "the certificate in \"" + file + "\" expired on " + utcDate(leaf.not_after));
      return std::nullopt;
    }
    if (leaf.not_before > now_) {
      error(path,
            "the certificate in \"" + file + "\" is not valid before " + utcDate(leaf.not_before));
      return std::nullopt;
    }
    if (leaf.not_after - now_ < kExpiryWarningSeconds) {
      warn(path, "the certificate in \"" + file + "\" expires in " +
                     std::to_string((leaf.not_after - now_) / 86400) + " days, on " +
                     utcDate(leaf.not_after));
    }
    return leaf.sipDomains();
  }

  void tlsProfile(const config::TlsProfile& p) {
    const std::string base = "tls." + p.name;
    bool certificates_ok = true;
    if (!p.certificate.empty()) {
      auto domains = certificate(base + ".certificate", p.certificate);
      certificates_ok = domains.has_value();
      if (domains && servedBy(p)) {
        for (const std::string& served : config_.server.domains) {
          const bool by_sni = std::any_of(p.sni.begin(), p.sni.end(),
                                          [&](const auto& s) { return s.domain == served; });
          if (!by_sni && std::find(domains->begin(), domains->end(), served) == domains->end()) {
            warn(base + ".certificate", "the certificate does not cover the served domain \"" +
                                            served + "\" (it covers: " + list(*domains) +
                                            "); partners will refuse it");
          }
        }
      }
    }
    for (std::size_t i = 0; i < p.sni.size(); ++i) {
      const std::string path = base + ".sni[" + std::to_string(i) + "].certificate";
      auto domains = certificate(path, p.sni[i].certificate);
      certificates_ok = certificates_ok && domains.has_value();
      if (domains &&
          std::find(domains->begin(), domains->end(), p.sni[i].domain) == domains->end()) {
        warn(path, "the certificate does not cover \"" + p.sni[i].domain +
                       "\" (it covers: " + list(*domains) + ")");
      }
    }
    if (!p.ca.empty()) {
      readable(base + ".ca", p.ca);
    }
    if (!certificates_ok) {
      return;  // build() would report the same certificate again
    }
    auto built = transport::TlsContexts::build(tlsSettings(p));
    if (!built) {
      const std::string& stage = built.error().stage;
      const std::string key = stage == "private key"   ? "key"
                              : stage == "CA bundle"   ? "ca"
                              : stage == "certificate" ? "certificate"
                              : stage == "sni"         ? "sni"
                                                       : stage;
      error(base + "." + key, built.error().describe());
    }
  }

  // Whether an external listener serves with this profile.
  bool servedBy(const config::TlsProfile& p) const {
    return std::any_of(config_.listeners.begin(), config_.listeners.end(), [&](const auto& l) {
      return l.transport == config::Transport::Tls && l.side == config::Side::External &&
             l.tls_profile == p.name;
    });
  }

  static std::string list(const std::vector<std::string>& domains) {
    std::string out;
    for (const std::string& d : domains) {
      out += (out.empty() ? "\"" : ", \"") + d + "\"";
    }
    return out.empty() ? "no SIP domain" : out;
  }

  void readable(const std::string& path, const std::string& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      error(path, "\"" + file + "\" does not exist");
    } else if (fs::is_directory(file, ec)) {
      error(path, "\"" + file + "\" is a directory, not a file");
    } else if (::access(file.c_str(), R_OK) != 0) {
      error(path, "\"" + file + "\" is not readable");
    }
  }

  // A file sipedge creates or appends to: its directory must exist and be writable.
  void writable(const std::string& path, const std::string& file) {
    std::error_code ec;
    fs::path dir = fs::path(file).parent_path();
    if (dir.empty()) {
      dir = ".";
    }
    if (fs::is_directory(file, ec)) {
      error(path, "\"" + file + "\" is a directory, not a file");
    } else if (!fs::is_directory(dir, ec)) {
      error(path, "the directory \"" + dir.string() + "\" does not exist");
    } else if (fs::exists(file, ec) ? ::access(file.c_str(), W_OK) != 0
                                    : ::access(dir.c_str(), W_OK | X_OK) != 0) {
      error(path, "\"" + file + "\" is not writable");
    }
  }

  void files() {
    const config::LdapDirectoryConfig& ldap = config_.directory.ldap;
    if (config_.directory.backend == config::DirectoryBackend::Ldap) {
      if (!ldap.password_file.empty()) {
        readable("directory.ldap.password_file", ldap.password_file);
      }
      if (!ldap.ca.empty()) {
        readable("directory.ldap.ca", ldap.ca);
      }
    }
    if (!config_.geoip.database.empty()) {
      readable("geoip.database", config_.geoip.database);
    }
    if (!config_.decision_log.path.empty()) {
      writable("decision_log.path", config_.decision_log.path);
    }
    if (!config_.logging.file.empty()) {
      writable("logging.file", config_.logging.file);
    }
    if (!config_.registrar.database.empty()) {
      writable("registrar.database", config_.registrar.database);
    }
    if (config_.registrar.auth.enabled && !config_.registrar.auth.ha1_file.empty()) {
      const std::size_t before = errors_.size();
      readable("registrar.auth.ha1_file", config_.registrar.auth.ha1_file);
      if (errors_.size() == before) {
        // The file's own errors carry its line and column.
        if (auto table = auth::Ha1Table::load(config_.registrar.auth.ha1_file); !table) {
          error("registrar.auth.ha1_file", table.error());
        } else if (table->size() == 0) {
          warn("registrar.auth.ha1_file",
               "\"" + config_.registrar.auth.ha1_file +
                   "\" has no credentials: every REGISTER will be refused");
        }
      }
    }
  }

  const config::Config& config_;
  std::int64_t now_;
  std::vector<config::ConfigError> errors_;
  std::vector<config::ConfigWarning> warnings_;
};

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

void addCheckConfigCommand(CLI::App& app, CheckConfigCommandOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "check-config",
      "Validate a configuration file without starting anything; warn about risky settings "
      "(exit 0 ok, 1 errors, 2 warnings with --strict)");
  cmd->add_option("file", opts.file, "the TOML configuration file")->required();
  cmd->add_flag("--strict", opts.strict, "treat warnings as failures (exit 2)");
  cmd->add_flag("--quiet,-q", opts.quiet, "print no summary line, and no warnings unless --strict");
}

int runCheckConfigCommand(const CheckConfigCommandOptions& opts) {
  auto loaded = config::load(opts.file);
  if (!loaded) {
    fmt::print(stderr, "{}\n", loaded.error().describe());
    if (!opts.quiet) {
      fmt::print("{}: 1 error\n", opts.file);
    }
    return 1;
  }
  Checker checker(*loaded, static_cast<std::int64_t>(std::time(nullptr)));
  checker.run();
  for (const config::ConfigError& e : checker.errors()) {
    fmt::print(stderr, "{}\n", e.describe());
  }
  if (!opts.quiet || opts.strict) {
    for (const config::ConfigWarning& w : checker.warnings()) {
      fmt::print(stderr, "{}\n", w.describe());
    }
  }
  const std::size_t errors = checker.errors().size();
  const std::size_t warnings = checker.warnings().size();
  if (!opts.quiet) {
    if (errors > 0) {
      fmt::print("{}: {}, {}\n", opts.file, plural(errors, "error"), plural(warnings, "warning"));
    } else {
      fmt::print("{}: ok ({}, {}, {}){}\n", opts.file, plural(loaded->listeners.size(), "listener"),
                 plural(loaded->partners.size(), "partner"), plural(warnings, "warning"),
                 warnings > 0 && opts.strict ? ", failing with --strict" : "");
    }
  }
  if (errors > 0) {
    return 1;
  }
  return warnings > 0 && opts.strict ? 2 : 0;
}

}  // namespace sipedge::app
