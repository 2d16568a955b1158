// Fuzz target: config::parse over arbitrary bytes (TOML, or not), plus the value parsers over the
// same bytes.
//
// Properties, for every config that parses:
//  - at least one served domain and one listener; every domain (served, partner, blocked, SNI)
//    is already in normal form (parseDomainName returns it unchanged);
//  - every TLS listener names a defined profile that has a certificate; no other listener names
//    one; no two listeners share (transport, address) or a name; every listener address
//    survives toString -> parseSocketAddress;
//  - TLS profiles are sorted by name and unique; certificate and key are set together;
//  - txn: t1 >= 1ms, t2 >= t1;
//  - partners have unique names, at least one domain, and no domain belongs to two of them;
//  - partner policies (and [federation.default]): methods upper case and unique, statuses
//    400-699, every configured rate positive with a burst of at least 1, max_message_bytes within
//    [limits]; country rules only with a [geoip] database;
//  - config::lint runs, and every warning names its file and says something;
//  - parsing again yields an equal Config (no hidden state).
// For the value parsers: no crash, and what parses is in normal form.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sipedge/config/config.h"
#include "sipedge/config/lint.h"
#include "sipedge/config/values.h"

namespace {

namespace config = sipedge::config;

void checkDomain(const std::string& d) {
  auto again = config::parseDomainName(d);
  FUZZ_CHECK(again.has_value() && *again == d);
}

void checkRate(const config::RateLimitConfig& r) {
  if (r.per_second > 0) {
    FUZZ_CHECK(r.burst >= 1);
  } else {
    FUZZ_CHECK(r.per_second == 0 && r.burst == 0);
  }
}

void checkPolicy(const config::Config& c, const config::PartnerPolicy& p) {
  std::set<std::string> methods;
  for (const std::string& m : p.methods) {
    FUZZ_CHECK(!m.empty());
    FUZZ_CHECK(std::none_of(m.begin(), m.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; }));
    FUZZ_CHECK(methods.insert(m).second);
  }
  for (int status : {p.deny_status, p.throttle_status}) {
    FUZZ_CHECK(status >= 400 && status <= 699);
  }
  for (const auto* r : {&p.rate_limits.requests, &p.rate_limits.dialogs,
                        &p.rate_limits.source_requests, &p.rate_limits.source_dialogs}) {
    checkRate(*r);
  }
  FUZZ_CHECK(p.max_message_bytes <= c.limits.max_message_bytes);
  FUZZ_CHECK(p.throttle_retry_after.count() % 1000 == 0);
  if (!p.countries.empty() || !p.deny_countries.empty()) {
    FUZZ_CHECK(!c.geoip.database.empty());
  }
}

void checkConfig(const config::Config& c, std::string_view text) {
  FUZZ_CHECK(!c.server.domains.empty());
  FUZZ_CHECK(!c.listeners.empty());
  for (const std::string& d : c.server.domains) {
    checkDomain(d);
  }
  std::set<std::string> listener_names;
  std::set<std::pair<int, std::string>> endpoints;
  for (const config::ListenerConfig& l : c.listeners) {
    FUZZ_CHECK(listener_names.insert(l.name).second);
    FUZZ_CHECK(
        endpoints.insert({static_cast<int>(l.transport), config::toString(l.address)}).second);
    auto reparsed = config::parseSocketAddress(config::toString(l.address));
    FUZZ_CHECK(reparsed.has_value() && *reparsed == l.address);
    if (l.transport == config::Transport::Tls) {
      const config::TlsProfile* p = c.findTlsProfile(l.tls_profile);
      FUZZ_CHECK(p != nullptr);
      FUZZ_CHECK(!p->certificate.empty());
    } else {
      FUZZ_CHECK(l.tls_profile.empty());
    }
  }
  for (std::size_t i = 0; i < c.tls.size(); ++i) {
    if (i > 0) {
      FUZZ_CHECK(c.tls[i - 1].name < c.tls[i].name);
    }
    FUZZ_CHECK(c.tls[i].certificate.empty() == c.tls[i].key.empty());
    FUZZ_CHECK(c.tls[i].min_version == "1.2" || c.tls[i].min_version == "1.3");
    for (const auto& sni : c.tls[i].sni) {
      checkDomain(sni.domain);
      FUZZ_CHECK(!sni.certificate.empty() && !sni.key.empty());
    }
  }
  FUZZ_CHECK(c.txn.t1.count() >= 1);
  FUZZ_CHECK(c.txn.t2 >= c.txn.t1);
  for (const std::string& d : c.federation.blocked_domains) {
    checkDomain(d);
  }
  std::set<std::string> partner_names;
  std::set<std::string> partner_domains;
  for (const config::Partner& p : c.partners) {
    FUZZ_CHECK(!p.name.empty());
    FUZZ_CHECK(partner_names.insert(p.name).second);
    FUZZ_CHECK(!p.domains.empty());
    for (const std::string& d : p.domains) {
      checkDomain(d);
      FUZZ_CHECK(partner_domains.insert(d).second);
    }
  }
  checkPolicy(c, c.federation.default_policy);
  for (const config::Partner& p : c.partners) {
    checkPolicy(c, p.policy);
  }
  FUZZ_CHECK(c.federation.unknown_status >= 400 && c.federation.unknown_status <= 699);
  for (const config::ConfigWarning& w : config::lint(c)) {
    FUZZ_CHECK(w.file == "fuzz.toml");
    FUZZ_CHECK(!w.message.empty());
  }
  auto again = config::parse(text, "fuzz.toml");
  FUZZ_CHECK(again.has_value() && *again == c);
}

void checkValues(std::string_view s) {
  if (auto d = config::parseDuration(s)) {
    FUZZ_CHECK(d->count() >= 0);
  }
  (void)config::parseSize(s);
  if (auto a = config::parseServerAddress(s, 53)) {
    auto again = config::parseSocketAddress(config::toString(*a));
    FUZZ_CHECK(again.has_value() && *again == *a);
  }
  if (auto cidr = config::parseCidr(s)) {
    FUZZ_CHECK(cidr->prefix <= (cidr->ipv6 ? 128u : 32u));
  }
  if (auto cc = config::parseCountryCode(s)) {
    FUZZ_CHECK(cc->size() == 2);
  }
  if (auto d = config::parseDomainName(s)) {
    checkDomain(*d);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = config::parse(text, "fuzz.toml");
  if (parsed) {
    checkConfig(*parsed, text);
  } else {
    const config::ConfigError& e = parsed.error();
    FUZZ_CHECK(e.file == "fuzz.toml");
    FUZZ_CHECK(!e.message.empty());
    (void)e.describe();
  }
  if (size <= 512) {
    checkValues(text);
  }
  return 0;
}
