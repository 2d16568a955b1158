// `sipedge policy test`: the decision live traffic would get, without traffic (issue 5). The same
// Policy::compile and decide() as `sipedge run`, on a context built from the command line:
//
//   sipedge policy test --config FILE --method INVITE --from sip:a@partner.com
//       --to sip:b@acme.com --src 203.0.113.7 [--cert partner.pem] [--json]
//
// - The certificate (--cert) is read and verified against --ca, or else the CA bundle of the
//   first external TLS listener's profile; its RFC 5922 identity is what decide() sees.
// - The country comes from [geoip] database, as in `run`.
// - Rate limits start with full buckets: one test request is never throttled.
// - Open federation's SRV check needs DNS: --srv-matches yes|no says what it would find.
// Exit: 0 allowed, 3 refused (deny, throttle, redirect), 1 bad configuration or input, 2 usage.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sipedge/base/strings.h"
#include "sipedge/config/config.h"
#include "sipedge/geo/geo.h"
#include "sipedge/policy/decision_record.h"
#include "sipedge/policy/policy.h"
#include "sipedge/sip/method.h"
#include "sipedge/sip/uri.h"
#include "sipedge/transport/tls_certificates.h"

namespace sipedge::app {

namespace {

int inputError(const std::string& message) {
  fmt::print(stderr, "sipedge policy test: {}\n", message);
  return 1;
}

// The CA bundle partners' certificates are verified against: the first external TLS listener's.
std::string listenerCa(const config::Config& c) {
  for (const config::ListenerConfig& l : c.listeners) {
    if (l.transport == config::Transport::Tls && l.side == config::Side::External) {
      if (const config::TlsProfile* p = c.findTlsProfile(l.tls_profile)) {
        return p->ca;
      }
    }
  }
  return {};
}

}  // namespace

void addPolicyCommand(CLI::App& app, PolicyCommandOptions& opts) {
  CLI::App* policy = app.add_subcommand("policy", "Federation policy tools");
  policy->require_subcommand(1);
  CLI::App* test = policy->add_subcommand(
      "test", "Print the policy decision a request would get, without sending anything");
  test->add_option("--config,-c", opts.config, "the TOML configuration file")->required();
  test->add_option("--method", opts.method, "the request's method, e.g. INVITE")->required();
  test->add_option("--from", opts.from, "From URI, e.g. sip:alice@partner.example")->required();
  test->add_option("--to", opts.to, "Request-URI / To URI, e.g. sip:bob@acme.example")->required();
  test->add_option("--src", opts.src, "source IP address (inbound), e.g. 203.0.113.7");
  test->add_option("--direction", opts.direction, "inbound (from a partner) or outbound")
      ->check(CLI::IsMember({"inbound", "outbound"}));
  test->add_option("--transport", opts.transport, "udp, tcp or tls (default: tls with --cert)")
      ->check(CLI::IsMember({"udp", "tcp", "tls"}));
  test->add_option("--cert", opts.cert, "the partner's certificate (PEM) it would present");
  test->add_option("--ca", opts.ca, "CA bundle to verify --cert (default: the TLS listener's)");
  test->add_option("--size", opts.size, "message size in bytes (default 1000)");
  test->add_option("--srv-matches", opts.srv_matches,
                   "open federation: whether the domain's _sipfederationtls SRV points at --src")
      ->check(CLI::IsMember({"yes", "no"}));
  test->add_flag("--json", opts.json, "print the decision-log line instead of the summary");
}

int runPolicyCommand(const PolicyCommandOptions& opts) {
  auto loaded = config::load(opts.config);
  if (!loaded) {
    return inputError(loaded.error().describe());
  }
  const config::Config& cfg = *loaded;
  const bool inbound = opts.direction != "outbound";

  auto from = sip::parseUri(opts.from);
  if (!from || !from->isSip() || from->host.empty()) {
    return inputError("--from: expected a sip: or sips: URI with a host, got '" + opts.from + "'");
  }
  auto to = sip::parseUri(opts.to);
  if (!to || !to->isSip() || to->host.empty()) {
    return inputError("--to: expected a sip: or sips: URI with a host, got '" + opts.to + "'");
  }
  if (!sip::isToken(opts.method)) {
    return inputError("--method: expected a SIP method token such as INVITE, got '" + opts.method +
                      "'");
  }
  std::optional<policy::Ip> source;
  std::string source_ip = opts.src;
  if (!opts.src.empty()) {
    source = policy::Ip::parse(opts.src);
    if (!source) {
      return inputError("--src: expected an IPv4 or IPv6 address, got '" + opts.src + "'");
    }
  } else if (inbound) {
    return inputError("--src: the source address is needed for an inbound request");
  }

  config::Transport transport = opts.cert.empty() ? config::Transport::Udp : config::Transport::Tls;
  if (opts.transport == "tcp") {
    transport = config::Transport::Tcp;
  } else if (opts.transport == "udp") {
    transport = config::Transport::Udp;
  } else if (opts.transport == "tls") {
    transport = config::Transport::Tls;
  }

  std::vector<std::string> cert_domains;
  bool cert_verified = false;
  policy::DecisionRecord evidence;
  if (!opts.cert.empty()) {
    const std::string ca = opts.ca.empty() ? listenerCa(cfg) : opts.ca;
    auto checked = transport::checkCertificateFile(opts.cert, ca);
    if (!checked) {
      return inputError("--cert: " + checked.error().describe());
    }
    const transport::PeerIdentity& leaf = checked->leaf;
    cert_verified = leaf.verified;
    cert_domains = leaf.sipDomains();
    if (ca.empty()) {
      fmt::print(stderr,
                 "sipedge policy test: note: no CA bundle (--ca, or the TLS listener's "
                 "profile): the certificate counts as not verified\n");
    } else if (!leaf.verified) {
      fmt::print(stderr, "sipedge policy test: note: the certificate does not verify: {}\n",
                 leaf.verify_error);
    }
    evidence.cert_subject = leaf.subject;
    for (const std::string& n : leaf.dns_names) {
      evidence.cert_sans.push_back("DNS:" + n);
    }
    for (const std::string& u : leaf.uris) {
      evidence.cert_sans.push_back("URI:" + u);
    }
    evidence.cert_fingerprint = leaf.fingerprint_sha256;
  }

  std::string country;
  if (inbound && !cfg.geoip.database.empty() && source) {
    auto db = geo::Database::open(cfg.geoip.database);
    if (!db) {
      return inputError("geoip.database: " + db.error().message);
    }
    country = (*db)->country(source_ip);
  }

  const std::string from_host = toLower(from->host);
  const std::string to_host = toLower(to->host);
  const sip::Method method = sip::methodFromToken(opts.method);
  policy::Context c;
  c.direction = inbound ? policy::Direction::Inbound : policy::Direction::Outbound;
  c.transport = transport;
  if (source) {
    c.source = *source;
  }
  c.source_text = source_ip;
  c.certificate_verified = cert_verified;
  c.certificate_domains = cert_domains;
  c.method = opts.method;
  c.claimed_domain = inbound ? std::string_view(from_host) : std::string_view(to_host);
  c.target_user = to->user;
  c.target_host = to_host;
  c.message_bytes = opts.size;
  c.new_dialog = method == sip::Method::Invite || method == sip::Method::Subscribe ||
                 method == sip::Method::Refer;
  c.country = country;
  if (!opts.srv_matches.empty()) {
    c.srv_matches = opts.srv_matches == "yes";
  }
  c.now = std::chrono::steady_clock::now();

  auto compiled = policy::Policy::compile(cfg);
  policy::MemoryRateLimiter limiter;
  const policy::Decision d = compiled->decide(c, limiter);

  policy::DecisionRecord& r = evidence;
  r.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  r.id = "policy-test";
  r.verdict = std::string(policy::verdictName(d.verdict));
  r.status = d.status;
  r.reason = std::string(d.reason);
  r.rule = d.rule;
  r.partner = d.partner;
  r.direction = std::string(policy::directionName(c.direction));
  r.transport = std::string(config::toString(transport));
  r.src = source_ip;
  r.country = country;
  r.method = opts.method;
  r.from = opts.from;
  r.to = opts.to;
  r.ruri = opts.to;
  if (opts.json) {
    fmt::print("{}", policy::toJsonLine(r));
  } else {
    fmt::print("verdict:  {}\n", r.verdict);
    if (d.verdict == policy::Verdict::Allow) {
      fmt::print("response: (relayed)\n");
    } else if (d.status == 0) {
      fmt::print("response: none (dropped)\n");
    } else if (d.retry_after > 0) {
      fmt::print("response: {} {} (Retry-After: {})\n", d.status, d.reason, d.retry_after);
    } else {
      fmt::print("response: {} {}\n", d.status, d.reason);
    }
    fmt::print("rule:     {}\n", d.rule);
    fmt::print("partner:  {}\n", d.partner.empty() ? "(none)" : d.partner);
    fmt::print("evidence: {} {} from {}, claimed domain {}, country {}, certificate {}{}\n",
               r.direction, r.transport, source_ip.empty() ? "(none)" : source_ip, c.claimed_domain,
               country.empty() ? "(unknown)" : country,
               opts.cert.empty() ? std::string("(none)")
                                 : fmt::format("{} ({})", fmt::join(cert_domains, ", "),
                                               cert_verified ? "verified" : "not verified"),
               d.network.empty() ? "" : ", network " + d.network);
  }
  return d.verdict == policy::Verdict::Allow ? 0 : 3;
}

}  // namespace sipedge::app
