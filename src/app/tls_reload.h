#pragma once

// Certificate rotation (issue 5, DESIGN.md TLS): every TLS profile of a configuration built into
// new contexts and validated as a whole, then put into the TlsContextStore that new handshakes
// read (connections keep the contexts they were made with); a watcher of the certificate, key and
// CA files; and the status /metrics shows (certificate expiry, reload outcomes).

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/config/config.h"
#include "sipedge/transport/tls.h"

namespace sipedge::app {

// A certificate in service: a profile's default certificate or one of its SNI certificates.
struct CertificateStatus {
  std::string profile;
  std::string file;
  std::string sni_domain;  // empty: the profile's default certificate
  std::string subject;     // RFC 2253
  std::string serial;      // hex, as `openssl x509 -serial` prints it
  std::string fingerprint_sha256;
  std::int64_t not_after = 0;  // Unix seconds

  std::int64_t secondsLeft(std::int64_t now) const { return not_after - now; }
  // Whole days until notAfter, rounded down (negative once expired).
  std::int64_t daysLeft(std::int64_t now) const;
  bool operator==(const CertificateStatus&) const = default;
};

// Why a set of TLS profiles was refused.
struct TlsBuildError {
  std::string profile;
  std::string file;  // the file at fault; empty when the problem is a setting, not a file
  std::string reason;
  // "tls.<profile>: <file>: <reason>"
  std::string describe() const;
};

struct TlsBuild {
  std::map<std::string, transport::TlsContextsSharedPtr> contexts;  // by profile name
  std::string default_profile;  // the store's "default" entry; empty: none
  std::vector<CertificateStatus> certificates;
};

// The profile of outgoing TLS connections (store entry "default"): b2bua.client_tls, else the
// first TLS listener's profile; empty when there is neither.
std::string defaultTlsProfile(const config::Config& c);

// Builds every [tls.<name>] profile with TlsContexts::build (readable files, key matches the
// certificate, every certificate valid now, settings OpenSSL accepts) and checks further:
//  - chain: when the profile has a CA bundle (`ca`), every certificate it serves (default and
//    SNI) verifies to it, with the rest of its file as intermediates;
//  - served domains: for a profile that an external TLS listener uses, each [server] domain is
//    covered (RFC 5922 7.1, as partners check it) by the default certificate or by the SNI
//    certificate for that domain, and each SNI certificate covers its own domain. Internal
//    listeners and client-only profiles are not checked: their names are not the served
//    domains.
// All or nothing: the first problem found is the error, naming the profile, the file and why.
[[nodiscard]] Result<TlsBuild, TlsBuildError> buildTls(const config::Config& c);

// Puts every profile of `build` into `store`, and the default profile under "default" too. New
// handshakes take the new entries at once; established connections keep theirs.
void applyTls(const TlsBuild& build, transport::TlsContextStore& store);

// Logs one line per certificate (component "tls"): info, warning when under 30 days are left,
// error once expired.
void logCertificates(const std::vector<CertificateStatus>& certificates, std::int64_t now);

// Remembers the state (inode, size, mtime, ctime) of a set of files and reports when any of them
// changed. Rotation tools replace files by rename, so a new inode counts as a change as much as
// a rewrite in place; a file that disappears or appears counts too. Polled by the main thread.
class TlsFileWatcher {
 public:
  // Every file the configuration's TLS profiles read: certificates, keys, CA bundles (SNI pairs
  // included), without duplicates.
  static std::vector<std::string> filesOf(const config::Config& c);

  // Starts watching `files` from their current state.
  void watch(std::vector<std::string> files);
  // True when any watched file differs from the state remembered; the new state is remembered,
  // so each change is reported once. Call poll() before rebuilding: a change that lands during
  // the rebuild is then reported by the next poll. (A pair replaced one file at a time, the
  // certificate first, is reported twice: the first rebuild fails on the key mismatch and keeps
  // the contexts in service, the second succeeds.)
  bool poll();

  const std::vector<std::string>& files() const { return names_; }

 private:
  struct FileState {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    bool operator==(const FileState&) const = default;
  };
  static FileState stateOf(const std::string& file);

  std::vector<std::string> names_;
  std::vector<FileState> states_;
};

// What /metrics shows about reloads, written by the main thread and read by the admin loop.
class ReloadStatus {
 public:
  enum class Trigger : std::uint8_t { Config, Certificates };  // SIGHUP, or a file change

  void setCertificates(std::vector<CertificateStatus> certificates);
  void countReload(Trigger trigger, bool ok);
  std::vector<CertificateStatus> certificates() const;

  // Prometheus text:
  //   sipedge_certificate_expiry_seconds{profile,file}  seconds until notAfter (gauge)
  //   sipedge_config_reloads_total{result="ok|error"}        SIGHUP reloads
  //   sipedge_certificate_reloads_total{result="ok|error"}   rotations on a file change
  std::string metricsText(std::int64_t now) const;

 private:
  mutable std::mutex mutex_;
  std::vector<CertificateStatus> certificates_;
  std::uint64_t config_ok_ = 0;
  std::uint64_t config_error_ = 0;
  std::uint64_t certificates_ok_ = 0;
  std::uint64_t certificates_error_ = 0;
};

}  // namespace sipedge::app
