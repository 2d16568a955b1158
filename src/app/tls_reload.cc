#include "tls_reload.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <utility>

#include "settings.h"
#include "sipedge/base/log.h"
#include "sipedge/ops/metrics.h"
#include "sipedge/transport/tls_certificates.h"

namespace sipedge::app {

namespace {

constexpr std::int64_t kDay = 24 * 3600;
constexpr std::int64_t kWarnDays = 30;

// The profile's file that a TlsContexts::build error is about: one its reason names (the reasons
// name the files they read), preferring the kind of file the failing stage reads; else none.
std::string fileNamedIn(const transport::TlsError& e, const config::TlsProfile& p) {
  std::vector<std::string> certificates = {p.certificate};
  std::vector<std::string> keys = {p.key};
  for (const config::TlsProfile::Sni& s : p.sni) {
    certificates.push_back(s.certificate);
    keys.push_back(s.key);
  }
  std::vector<std::string> preferred;
  if (e.stage == "private key") {
    preferred = keys;
  } else if (e.stage == "certificate") {
    preferred = certificates;
  } else if (e.stage == "CA bundle") {
    preferred = {p.ca};
  }
  std::vector<std::string> all = certificates;
  all.insert(all.end(), keys.begin(), keys.end());
  all.push_back(p.ca);
  for (std::vector<std::string>* files : {&preferred, &all}) {
    // The longest match first: "/a/edge.pem" must not be taken for "/a/edge.pem.new".
    std::sort(files->begin(), files->end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& f : *files) {
      if (!f.empty() && e.reason.find(f) != std::string::npos) {
        return f;
      }
    }
  }
  return {};
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out.empty() ? "none" : out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// The profiles external TLS listeners serve.
std::set<std::string> externalProfiles(const config::Config& c) {
  std::set<std::string> out;
  for (const config::ListenerConfig& l : c.listeners) {
    if (l.transport == config::Transport::Tls && l.side == config::Side::External) {
      out.insert(l.tls_profile);
    }
  }
  return out;
}

// Reads one served certificate, checks its chain against the profile's CA bundle, records it.
Result<transport::PeerIdentity, TlsBuildError> checkServed(const config::TlsProfile& p,
                                                           const std::string& file,
                                                           const std::string& sni_domain,
                                                           std::vector<CertificateStatus>& out) {
  auto checked = transport::checkCertificateFile(file, p.ca);
  if (!checked) {
    const bool ca_at_fault = checked.error().stage == "CA bundle";
    return fail(TlsBuildError{p.name, ca_at_fault ? p.ca : file, checked.error().describe()});
  }
  const transport::PeerIdentity& leaf = checked->leaf;
  if (!p.ca.empty() && !leaf.verified) {
    return fail(TlsBuildError{p.name, file,
                              "certificate (subject " + leaf.subject + ", issuer " + leaf.issuer +
                                  ") does not verify to the CA bundle " + p.ca + ": " +
                                  leaf.verify_error});
  }
  out.push_back(CertificateStatus{p.name, file, sni_domain, leaf.subject, leaf.serial,
                                  leaf.fingerprint_sha256, leaf.not_after});
  return leaf;
}

Result<void, TlsBuildError> checkProfile(const config::TlsProfile& p, bool external,
                                         const std::vector<std::string>& served_domains,
                                         std::vector<CertificateStatus>& out) {
  if (p.certificate.empty()) {
    return {};  // client-only: nothing served
  }
  auto leaf = checkServed(p, p.certificate, "", out);
  if (!leaf) {
    return fail(leaf.error());
  }
  const std::vector<std::string> main_domains = leaf->sipDomains();
  std::map<std::string, std::vector<std::string>> sni_domains;  // domain -> what its cert covers
  for (const config::TlsProfile::Sni& s : p.sni) {
    auto sni = checkServed(p, s.certificate, s.domain, out);
    if (!sni) {
      return fail(sni.error());
    }
    sni_domains[s.domain] = sni->sipDomains();
    if (external && !contains(sni_domains[s.domain], s.domain)) {
      return fail(
          TlsBuildError{p.name, s.certificate,
                        "the SNI certificate for " + s.domain + " does not cover " + s.domain +
                            " (its SIP domains, RFC 5922: " + joined(sni_domains[s.domain]) + ")"});
    }
  }
  if (!external) {
    return {};
  }
  for (const std::string& domain : served_domains) {
    if (contains(main_domains, domain)) {
      continue;
    }
    if (auto it = sni_domains.find(domain); it != sni_domains.end()) {
      continue;  // checked above
    }
    return fail(TlsBuildError{p.name, p.certificate,
                              "certificate (subject " + leaf->subject +
                                  ") does not cover the served domain " + domain +
                                  " (its SIP domains, RFC 5922: " + joined(main_domains) +
                                  "); an external TLS listener uses this profile"});
  }
  return {};
}

}  // namespace

std::int64_t CertificateStatus::daysLeft(std::int64_t now) const {
  const std::int64_t s = secondsLeft(now);
  return s >= 0 ? s / kDay : -((-s + kDay - 1) / kDay);
}

std::string TlsBuildError::describe() const {
  return "tls." + profile + ": " + (file.empty() ? "" : file + ": ") + reason;
}

std::string defaultTlsProfile(const config::Config& c) {
  if (!c.b2bua.client_tls.empty()) {
    return c.b2bua.client_tls;
  }
  for (const config::ListenerConfig& l : c.listeners) {
    if (l.transport == config::Transport::Tls) {
      return l.tls_profile;
    }
  }
  return {};
}

Result<TlsBuild, TlsBuildError> buildTls(const config::Config& c) {
  TlsBuild build;
  build.default_profile = defaultTlsProfile(c);
  const std::set<std::string> external = externalProfiles(c);
  for (const config::TlsProfile& p : c.tls) {
    auto contexts = transport::TlsContexts::build(tlsSettings(p));
    if (!contexts) {
      return fail(
          TlsBuildError{p.name, fileNamedIn(contexts.error(), p), contexts.error().describe()});
    }
    if (auto r = checkProfile(p, external.count(p.name) > 0, c.server.domains, build.certificates);
        !r) {
      return fail(r.error());
    }
    build.contexts.emplace(p.name, std::move(*contexts));
  }
  return build;
}

void applyTls(const TlsBuild& build, transport::TlsContextStore& store) {
  for (const auto& [name, contexts] : build.contexts) {
    store.set(name, contexts);
    if (name == build.default_profile) {
      store.set("default", contexts);
    }
  }
}

void logCertificates(const std::vector<CertificateStatus>& certificates, std::int64_t now) {
  for (const CertificateStatus& c : certificates) {
    const std::int64_t days = c.daysLeft(now);
    const std::string what = "profile " + c.profile +
                             (c.sni_domain.empty() ? "" : " (SNI " + c.sni_domain + ")") + ": " +
                             c.file + ": subject " + c.subject + ", serial " + c.serial;
    if (c.secondsLeft(now) <= 0) {
      log::error("tls", "{}: expired {} days ago", what, -days);
    } else if (days < kWarnDays) {
      log::warning("tls", "{}: expires in {} days", what, days);
    } else {
      log::info("tls", "{}: expires in {} days", what, days);
    }
  }
}

// ---- TlsFileWatcher ----------------------------------------------------------------------------

std::vector<std::string> TlsFileWatcher::filesOf(const config::Config& c) {
  std::vector<std::string> files;
  auto add = [&files](const std::string& f) {
    if (!f.empty() && !contains(files, f)) {
      files.push_back(f);
    }
  };
  for (const config::TlsProfile& p : c.tls) {
    add(p.certificate);
    add(p.key);
    add(p.ca);
    for (const config::TlsProfile::Sni& s : p.sni) {
      add(s.certificate);
      add(s.key);
    }
  }
  return files;
}

TlsFileWatcher::FileState TlsFileWatcher::stateOf(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return {};
  }
  auto ns = [](const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
  };
  return FileState{true, st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
}

void TlsFileWatcher::watch(std::vector<std::string> files) {
  names_ = std::move(files);
  states_.clear();
  for (const std::string& f : names_) {
    states_.push_back(stateOf(f));
  }
}

bool TlsFileWatcher::poll() {
  bool changed = false;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    FileState now = stateOf(names_[i]);
    if (!(now == states_[i])) {
      states_[i] = now;
      changed = true;
    }
  }
  return changed;
}

// ---- ReloadStatus ------------------------------------------------------------------------------

void ReloadStatus::setCertificates(std::vector<CertificateStatus> certificates) {
  std::lock_guard lock(mutex_);
  certificates_ = std::move(certificates);
}

void ReloadStatus::countReload(Trigger trigger, bool ok) {
  std::lock_guard lock(mutex_);
  if (trigger == Trigger::Config) {
    ++(ok ? config_ok_ : config_error_);
  } else {
    ++(ok ? certificates_ok_ : certificates_error_);
  }
}

std::vector<CertificateStatus> ReloadStatus::certificates() const {
  std::lock_guard lock(mutex_);
  return certificates_;
}

std::string ReloadStatus::metricsText(std::int64_t now) const {
  std::lock_guard lock(mutex_);
  ops::MetricsText m;
  std::set<std::pair<std::string, std::string>> seen;  // one series per (profile, file)
  for (const CertificateStatus& c : certificates_) {
    if (seen.emplace(c.profile, c.file).second) {
      m.gauge("sipedge_certificate_expiry_seconds",
              "Seconds until the certificate's notAfter (negative once expired)",
              static_cast<double>(c.secondsLeft(now)), {{"profile", c.profile}, {"file", c.file}});
    }
  }
  const char* reloads_help = "Configuration reloads (SIGHUP), by outcome";
  m.counter("sipedge_config_reloads_total", reloads_help, static_cast<double>(config_ok_),
            {{"result", "ok"}});
  m.counter("sipedge_config_reloads_total", reloads_help, static_cast<double>(config_error_),
            {{"result", "error"}});
  const char* rotations_help =
      "TLS rebuilds after a certificate, key or CA file changed on disk, by outcome";
  m.counter("sipedge_certificate_reloads_total", rotations_help,
            static_cast<double>(certificates_ok_), {{"result", "ok"}});
  m.counter("sipedge_certificate_reloads_total", rotations_help,
            static_cast<double>(certificates_error_), {{"result", "error"}});
  return m.str();
}

}  // namespace sipedge::app
