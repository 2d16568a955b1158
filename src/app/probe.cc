#include "probe.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "sipedge/base/strings.h"
#include "sipedge/sip/response.h"
#include "sipedge/sip/uri.h"
#include "sipedge/txn/branch.h"

namespace sipedge::app {

namespace {

transport::Transport toTransport(dns::Transport t) {
  switch (t) {
    case dns::Transport::Udp: return transport::Transport::Udp;
    case dns::Transport::Tcp: return transport::Transport::Tcp;
    case dns::Transport::Tls: return transport::Transport::Tls;
  }
  return transport::Transport::Udp;
}

std::optional<dns::Transport> toDns(transport::Transport t) {
  switch (t) {
    case transport::Transport::Udp: return dns::Transport::Udp;
    case transport::Transport::Tcp: return dns::Transport::Tcp;
    case transport::Transport::Tls: return dns::Transport::Tls;
  }
  return std::nullopt;
}

std::string utc(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Prints every line of a message with a prefix (no trailing blank line).
void printMessage(std::FILE* out, const char* prefix, std::string_view text) {
  while (!text.empty()) {
    std::size_t eol = text.find("\r\n");
    std::string_view l = text.substr(0, eol);
    if (eol == std::string_view::npos) {
      fmt::print(out, "{}{}\n", prefix, l);
      break;
    }
    if (l.empty() && eol + 2 >= text.size()) {
      break;
    }
    fmt::print(out, "{}{}\n", prefix, l);
    text.remove_prefix(eol + 2);
  }
}

}  // namespace

Probe::Probe(Node& node, ProbeSettings settings, std::FILE* out)
    : node_(node), settings_(std::move(settings)), out_(out) {}

Probe::~Probe() = default;

template <typename... Args>
void Probe::line(const char* format, Args&&... args) {
  fmt::print(out_, fmt::runtime(format), std::forward<Args>(args)...);
  std::fputc('\n', out_);
  std::fflush(out_);
}

double Probe::elapsedMs() const {
  return std::chrono::duration<double, std::milli>(node_.worker().now() - sent_at_).count();
}

void Probe::start(std::function<void(int)> done) {
  done_ = std::move(done);
  timeout_timer_ = node_.worker().createTimer([this] { onTimeout(); });
  next_timer_ = node_.worker().createTimer([this] { sendProbe(); });

  auto uri = sip::parseUri(settings_.uri);
  if (!uri || !uri->isSip()) {
    finish(2, "'" + settings_.uri + "' is not a sip: or sips: URI" +
                  (uri ? std::string() : " (" + uri.error().describe() + ")"));
    return;
  }
  dns::Query q;
  std::string_view host = uri->host;
  if (auto maddr = uri->param("maddr"); maddr && !maddr->empty()) {
    host = *maddr;
  }
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  q.host = std::string(host);
  q.port = uri->port;
  q.sips = uri->scheme == sip::UriScheme::Sips;
  q.numeric_host = transport::Address::parseIp(q.host, 0).has_value();
  if (auto t = uri->param("transport")) {
    auto parsed = transport::parseTransport(*t);
    if (!parsed) {
      finish(2, "unsupported transport parameter '" + std::string(*t) + "'");
      return;
    }
    q.transport = toDns(*parsed);
  } else if (settings_.transport) {
    q.transport = toDns(*settings_.transport);
  }
  if (q.sips && q.transport && *q.transport != dns::Transport::Tls) {
    finish(2, "a sips: URI is reached over TLS only (RFC 3261 26.2.2)");
    return;
  }
  domain_ = q.host;
  numeric_host_ = q.numeric_host;
  if (settings_.proxy) {
    dns::Target t;
    t.ip = settings_.proxy->ip();
    t.port = settings_.proxy->port();
    t.transport = q.transport.value_or(q.sips ? dns::Transport::Tls : dns::Transport::Udp);
    targets_ = {t};
    line("proxy: {} (no DNS lookup)", settings_.proxy->toString());
    sendProbe();
    return;
  }

  dns::ResolverSettings rs;
  rs.servers = settings_.dns_servers;
  auto resolver = dns::CaresResolver::create(node_.worker(), rs, node_.random());
  if (!resolver) {
    finish(1, "DNS resolver: " + resolver.error().message);
    return;
  }
  resolver_ = std::move(*resolver);
  line("dns: resolving {} (RFC 3263{})", settings_.uri,
       q.numeric_host ? ", numeric host: no lookup" : "");
  sent_at_ = node_.worker().now();
  query_ = resolver_->resolve(q, [this](dns::ResolveResult r) { onResolved(std::move(r)); });
}

void Probe::onResolved(dns::ResolveResult result) {
  double ms = elapsedMs();
  if (!result) {
    for (const std::string& t : result.error().trace) {
      line("dns:   {}", t);
    }
    finish(1, "cannot resolve " + settings_.uri + ": " + result.error().describe());
    return;
  }
  for (const std::string& t : result->trace) {
    line("dns:   {}", t);
  }
  targets_ = result->targets;
  line("dns: {} target{} in {:.1f} ms", targets_.size(), targets_.size() == 1 ? "" : "s", ms);
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const dns::Target& t = targets_[i];
    line("dns:   {}. {} {}:{}{}", i + 1, transport::transportName(toTransport(t.transport)),
         t.ip.find(':') != std::string::npos ? "[" + t.ip + "]" : t.ip, t.port,
         t.srv_name.empty() ? "" : " (SRV " + t.srv_name + ")");
  }
  if (targets_.empty()) {
    finish(1, "no target for " + settings_.uri);
    return;
  }
  sendProbe();
}

void Probe::sendProbe() {
  ++probe_number_;
  target_index_ = 0;
  tryTarget();
}

void Probe::tryTarget() {
  if (target_index_ >= targets_.size()) {
    failures_.push_back(last_reason_.empty() ? "no target answered" : last_reason_);
    nextProbe();
    return;
  }
  const dns::Target& t = targets_[target_index_];
  auto address = transport::Address::parseIp(t.ip, t.port);
  if (!address) {
    last_reason_ = "bad address " + t.ip;
    ++target_index_;
    tryTarget();
    return;
  }
  transport::Destination d;
  d.endpoint = transport::Endpoint{*address, toTransport(t.transport)};
  d.side = transport::Side::External;
  if (d.endpoint.transport == transport::Transport::Tls && !numeric_host_) {
    d.tls_server_name = domain_;
  }
  auto via = node_.transport().viaFor(d);
  if (!via) {
    finish(1, "no local socket: " + via.error().describe());
    return;
  }
  line(
      "target: {} (probe {} of {}){}", d.endpoint.toString(), probe_number_, settings_.count,
      d.tls_server_name.empty() ? "" : " - the certificate must cover '" + d.tls_server_name + "'");
  std::string transport_name(transport::transportName(d.endpoint.transport));
  std::string lower_transport = toLower(transport_name);
  std::string branch = txn::makeBranch(node_.index(), node_.random());
  std::string via_host = via->host;
  std::string from = settings_.from.empty() ? "sip:probe@" + via_host : settings_.from;
  std::string call_id =
      fmt::format("probe-{:x}-{}@{}", node_.random().below(0x7fffffff), probe_number_, via_host);
  std::string contact = fmt::format(
      "<sip:probe@{}:{}{}>", via_host, via->port,
      d.endpoint.transport == transport::Transport::Udp ? "" : ";transport=" + lower_transport);
  std::string text = fmt::format(
      "{} {} SIP/2.0\r\n"
      "Via: SIP/2.0/{} {}:{};branch={};rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: <{}>;tag=p{:x}\r\n"
      "To: <{}>\r\n"
      "Call-ID: {}\r\n"
      "CSeq: {} {}\r\n"
      "Contact: {}\r\n"
      "User-Agent: sipedge-probe\r\n",
      settings_.method, settings_.uri, transport_name, via_host, via->port, branch, from,
      node_.random().below(0x7fffffff), settings_.uri, call_id, ++cseq_, settings_.method, contact);
  if (settings_.method == "OPTIONS") {
    text += "Accept: application/sdp\r\n";
  }
  if (!settings_.body.empty()) {
    text += "Content-Type: text/plain\r\n";
  }
  text += fmt::format("Content-Length: {}\r\n\r\n{}", settings_.body.size(), settings_.body);
  auto request = sip::parseMessage(text, sip::ParseOptions{});
  if (!request) {
    finish(2, "cannot build the request: " + request.error().describe() +
                  " (check --from and the URI)");
    return;
  }
  if (probe_number_ == 1) {
    printMessage(out_, "> ", text);
  } else {
    line("> {} {} (CSeq {})", settings_.method, settings_.uri, cseq_);
  }
  std::fflush(out_);
  sent_at_ = node_.worker().now();
  auto id = node_.layer().request(std::move(*request), d);
  if (!id) {
    finish(1, "cannot send: " + id.error().describe());
    return;
  }
  current_ = *id;
  timeout_timer_->enable(settings_.timeout);
}

void Probe::onRequest(txn::ServerTransactionId id, transport::Inbound&& request) {
  // A probe is a client only; anything sent to it is refused.
  auto response = sip::makeResponse(request.message, 501, {}, "probe");
  if (response) {
    (void)node_.layer().respond(id, std::move(*response));
  }
}

void Probe::printPeer(const transport::PeerIdentity& peer) {
  if (!peer.presented) {
    line("tls: the server presented no certificate");
    return;
  }
  line("tls: peer certificate subject: {}", peer.subject);
  std::string sans;
  for (const std::string& d : peer.dns_names) {
    sans += (sans.empty() ? "DNS:" : ", DNS:") + d;
  }
  for (const std::string& u : peer.uris) {
    sans += (sans.empty() ? "URI:" : ", URI:") + u;
  }
  line("tls:   subjectAltName: {}", sans.empty() ? "(none)" : sans);
  line("tls:   issuer: {}", peer.issuer);
  line("tls:   valid: {} .. {}", utc(peer.not_before), utc(peer.not_after));
  line("tls:   sha256 fingerprint: {}", peer.fingerprint_sha256);
  if (peer.verified) {
    line("tls:   verification: ok (chain verified{})",
         numeric_host_ ? "; numeric host, no name checked"
                       : ", covers '" + domain_ + "' per RFC 5922");
  } else {
    line("tls:   verification: FAILED ({})", peer.verify_error);
  }
}

void Probe::onResponse(txn::ClientTransactionId id, txn::ClientResponse&& response) {
  if (!current_ || id != *current_) {
    return;  // a late answer to an attempt we gave up on
  }
  double ms = elapsedMs();
  const sip::Message& m = response.message();
  if (response.origin == txn::ResponseOrigin::TransportError) {
    std::string why = response.error ? response.error->describe() : "transport error";
    line("! {} ({:.1f} ms)", why, ms);
    finishAttempt(false, why, true);
    return;
  }
  if (response.origin == txn::ResponseOrigin::Timeout) {
    line("! no final response (timer F) after {:.1f} ms", ms);
    finishAttempt(false, "timeout", true);
    return;
  }
  if (!printed_peer_ && response.inbound.peer) {
    printed_peer_ = true;
    printPeer(*response.inbound.peer);
  }
  int status = m.statusCode();
  if (probe_number_ == 1) {
    line("< after {:.1f} ms:", ms);
    printMessage(out_, "< ", m.serialize());
  } else {
    line("< {} {} after {:.1f} ms", status, m.reasonPhrase(), ms);
  }
  if (status < 200) {
    return;
  }
  bool ok = status < 300;
  if (ok) {
    latencies_.push_back(ms);
  }
  // RFC 3263 4.3: a 503 means try the next target.
  finishAttempt(ok, fmt::format("answered {} {}", status, m.reasonPhrase()), status == 503);
}

void Probe::onTimeout() {
  line("! no final response within {} ms", settings_.timeout.count());
  finishAttempt(false,
                fmt::format("no response within {} ms from {}", settings_.timeout.count(),
                            targets_[target_index_].ip),
                true);
}

void Probe::finishAttempt(bool success, const std::string& failure, bool failover) {
  timeout_timer_->disable();
  current_.reset();
  if (success) {
    nextProbe();
    return;
  }
  last_reason_ = failure;
  if (failover && target_index_ + 1 < targets_.size()) {
    ++target_index_;
    line("failover: trying the next target");
    tryTarget();
    return;
  }
  failures_.push_back(failure);
  nextProbe();
}

void Probe::nextProbe() {
  if (probe_number_ < settings_.count) {
    next_timer_->enable(settings_.interval);
    return;
  }
  std::size_t ok = latencies_.size();
  if (!latencies_.empty()) {
    std::vector<double> sorted = latencies_;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.size() % 2 == 1
                        ? sorted[sorted.size() / 2]
                        : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
    line("latency: min {:.1f} ms, median {:.1f} ms, max {:.1f} ms over {} answered probe{}",
         sorted.front(), median, sorted.back(), ok, ok == 1 ? "" : "s");
  }
  if (failures_.empty()) {
    finish(0, fmt::format("{} of {} probes answered 2xx", ok, settings_.count));
  } else {
    finish(1, fmt::format("{} of {} probes failed; last: {}", failures_.size(), settings_.count,
                          failures_.back()));
  }
}

void Probe::finish(int code, const std::string& summary) {
  // May run inside a timer's or the resolver's callback: disable, never destroy, here.
  if (timeout_timer_) {
    timeout_timer_->disable();
  }
  if (code == 0) {
    line("probe: ok: {}", summary);
  } else {
    // The one line an operator (or a script) reads.
    fmt::print(stderr, "sipedge probe: {}\n", summary);
    line("probe: FAILED: {}", summary);
  }
  auto done = std::move(done_);
  if (done) {
    done(code);
  }
}

}  // namespace sipedge::app
