#include "sipedge/b2bua/b2bua.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "sipedge/b2bua/ids.h"
#include "sipedge/base/strings.h"
#include "sipedge/sip/response.h"
#include "sipedge/txn/branch.h"
#include "state.h"

namespace sipedge::b2bua {

using namespace detail;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace detail {

std::string_view transportToken(transport::Transport t) {
  switch (t) {
    case transport::Transport::Udp: return "UDP";
    case transport::Transport::Tcp: return "TCP";
    case transport::Transport::Tls: return "TLS";
  }
  return "UDP";
}

std::string contactFor(const transport::ViaAddress& via) {
  const std::string_view t = via.transport == transport::Transport::Udp   ? ""
                             : via.transport == transport::Transport::Tcp ? ";transport=tcp"
                                                                          : ";transport=tls";
  std::string out;
  out.reserve(via.host.size() + 32);
  out.append("<sip:").append(via.host).append(":");
  appendDecimal(out, via.port);
  out.append(t).append(">");
  return out;
}

std::string partyOf(const sip::NameAddr& na) {
  return partyWithUri(na, na.uri.text);
}

std::string partyWithUri(const sip::NameAddr& na, std::string_view uri) {
  std::string out;
  out.reserve(na.display.size() + uri.size() + 3);
  if (!na.display.empty()) {
    out.append(na.display).append(" ");
  }
  out.append("<").append(uri).append(">");
  return out;
}

std::string tagged(const std::string& party, const std::string& tag) {
  return tag.empty() ? party : party + ";tag=" + tag;
}

std::string viaParm(const transport::ViaAddress& via, std::string_view branch) {
  std::string out;
  out.reserve(via.host.size() + branch.size() + 40);
  out.append("SIP/2.0/").append(transportToken(via.transport)).append(" ").append(via.host);
  out.append(":");
  appendDecimal(out, via.port);
  out.append(";branch=").append(branch).append(";rport");
  return out;
}

void appendRequestHead(std::string& out, const RequestHead& h) {
  out.append(h.method).append(" ").append(h.ruri).append(" SIP/2.0\r\n");
  sip::appendHeader(out, "Via", h.via);
  out.append("Max-Forwards: ");
  appendDecimal(out, h.max_forwards);
  out.append("\r\n");
  if (h.routes != nullptr) {
    for (const std::string& route : *h.routes) {
      sip::appendHeader(out, "Route", route);
    }
  }
  sip::appendHeader(out, "From", h.from);
  sip::appendHeader(out, "To", h.to);
  sip::appendHeader(out, "Call-ID", h.call_id);
  out.append("CSeq: ");
  appendDecimal(out, h.cseq);
  out.append(" ").append(h.method).append("\r\n");
}

std::string headText(const RequestHead& head) {
  std::string text;
  text.reserve(512);
  appendRequestHead(text, head);
  return text;
}

txn::RequestParts takeParts(RequestHead& h) {
  txn::RequestParts p;
  p.method = std::string(h.method);
  p.request_uri = std::string(h.ruri);
  p.top_via = std::move(h.via);
  p.from = std::move(h.from);
  p.to = std::move(h.to);
  p.call_id = std::string(h.call_id);
  p.cseq = h.cseq;
  if (h.routes != nullptr) {
    p.routes = *h.routes;
  }
  return p;
}

void appendContentLength(std::string& out, std::size_t length) {
  out.append("Content-Length: ");
  appendDecimal(out, length);
  out.append("\r\n\r\n");
}

bool isDialogCreating(sip::Method m) {
  return m == sip::Method::Invite || m == sip::Method::Subscribe || m == sip::Method::Refer;
}

bool isTargetRefresh(sip::Method m) {
  return m == sip::Method::Invite || m == sip::Method::Update || m == sip::Method::Subscribe ||
         m == sip::Method::Notify || m == sip::Method::Refer;
}

std::vector<std::string> routeSet(const sip::Message& m, bool reverse) {
  std::vector<std::string> out;
  for (const sip::NameAddr& rr : m.recordRoutes()) {
    out.emplace_back(rr.text);
  }
  if (reverse) {
    std::reverse(out.begin(), out.end());
  }
  return out;
}

std::optional<std::string> contactUri(const sip::Message& m) {
  if (m.contacts().empty()) {
    return std::nullopt;
  }
  return std::string(m.contacts().front().uri.text);
}

std::optional<identity::Aor> aorOf(const sip::Uri& uri) {
  if (!uri.isSip() || uri.user.empty() || uri.host.empty()) {
    return std::nullopt;
  }
  return identity::Aor{std::string(uri.user), toLower(uri.host)};
}

}  // namespace detail

namespace {

constexpr std::string_view kAllow =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER";

// The headers a partner asserts identity or privacy with (issue 5's trust headers).
bool isTrustHeader(const sip::Header& h) {
  if (h.id == sip::HeaderId::PAssertedIdentity) {
    return true;
  }
  return iequals(h.name, "P-Preferred-Identity") || iequals(h.name, "Privacy") ||
         iequals(h.name, "Remote-Party-ID");
}

enum class Trust : std::uint8_t { Rules, Strip, Keep };

// The headers of `m` that pass `rules`. From a partner, trust headers are dropped (Strip) or all
// passed as received (Keep), whatever the rules say.
std::string passedHeaders(const sip::Message& m, const HeaderRules& rules,
                          Trust trust = Trust::Rules) {
  std::string out;
  for (const sip::Header& h : m.headers()) {
    if (h.name.empty() || h.id == sip::HeaderId::ContentLength) {
      continue;
    }
    if (trust != Trust::Rules && isTrustHeader(h)) {
      if (trust == Trust::Keep) {
        sip::appendHeader(out, h.name, h.value);
      }
      continue;
    }
    if (rules.passes(h)) {
      sip::appendHeader(out, h.name, h.value);
    }
  }
  return out;
}

config::Transport configTransport(transport::Transport t) {
  switch (t) {
    case transport::Transport::Udp: return config::Transport::Udp;
    case transport::Transport::Tcp: return config::Transport::Tcp;
    case transport::Transport::Tls: return config::Transport::Tls;
  }
  return config::Transport::Udp;
}

// Where requests to the sender of `in` go: its connection while it is open; over UDP its source
// address (symmetric, as rport); over TCP/TLS the numeric Contact address when the connection is
// gone, else the source.
Destination backTo(const Inbound& in) {
  Destination d;
  d.side = in.side;
  d.flow = in.flow;
  d.endpoint = in.source;
  const sip::Message& m = in.message;
  if (in.source.transport != transport::Transport::Udp && !m.contacts().empty()) {
    const sip::Uri& c = m.contacts().front().uri;
    const std::uint16_t port =
        c.port ? *c.port : (in.source.transport == transport::Transport::Tls ? 5061 : 5060);
    if (auto ip = transport::Address::parseIp(c.host, port)) {
      d.endpoint.address = *ip;
    }
  }
  if (in.source.transport == transport::Transport::Tls && m.from() != nullptr) {
    d.tls_server_name = toLower(m.from()->uri.host);
  }
  return d;
}

}  // namespace

// ---- construction -----------------------------------------------------------------------------

B2bua::B2bua(Settings settings, std::function<txn::Layer&()> layer, transport::Sender& sender,
             TimerFactory& timers, Clock& clock, Random& random, identity::Directory& directory,
             dns::Resolver* resolver)
    : settings_(std::move(settings)),
      layer_fn_(std::move(layer)),
      sender_(sender),
      timers_(timers),
      clock_(clock),
      random_(random),
      directory_(directory),
      resolver_(resolver),
      next_hops_(settings_.next_hops, settings_.health),
      policy_(settings_.policy),
      decision_prefix_(fmt::format("{:04x}{:04x}-{:x}-", random_.below(0x10000),
                                   random_.below(0x10000), settings_.worker)),
      alive_(std::make_shared<B2bua*>(this)) {}

void B2bua::setPolicy(std::shared_ptr<const policy::Policy> policy) {
  policy_ = std::move(policy);
}

B2bua::~B2bua() = default;

void B2bua::sweepDialogs() {
  const MonoTime now = clock_.now();
  const bool idle_check = settings_.idle_check.count() > 0;
  std::vector<std::uint64_t> expired;
  std::vector<std::uint64_t> idle;
  for (const auto& [id, dialog] : dialogs_) {
    if (now - dialog->created >= settings_.max_dialog_lifetime) {
      expired.push_back(id);
    } else if (idle_check && dialog->kind == Dialog::Kind::Invite && dialog->confirmed &&
               !dialog->terminating && dialog->probes == 0 &&
               now - dialog->last_request >= settings_.idle_check) {
      idle.push_back(id);
    }
  }
  for (std::uint64_t id : expired) {
    auto it = dialogs_.find(id);
    if (it != dialogs_.end()) {
      ++stats_.lifetime_expired;
      hangUp(*it->second);
    }
  }
  for (std::uint64_t id : idle) {
    auto it = dialogs_.find(id);
    if (it != dialogs_.end()) {
      probeIdle(*it->second);
    }
  }
  dialog_sweep_->enable(dialogSweepInterval());
}

Duration B2bua::dialogSweepInterval() const {
  // A tenth of the lifetime (or of the idle time), between 1 s and 60 s: a dialog outlives its
  // limit, or stays idle unprobed, by at most that.
  Duration shortest = settings_.max_dialog_lifetime;
  if (settings_.idle_check.count() > 0) {
    shortest = std::min(shortest, settings_.idle_check);
  }
  return std::clamp(shortest / 10, Duration{1000}, Duration{60000});
}

void B2bua::probeIdle(Dialog& dialog) {
  dialog.last_request = clock_.now();  // probed again one idle period after these, if need be
  for (bool external : {true, false}) {
    if (auto id = sendOnLeg(dialog.leg(external), "OPTIONS")) {
      probes_[id->value] = dialog.id;
      ++dialog.probes;
      ++stats_.idle_probes;
    }
  }
}

namespace {

// Whether the answer to an in-dialog request says the peer no longer has the dialog: RFC 5057
// 5.1's dialog-terminating responses, 481 and 408 (an INVITE dialog has one usage, so a response
// that ends the usage ends the dialog), and no answer at all (timeout, transport failure).
bool dialogGone(const txn::ClientResponse& response) {
  if (response.origin != txn::ResponseOrigin::Peer) {
    return true;
  }
  switch (response.message().statusCode()) {
    case 404:
    case 408:
    case 410:
    case 416:
    case 481:
    case 482:
    case 483:
    case 484:
    case 485:
    case 502:
    case 604: return true;
    default: return false;
  }
}

}  // namespace

void B2bua::onProbeResponse(std::uint64_t dialog_id, const txn::ClientResponse& response) {
  auto it = dialogs_.find(dialog_id);
  if (it == dialogs_.end()) {
    return;
  }
  Dialog& dialog = *it->second;
  if (dialog.probes > 0) {
    --dialog.probes;
  }
  if (dialogGone(response) && !dialog.terminating) {
    ++stats_.idle_ended;
    hangUp(dialog);
  }
}

void B2bua::start() {
  dialog_sweep_ = timers_.createTimer([this] { sweepDialogs(); });
  dialog_sweep_->enable(dialogSweepInterval());
  if (settings_.health_interval.count() > 0 && next_hops_.size() > 0) {
    ping_timer_ = timers_.createTimer([this] { ping(); });
    ping_timer_->enable(Duration{1});
  }
}

Stats B2bua::stats() const {
  Stats s = stats_;
  s.dialogs = dialogs_.size();
  s.pending = relays_.size();
  s.next_hops_up = next_hops_.upCount();
  return s;
}

// ---- requests ---------------------------------------------------------------------------------

void B2bua::reject(ServerTransactionId id, const sip::Message& request, int status,
                   std::string_view reason, std::string_view extra_name,
                   std::string_view extra_value) {
  ++stats_.rejected;
  sip::ExtraHeader extra[] = {{extra_name, extra_value}};
  auto response =
      sip::makeResponse(request, status, reason, mintTag(settings_.worker, random_),
                        extra_name.empty() ? std::span<const sip::ExtraHeader>{} : extra);
  if (response) {
    (void)layer().respond(id, std::move(*response));
  }
}

void B2bua::onRequest(ServerTransactionId id, Inbound&& in) {
  const sip::Message& m = in.message;
  const bool from_external = in.side == Side::External;
  if (m.to() != nullptr && !m.to()->tag.empty()) {
    Dialog* dialog = findDialog(m.callId(), m.to()->tag);
    if (dialog == nullptr || (dialog->ext.call_id == m.callId()) != from_external) {
      reject(id, m, 481, "Call/Transaction Does Not Exist");
      return;
    }
    handleInDialog(id, std::move(in), *dialog, from_external);
    return;
  }
  handleOutOfDialog(id, std::move(in));
}

// ---- policy -----------------------------------------------------------------------------------

policy::DecisionRecord B2bua::recordOf(const Inbound& in, const policy::Decision& decision,
                                       policy::Direction direction, std::string_view country) {
  const sip::Message& m = in.message;
  policy::DecisionRecord r;
  r.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  r.id = decision_prefix_;
  appendHex(r.id, ++decisions_made_);
  r.verdict = std::string(policy::verdictName(decision.verdict));
  r.status = decision.status;
  r.reason = std::string(decision.reason);
  r.rule = decision.rule;
  r.partner = decision.partner;
  r.direction = std::string(policy::directionName(direction));
  r.transport = toLower(transport::transportName(in.source.transport));
  r.src = in.source.address.toString();
  if (in.peer && in.peer->presented) {
    r.cert_subject = in.peer->subject;
    for (const std::string& name : in.peer->dns_names) {
      r.cert_sans.push_back("DNS:" + name);
    }
    for (const std::string& uri : in.peer->uris) {
      r.cert_sans.push_back("URI:" + uri);
    }
    r.cert_fingerprint = in.peer->fingerprint_sha256;
  }
  r.country = std::string(country);
  r.method = std::string(m.methodText());
  r.call_id = std::string(m.callId());
  r.from = m.from() != nullptr ? std::string(m.from()->uri.text) : std::string();
  r.to = m.to() != nullptr ? std::string(m.to()->uri.text) : std::string();
  r.ruri = std::string(m.requestUri().text);
  return r;
}

void B2bua::emit(std::unique_ptr<policy::DecisionRecord>& record) {
  if (record && settings_.decisions != nullptr) {
    settings_.decisions->record(std::move(*record));
  }
  record.reset();
}

std::optional<bool> B2bua::federationSrvMatches(std::string_view domain, const std::string& ip) {
  auto it = federation_srv_.find(std::string(domain));
  if (it == federation_srv_.end() || it->second.query || clock_.now() >= it->second.expires) {
    return std::nullopt;
  }
  const auto& ips = it->second.ips;
  return std::find(ips.begin(), ips.end(), ip) != ips.end();
}

void B2bua::lookUpFederationSrv(ServerTransactionId id, Inbound&& in, const std::string& domain) {
  // Several requests of one new domain wait for one lookup; each is decided again afterwards.
  // How long an answer counts: a minute, whatever the records' TTLs (the resolver caches those),
  // so a partner's re-pointed SRV takes effect soon, and a flood of one domain costs one lookup.
  constexpr std::size_t kMaxWaiting = 64;
  constexpr std::size_t kMaxDomains = 10000;
  if (federation_srv_.size() >= kMaxDomains) {
    const MonoTime now = clock_.now();
    std::erase_if(federation_srv_, [now](const auto& kv) {
      return !kv.second.query && kv.second.waiting.empty() && now >= kv.second.expires;
    });
  }
  FederationSrv& entry = federation_srv_[domain];
  if (entry.waiting.size() >= kMaxWaiting) {
    reject(id, in.message, 503, "Service Unavailable", "Retry-After", "5");
    return;
  }
  entry.waiting.emplace_back(id, std::move(in));
  if (entry.query) {
    return;
  }
  std::weak_ptr<B2bua*> alive = alive_;
  auto done = [alive, domain](dns::ResolveResult result) {
    auto self = alive.lock();
    if (!self) {
      return;
    }
    B2bua& b = **self;
    auto it = b.federation_srv_.find(domain);
    if (it == b.federation_srv_.end()) {
      return;
    }
    FederationSrv& e = it->second;
    e.ips.clear();
    if (result) {
      for (const dns::Target& t : result->targets) {
        e.ips.push_back(t.ip);
      }
    }
    e.expires = b.clock_.now() + std::chrono::seconds(60);
    auto waiting = std::move(e.waiting);
    e.waiting.clear();
    e.query.reset();  // resolver handles may be destroyed inside their callback
    for (auto& [waiting_id, waiting_in] : waiting) {
      b.handleOutOfDialog(waiting_id, std::move(waiting_in));
    }
  };
  auto query = resolver_->resolveFederation(domain, std::move(done));
  // A synchronous answer (cached) already ran `done`; keep the handle only while it is pending.
  auto it = federation_srv_.find(domain);
  if (it != federation_srv_.end() && !it->second.waiting.empty()) {
    it->second.query = std::move(query);
  }
}

B2bua::Admission B2bua::admit(ServerTransactionId id, Inbound& in, bool inbound,
                              std::string_view claimed_domain,
                              std::unique_ptr<policy::DecisionRecord>& record, bool& strip_trust) {
  if (!policy_) {
    return Admission::Admitted;
  }
  const sip::Message& m = in.message;
  const sip::Uri& ruri = m.requestUri();
  const std::string ip = in.source.address.ip();
  std::string country;
  if (inbound && settings_.country) {
    country = settings_.country(ip);
  }
  std::vector<std::string> cert_domains;
  if (in.peer) {
    cert_domains = in.peer->sipDomains();
  }
  const std::string target_host = toLower(ruri.host);
  policy::Context c;
  c.direction = inbound ? policy::Direction::Inbound : policy::Direction::Outbound;
  c.transport = configTransport(in.source.transport);
  const auto& bytes = in.source.address.bytes();
  std::copy(bytes.begin(), bytes.end(), c.source.bytes.begin());
  c.source.ipv6 = in.source.address.isV6();
  c.source_text = ip;
  c.certificate_verified = in.peer && in.peer->verified;
  c.certificate_domains = cert_domains;
  c.method = m.methodText();
  c.claimed_domain = claimed_domain;
  c.target_user = ruri.user;
  c.target_host = target_host;
  c.message_bytes = m.receivedSize();
  c.new_dialog = isDialogCreating(m.method());
  c.country = country;
  c.now = clock_.now();
  policy::Decision d = policy_->decide(c, *settings_.limiter);
  if (inbound && d.rule == "federation.open.srv") {
    // Open federation, a domain no partner lists: its SRV decides (rule 2 comes before the
    // rate limits, so the first decision took no token).
    c.srv_matches = federationSrvMatches(claimed_domain, ip);
    if (c.srv_matches) {
      d = policy_->decide(c, *settings_.limiter);
    } else if (resolver_ != nullptr && !claimed_domain.empty()) {
      lookUpFederationSrv(id, std::move(in), std::string(claimed_domain));
      return Admission::Waiting;
    }
  }
  record = std::make_unique<policy::DecisionRecord>(recordOf(in, d, c.direction, country));
  strip_trust = d.strip_trust_headers;
  if (d.verdict == policy::Verdict::Allow) {
    ++stats_.policy_allowed;
    return Admission::Admitted;
  }
  ++(d.verdict == policy::Verdict::Throttle ? stats_.policy_throttled : stats_.policy_denied);
  if (d.status == 0) {
    ++stats_.policy_dropped;
    (void)layer().discard(id);
  } else if (d.retry_after > 0) {
    reject(id, m, d.status, d.reason, "Retry-After", std::to_string(d.retry_after));
  } else {
    reject(id, m, d.status, d.reason);
  }
  emit(record);
  return Admission::Refused;
}

// ---- new requests -----------------------------------------------------------------------------

void B2bua::handleOutOfDialog(ServerTransactionId id, Inbound&& in) {
  const sip::Message& m = in.message;
  const bool from_external = in.side == Side::External;
  const sip::Uri& ruri = m.requestUri();
  if (!ruri.isSip()) {
    reject(id, m, 416, "Unsupported URI Scheme");
    return;
  }
  const std::string host = toLower(ruri.host);
  const bool served = std::find(settings_.served_domains.begin(), settings_.served_domains.end(),
                                host) != settings_.served_domains.end();
  const bool to_us = served || transport::Address::parseIp(ruri.host, 0).has_value();
  // Every new request from a partner is decided, and every request the inside sends toward a
  // partner. The allow decision is logged once the request is mapped (or answered here).
  struct PendingDecision {
    B2bua& self;
    std::unique_ptr<policy::DecisionRecord> record;
    ~PendingDecision() { self.emit(record); }
  } pending{*this, nullptr};
  bool strip_trust = true;
  const std::string claimed =
      from_external && m.from() != nullptr ? toLower(m.from()->uri.host) : std::string();
  if (from_external) {
    if (admit(id, in, true, claimed, pending.record, strip_trust) != Admission::Admitted) {
      return;
    }
  } else if (m.method() == sip::Method::Register) {
    handleRegister(id, in);  // the inside registers without a policy decision
    return;
  } else if (!to_us) {
    if (admit(id, in, false, host, pending.record, strip_trust) != Admission::Admitted) {
      return;
    }
  }
  if (m.method() == sip::Method::Register) {
    handleRegister(id, in);  // a partner the policy lets register (`register = true`)
    return;
  }
  if (ruri.user.empty() && to_us) {
    if (m.method() == sip::Method::Options) {
      sip::ExtraHeader extra[] = {{"Allow", kAllow}, {"Accept", "application/sdp, text/plain"}};
      auto response = sip::makeResponse(m, 200, {}, mintTag(settings_.worker, random_), extra);
      if (response) {
        (void)layer().respond(id, std::move(*response));
      }
      return;
    }
    reject(id, m, settings_.not_found_status);
    return;
  }
  if (m.maxForwards() && *m.maxForwards() == 0) {
    reject(id, m, 483, "Too Many Hops");
    return;
  }
  if (m.method() == sip::Method::Prack || m.method() == sip::Method::Bye ||
      m.method() == sip::Method::Update || m.method() == sip::Method::Notify) {
    reject(id, m, 481, "Call/Transaction Does Not Exist");
    return;
  }
  // Redirect mode (issue 6): the answer is a 3xx with the user's targets. From the inside it is
  // logged as a decision of its own (partners' requests have their admission record).
  const bool redirect = served && m.method() != sip::Method::Ack &&
                        modeFor(host, from_external, claimed) == config::RoutingMode::Redirect;
  if (redirect && !from_external && settings_.decisions != nullptr) {
    policy::Decision d;
    d.verdict = policy::Verdict::Redirect;
    d.rule = "routing.redirect";
    pending.record =
        std::make_unique<policy::DecisionRecord>(recordOf(in, d, policy::Direction::Inbound, {}));
  }
  const Destination back = backTo(in);
  auto relay = std::make_unique<Relay>(std::move(in.message));
  relay->key = nextKey();
  relay->server = id;
  relay->from_external = from_external;
  relay->server_tag = mintTag(settings_.worker, random_);
  relay->creates_dialog = isDialogCreating(relay->request.method());
  relay->back = back;
  relay->decision = std::move(pending.record);
  relay->strip_trust = strip_trust;
  relay->redirect = redirect;
  if (from_external) {
    ++stats_.inbound_requests;
    if (!served) {
      reject(id, relay->request, 403, "Domain Not Served");
      return;
    }
    inbound(id, std::move(relay));
  } else {
    ++stats_.outbound_requests;
    if (served) {
      if (redirect) {
        inbound(id, std::move(relay));  // mapped like a partner's request, then redirected
        return;
      }
      reject(id, relay->request, settings_.not_found_status);
      return;
    }
    relay->partner_domain = host;
    outbound(id, std::move(relay));
  }
}

void B2bua::inbound(ServerTransactionId id, std::unique_ptr<Relay> relay) {
  auto aor = aorOf(relay->request.requestUri());
  if (!aor) {
    reject(id, relay->request, settings_.not_found_status);
    return;
  }
  lookupAndRelay(id, std::move(relay), identity::Direction::ToInternal, *aor);
}

void B2bua::outbound(ServerTransactionId id, std::unique_ptr<Relay> relay) {
  const sip::NameAddr* from = relay->request.from();
  auto aor = from != nullptr ? aorOf(from->uri) : std::nullopt;
  if (!aor) {
    reject(id, relay->request, 403, "Unknown Caller");
    return;
  }
  lookupAndRelay(id, std::move(relay), identity::Direction::ToExternal, *aor);
}

void B2bua::lookupAndRelay(ServerTransactionId id, std::unique_ptr<Relay> relay,
                           identity::Direction direction, const identity::Aor& aor) {
  const std::uint64_t key = relay->key;
  by_server_[id.value] = key;
  relays_[key] = std::move(relay);
  std::weak_ptr<B2bua*> alive = alive_;
  auto answer = directory_.lookup(direction, aor, [alive, key](identity::Answer a) {
    if (auto self = alive.lock()) {
      (*self)->mapped(key, std::move(a));
    }
  });
  if (answer) {
    mapped(key, std::move(*answer));
  }
}

void B2bua::answer(Relay& relay, int status, std::string_view reason,
                   std::vector<std::pair<std::string, std::string>> extra) {
  if (relay.answered) {
    return;
  }
  relay.answered = true;
  if (status >= 300) {
    ++stats_.rejected;
  }
  std::vector<sip::ExtraHeader> headers;
  for (const auto& [n, v] : extra) {
    headers.emplace_back(n, v);
  }
  auto response = sip::makeResponse(relay.request, status, reason, relay.server_tag, headers);
  if (response) {
    (void)layer().respond(relay.server, std::move(*response));
  }
}

void B2bua::mapped(std::uint64_t relay_key, identity::Answer a) {
  auto it = relays_.find(relay_key);
  if (it == relays_.end()) {
    return;  // cancelled meanwhile
  }
  Relay& relay = *it->second;
  if (relay.redirect) {
    if (a.status == identity::Status::Found) {
      redirect(relay, a);
      return;
    }
    if (!relay.from_external) {
      relay.decision.reset();  // no redirect happened: the 404 or 503 is not a decision
    }
  }
  if (relay.decision) {
    if (a.status == identity::Status::Found) {
      relay.decision->mapped = a.identity.str();
    }
    emit(relay.decision);
  }
  auto finish = [&] { dropRelay(relay, false); };
  if (a.status == identity::Status::Unavailable) {
    ++stats_.directory_unavailable;
    answer(relay, 503, {}, {{"Retry-After", std::to_string(settings_.unavailable_retry_after)}});
    finish();
    return;
  }
  if (a.status == identity::Status::NotFound) {
    answer(relay, settings_.not_found_status);
    finish();
    return;
  }
  const sip::Message& m = relay.request;
  Relay::Outgoing& out = relay.out;
  out.method = std::string(m.methodText());
  out.max_forwards = m.maxForwards() ? *m.maxForwards() - 1 : 70;
  out.call_id = mintCallId(settings_.worker, random_);
  out.cseq = 1;
  out.contact = isDialogCreating(m.method()) || isTargetRefresh(m.method());
  out.headers = passedHeaders(
      m, rulesToward(!relay.from_external),
      relay.from_external ? (relay.strip_trust ? Trust::Strip : Trust::Keep) : Trust::Rules);
  out.body = std::string(m.body());
  const std::string from_tag = mintTag(settings_.worker, random_);
  std::string local_party;
  std::string remote_party;
  if (relay.from_external) {
    // Inbound: the target from the directory; the caller (a partner's user) stays as it is.
    const std::string& target = a.targets.front().uri;
    out.ruri = target;
    local_party = partyOf(*m.from());
    remote_party = partyWithUri(*m.to(), "sip:" + a.identity.str());
  } else {
    // Outbound: the caller's external identity; the callee (the partner's user) as addressed.
    out.ruri = std::string(m.requestUri().text);
    local_party = partyWithUri(*m.from(), "sip:" + a.identity.str());
    remote_party = partyOf(*m.to());
    if (m.find(sip::HeaderId::PAssertedIdentity) != nullptr) {
      sip::appendHeader(out.headers, "P-Asserted-Identity", "<sip:" + a.identity.str() + ">");
    }
  }
  out.from = tagged(local_party, from_tag);
  out.to = remote_party;

  if (relay.creates_dialog) {
    auto d = std::make_unique<Dialog>();
    d->id = nextKey();
    d->kind = m.method() == sip::Method::Invite ? Dialog::Kind::Invite : Dialog::Kind::Subscription;
    d->initial_relay = relay_key;
    d->partner_domain = relay.from_external
                            ? (m.from() != nullptr ? toLower(m.from()->uri.host) : std::string())
                            : relay.partner_domain;
    d->strip_trust = relay.strip_trust;
    Leg& server_leg = d->leg(relay.from_external);
    Leg& client_leg = d->leg(!relay.from_external);
    server_leg.external = relay.from_external;
    server_leg.call_id = std::string(m.callId());
    server_leg.local_tag = relay.server_tag;
    server_leg.remote_tag = std::string(m.from()->tag);
    server_leg.local_party = partyOf(*m.to());
    server_leg.remote_party = partyOf(*m.from());
    server_leg.remote_cseq = m.cseq() ? m.cseq()->number : 0;
    server_leg.invite_cseq = m.method() == sip::Method::Invite ? server_leg.remote_cseq : 0;
    server_leg.remote_target = contactUri(m).value_or(std::string(m.from()->uri.text));
    server_leg.route_set = routeSet(m, false);
    server_leg.destination = relay.back;
    client_leg.external = !relay.from_external;
    client_leg.call_id = out.call_id;
    client_leg.local_tag = from_tag;
    client_leg.local_party = local_party;
    client_leg.remote_party = remote_party;
    client_leg.local_cseq = out.cseq;
    client_leg.invite_cseq = m.method() == sip::Method::Invite ? out.cseq : 0;
    relay.dialog = d->id;
    dialog_index_[server_leg.local_tag] = d->id;
    dialog_index_[client_leg.local_tag] = d->id;
    const std::uint64_t did = d->id;
    d->created = clock_.now();
    d->last_request = d->created;
    dialogs_[did] = std::move(d);
    ++stats_.dialogs_created;
  }
  if (relay.from_external && settings_.routing.use_location) {
    // Registered users are reached at their contacts (forking), before the next hops.
    if (auto bindings = bindingsFor(relay, a); !bindings.empty()) {
      addBranches(relay, bindings);
    }
  }
  sendFirst(relay);
}

void B2bua::sendFirst(Relay& relay) {
  if (!relay.branches.empty()) {
    startBranches(relay);
    return;
  }
  if (relay.from_external) {
    for (std::size_t i : next_hops_.candidates(random_)) {
      relay.targets.push_back(next_hops_.hop(i).destination);
      relay.hops.push_back(i);
    }
    if (relay.targets.empty()) {
      answer(relay, 503, {}, {{"Retry-After", std::to_string(settings_.unavailable_retry_after)}});
      dropRelay(relay, true);
      return;
    }
    relay.attempt = 0;
    tryNextTarget(relay);
    return;
  }
  for (const PartnerRoute& route : settings_.partner_routes) {
    if (route.domain == relay.partner_domain) {
      Destination d;
      d.endpoint = route.endpoint;
      d.side = Side::External;
      if (route.endpoint.transport == transport::Transport::Tls) {
        d.tls_server_name = relay.partner_domain;
      }
      relay.targets.push_back(d);
      relay.attempt = 0;
      tryNextTarget(relay);
      return;
    }
  }
  resolvePartner(relay, relay.partner_domain);
}

void B2bua::resolvePartner(Relay& relay, const std::string& domain) {
  if (resolver_ == nullptr) {
    answer(relay, 404, "Unknown Domain");
    dropRelay(relay, true);
    return;
  }
  dns::Query q;
  q.host = domain;
  q.sips = relay.request.requestUri().scheme == sip::UriScheme::Sips;
  if (relay.request.requestUri().port) {
    q.port = *relay.request.requestUri().port;
  }
  if (settings_.tls_to_partners) {
    q.transport = dns::Transport::Tls;
  }
  std::weak_ptr<B2bua*> alive = alive_;
  const std::uint64_t key = relay.key;
  relay.dns = resolver_->resolve(q, [alive, key, domain](dns::ResolveResult result) {
    auto self = alive.lock();
    if (!self) {
      return;
    }
    B2bua& b = **self;
    auto it = b.relays_.find(key);
    if (it == b.relays_.end()) {
      return;
    }
    Relay& r = *it->second;
    r.dns.reset();
    if (!result || result->targets.empty()) {
      b.answer(r, result ? 404 : 503, result ? "Unknown Domain" : "");
      b.dropRelay(r, true);
      return;
    }
    for (const dns::Target& t : result->targets) {
      auto ip = transport::Address::parseIp(t.ip, t.port);
      if (!ip) {
        continue;
      }
      Destination d;
      d.endpoint.address = *ip;
      d.endpoint.transport = t.transport == dns::Transport::Tls   ? transport::Transport::Tls
                             : t.transport == dns::Transport::Tcp ? transport::Transport::Tcp
                                                                  : transport::Transport::Udp;
      d.side = Side::External;
      if (d.endpoint.transport == transport::Transport::Tls) {
        d.tls_server_name = domain;
      }
      r.targets.push_back(d);
    }
    r.attempt = 0;
    b.tryNextTarget(r);
  });
}

std::optional<B2bua::Sent> B2bua::sendRequest(Relay& relay, const Destination& dest,
                                              std::string_view ruri,
                                              const std::vector<std::string>& routes) {
  auto via = sender_.viaFor(dest);
  if (!via) {
    return std::nullopt;
  }
  const Relay::Outgoing& out = relay.out;
  RequestHead head = newHead(*via);
  head.method = out.method;
  head.ruri = ruri;
  head.max_forwards = out.max_forwards;
  head.routes = &routes;
  head.from = out.from;
  head.to = out.to;
  head.call_id = out.call_id;
  head.cseq = out.cseq;
  std::string text;
  text.reserve(512 + out.headers.size() + out.body.size());
  appendRequestHead(text, head);
  Sent sent;
  if (out.contact) {
    sent.contact = contactFor(*via);
    sip::appendHeader(text, "Contact", sent.contact);
  }
  text += out.headers;
  appendContentLength(text, out.body.size());
  text += out.body;
  txn::RequestOptions options;
  options.proxy_timer_c = out.method == "INVITE";
  auto id = layer().requestText(std::move(text), takeParts(head), head.branch, dest, options);
  if (!id) {
    return std::nullopt;
  }
  sent.id = *id;
  by_client_[id->value] = relay.key;
  return sent;
}

void B2bua::setServerContact(Relay& relay) {
  if (relay.dialog == 0) {
    return;
  }
  auto dit = dialogs_.find(relay.dialog);
  if (dit == dialogs_.end()) {
    return;
  }
  Leg& server_leg = dit->second->leg(relay.from_external);
  if (server_leg.contact.empty()) {
    // sipedge's Contact toward the side that sent the request: the address it came to.
    if (auto back_via = sender_.viaFor(server_leg.destination)) {
      server_leg.contact = contactFor(*back_via);
    }
  }
}

void B2bua::tryNextTarget(Relay& relay) {
  while (relay.attempt < relay.targets.size() && !relay.answered) {
    const Destination& dest = relay.targets[relay.attempt];
    auto sent = sendRequest(relay, dest, relay.out.ruri, relay.out.routes);
    if (!sent) {
      ++relay.attempt;
      continue;
    }
    relay.client = sent->id;
    if (!relay.hops.empty() && relay.attempt + 1 < relay.targets.size()) {
      if (!relay.attempt_timer) {
        const std::uint64_t key = relay.key;
        relay.attempt_timer = timers_.createTimer([this, key] { onAttemptTimeout(key); });
      }
      relay.attempt_timer->enable(settings_.response_timeout);
    } else if (relay.attempt_timer) {
      relay.attempt_timer->disable();
    }
    if (relay.dialog != 0 && relay.creates_dialog) {
      auto dit = dialogs_.find(relay.dialog);
      if (dit != dialogs_.end() && !dit->second->confirmed) {
        Leg& leg = dit->second->leg(!relay.from_external);
        leg.destination = dest;
        leg.contact = sent->contact;
      }
    }
    setServerContact(relay);
    return;
  }
  // No target could be tried.
  if (!relay.answered) {
    answer(relay, 503, {}, {{"Retry-After", std::to_string(settings_.unavailable_retry_after)}});
  }
  dropRelay(relay, relay.creates_dialog);
}

void B2bua::dropRelay(Relay& relay, bool end_dialog) {
  emit(relay.decision);  // ended before the directory answered (CANCEL)
  if (end_dialog && relay.dialog != 0) {
    endDialog(relay.dialog);
  }
  by_server_.erase(relay.server.value);
  relays_.erase(relay.key);  // `relay` is gone from here on
}

void B2bua::onAttemptTimeout(std::uint64_t relay_key) {
  auto it = relays_.find(relay_key);
  if (it == relays_.end()) {
    return;
  }
  Relay& relay = *it->second;
  if (relay.got_provisional || relay.answered || relay.cancelled || !relay.client) {
    return;
  }
  // The target said nothing at all: leave its transaction to time out unheard, try the next.
  next_hops_.reportFailure(relay.hops[relay.attempt]);
  by_client_.erase(relay.client->value);
  relay.client.reset();
  ++relay.attempt;
  ++stats_.failovers;
  tryNextTarget(relay);
}

// ---- in-dialog requests -----------------------------------------------------------------------

B2bua::Dialog* B2bua::findDialog(std::string_view call_id, std::string_view local_tag) {
  auto it = dialog_index_.find(local_tag);
  if (it == dialog_index_.end()) {
    return nullptr;
  }
  auto d = dialogs_.find(it->second);
  if (d == dialogs_.end()) {
    return nullptr;
  }
  Dialog& dialog = *d->second;
  // The internal leg's tag goes with its Call-ID; every other tag (the external leg's, a fork's)
  // with the external leg's.
  const Leg& leg = local_tag == dialog.in.local_tag ? dialog.in : dialog.ext;
  return leg.call_id == call_id ? &dialog : nullptr;
}

void B2bua::handleInDialog(ServerTransactionId id, Inbound&& in, Dialog& dialog,
                           bool from_external) {
  const sip::Message& m = in.message;
  // No partner may act in another partner's dialog: over TLS the certificate must cover the
  // domain of the partner the dialog was set up with (issue 5, "no spoofing one partner through
  // another's connection"). A refusal is a policy decision like any other.
  if (from_external && policy_ && in.peer && !dialog.partner_domain.empty() &&
      !in.peer->covers(dialog.partner_domain)) {
    policy::Decision d;
    d.verdict = policy::Verdict::Deny;
    d.status = 403;
    d.reason = "Forbidden";
    d.rule = "dialog.identity";
    if (const config::Partner* p = policy_->partnerFor(dialog.partner_domain)) {
      d.partner = p->name;
    }
    ++stats_.policy_denied;
    reject(id, m, d.status, d.reason);
    auto record =
        std::make_unique<policy::DecisionRecord>(recordOf(in, d, policy::Direction::Inbound, {}));
    emit(record);
    return;
  }
  dialog.last_request = clock_.now();
  Leg& leg = dialog.leg(from_external);
  const std::uint32_t cseq = m.cseq() ? m.cseq()->number : 0;
  if (leg.remote_cseq != 0 && cseq < leg.remote_cseq) {
    reject(id, m, 500, "CSeq Out of Order");
    return;
  }
  if (dialog.terminating && m.method() != sip::Method::Bye) {
    reject(id, m, 481, "Call/Transaction Does Not Exist");
    return;
  }
  leg.remote_cseq = cseq;
  if (leg.remote_tag.empty() && m.from() != nullptr) {
    leg.remote_tag = std::string(m.from()->tag);  // e.g. a NOTIFY before the SUBSCRIBE's 2xx
  }
  if (isTargetRefresh(m.method())) {
    if (auto target = contactUri(m)) {
      leg.remote_target = *target;
    }
  }
  if (m.method() == sip::Method::Invite) {
    leg.invite_cseq = cseq;
  }
  if (m.method() == sip::Method::Refer) {
    auto refer_to = m.referTo();
    std::optional<identity::Aor> aor;
    if (refer_to && *refer_to) {
      aor = aorOf((*refer_to)->uri);
    }
    if (!aor) {
      reject(id, m, 400, "Bad Refer-To");
      return;
    }
    const auto direction =
        from_external ? identity::Direction::ToInternal : identity::Direction::ToExternal;
    // Keep what the continuation needs: the request is moved into it.
    auto shared = std::make_shared<Inbound>(std::move(in));
    std::weak_ptr<B2bua*> alive = alive_;
    const std::uint64_t did = dialog.id;
    auto then = [alive, id, shared, did, from_external](identity::Answer a) {
      auto self = alive.lock();
      if (!self) {
        return;
      }
      B2bua& b = **self;
      auto dit = b.dialogs_.find(did);
      if (dit == b.dialogs_.end()) {
        b.reject(id, shared->message, 481, "Call/Transaction Does Not Exist");
        return;
      }
      if (a.status == identity::Status::Unavailable) {
        ++b.stats_.directory_unavailable;
        b.reject(id, shared->message, 503, {}, "Retry-After",
                 std::to_string(b.settings_.unavailable_retry_after));
        return;
      }
      if (a.status != identity::Status::Found) {
        b.reject(id, shared->message, b.settings_.not_found_status);
        return;
      }
      std::string uri = from_external ? a.targets.front().uri : "sip:" + a.identity.str();
      b.relayInDialog(id, std::move(*shared), *dit->second, from_external, "<" + uri + ">");
    };
    auto answer = directory_.lookup(direction, *aor, then);
    if (answer) {
      then(std::move(*answer));
    }
    return;
  }
  relayInDialog(id, std::move(in), dialog, from_external, std::nullopt);
}

void B2bua::relayInDialog(ServerTransactionId id, Inbound&& in, Dialog& dialog, bool from_external,
                          std::optional<std::string> refer_to) {
  const sip::Message& m = in.message;
  Leg& other = dialog.leg(!from_external);
  if (other.remote_tag.empty() && m.method() != sip::Method::Bye) {
    // The other leg has no dialog yet (no provisional with a tag arrived): nothing to send on.
    reject(id, m, 491, "Request Pending");
    return;
  }
  if (m.method() == sip::Method::Bye) {
    dialog.terminating = true;
    if (other.remote_tag.empty()) {
      // The other leg is still being set up: end it by CANCEL, answer the BYE here.
      reject(id, m, 200, "OK");
      hangUp(dialog);
      return;
    }
  }
  auto relay = std::make_unique<Relay>(std::move(in.message));
  const sip::Message& request = relay->request;
  relay->key = nextKey();
  relay->server = id;
  relay->from_external = from_external;
  relay->dialog = dialog.id;
  relay->server_tag = dialog.leg(from_external).local_tag;
  Relay::Outgoing& out = relay->out;
  out.method = std::string(request.methodText());
  out.ruri = other.remote_target;
  out.max_forwards =
      request.maxForwards() ? std::max<std::uint32_t>(*request.maxForwards(), 1) - 1 : 70;
  out.from = tagged(other.local_party, other.local_tag);
  out.to = tagged(other.remote_party, other.remote_tag);
  out.call_id = other.call_id;
  out.cseq = ++other.local_cseq;
  if (request.method() == sip::Method::Invite) {
    other.invite_cseq = out.cseq;
  }
  out.contact = isTargetRefresh(request.method());
  out.routes = other.route_set;
  out.headers = passedHeaders(
      request, rulesToward(!from_external),
      from_external ? (dialog.strip_trust ? Trust::Strip : Trust::Keep) : Trust::Rules);
  if (request.method() == sip::Method::Prack) {
    if (const sip::Header* rack = request.find(sip::HeaderId::RAck)) {
      // RAck: response-num CSeq-num Method (RFC 3262 7.2): the CSeq is the other leg's INVITE.
      // response-num LWS CSeq-num LWS Method
      const std::string_view v = trimWs(rack->value);
      const std::size_t a = v.find_first_of(" \t");
      const std::size_t b = a == std::string_view::npos ? a : v.find_last_of(" \t");
      if (a != std::string_view::npos && b > a) {
        sip::appendHeader(
            out.headers, "RAck",
            fmt::format("{} {} {}", v.substr(0, a), other.invite_cseq, v.substr(b + 1)));
      }
    }
  }
  if (refer_to) {
    sip::appendHeader(out.headers, "Refer-To", *refer_to);
    // Referred-By names the referrer (RFC 3892): on the other leg that is the identity sipedge
    // presents there for it, already mapped.
    if (request.find(sip::HeaderId::ReferredBy) != nullptr) {
      sip::appendHeader(out.headers, "Referred-By", other.local_party);
    }
  }
  out.body = std::string(request.body());
  relay->targets.push_back(other.destination);
  const std::uint64_t key = relay->key;
  by_server_[id.value] = key;
  Relay& r = *relay;
  relays_[key] = std::move(relay);
  tryNextTarget(r);
}

// ---- responses --------------------------------------------------------------------------------

void B2bua::onResponse(ClientTransactionId id, txn::ClientResponse&& response) {
  if (auto probe = probes_.find(id.value); probe != probes_.end()) {
    if (response.message().statusCode() >= 200) {
      const std::uint64_t dialog = probe->second;
      probes_.erase(probe);
      onProbeResponse(dialog, response);
    }
    return;
  }
  if (auto ping = pings_.find(id.value); ping != pings_.end()) {
    const int status = response.message().statusCode();
    if (status < 200) {
      return;
    }
    const bool ok = response.origin == txn::ResponseOrigin::Peer && status != 503;
    if (ok) {
      next_hops_.reportSuccess(ping->second);
    } else {
      next_hops_.reportFailure(ping->second);
    }
    pings_.erase(ping);
    return;
  }
  auto it = by_client_.find(id.value);
  if (it == by_client_.end()) {
    onStrayResponse(std::move(response.inbound));
    return;
  }
  auto rit = relays_.find(it->second);
  if (rit == relays_.end()) {
    by_client_.erase(it);
    return;
  }
  Relay& relay = *rit->second;
  if (!relay.branches.empty()) {
    for (std::size_t i = 0; i < relay.branches.size(); ++i) {
      if (relay.branches[i].client && relay.branches[i].client->value == id.value) {
        onBranchResponse(relay, i, std::move(response));
        return;
      }
    }
    by_client_.erase(it);
    return;
  }
  const sip::Message& m = response.message();
  const int status = m.statusCode();
  if (relay.attempt_timer && response.origin == txn::ResponseOrigin::Peer) {
    relay.attempt_timer->disable();  // the target is alive
  }
  if (status == 100) {
    return;
  }
  const bool failed = response.origin != txn::ResponseOrigin::Peer || status == 503;
  if (!relay.hops.empty() && status >= 200) {
    const std::size_t hop = relay.hops[relay.attempt];
    if (failed) {
      next_hops_.reportFailure(hop);
    } else {
      next_hops_.reportSuccess(hop);
    }
  }
  if (status >= 200 && failed && !relay.got_provisional && !relay.cancelled &&
      relay.attempt + 1 < relay.targets.size()) {
    // Failover: the next target, as a new client transaction (RFC 3263 4.3).
    by_client_.erase(it);
    ++relay.attempt;
    ++stats_.failovers;
    tryNextTarget(relay);
    return;
  }
  if (status < 200) {
    relay.got_provisional = true;
  } else {
    by_client_.erase(it);
  }
  relayResponse(relay, std::move(response));
}

void B2bua::relayResponse(Relay& relay, txn::ClientResponse&& response) {
  const sip::Message& m = response.message();
  int status = m.statusCode();
  Dialog* dialog = nullptr;
  if (relay.dialog != 0) {
    auto dit = dialogs_.find(relay.dialog);
    dialog = dit == dialogs_.end() ? nullptr : dit->second.get();
  }
  const bool to_external = relay.from_external;
  const sip::Method method = relay.request.method();
  const bool initial = dialog != nullptr && relay.creates_dialog;

  if (relay.cancelled || relay.answered) {
    // The server side was answered already (CANCEL, a failed server transaction): a late 2xx to
    // the dialog's INVITE is acknowledged and hung up; a late failure just ends the dialog.
    if (status >= 200 && initial) {
      dialog->initial_relay = 0;
      if (status < 300 && method == sip::Method::Invite) {
        Leg& leg = dialog->leg(!relay.from_external);
        if (m.to() != nullptr) {
          leg.remote_tag = std::string(m.to()->tag);
        }
        if (auto target = contactUri(m)) {
          leg.remote_target = *target;
        }
        leg.route_set = routeSet(m, true);
        dialog->confirmed = true;
        ackOtherLeg(*dialog, !relay.from_external, m);
        hangUp(*dialog);
      } else {
        endDialog(dialog->id);
      }
    }
    if (status >= 200) {
      by_server_.erase(relay.server.value);
      relays_.erase(relay.key);
    }
    return;
  }

  // The leg the response came on learns the peer's tag, target and route set.
  if (initial && status > 100 && status < 300 && m.to() != nullptr && !m.to()->tag.empty()) {
    Leg& leg = dialog->leg(!relay.from_external);
    if (leg.remote_tag != m.to()->tag) {
      leg.remote_tag = std::string(m.to()->tag);
      leg.route_set = routeSet(m, true);
    }
    if (auto target = contactUri(m)) {
      leg.remote_target = *target;
    }
  } else if (dialog != nullptr && status >= 200 && status < 300 && isTargetRefresh(method)) {
    if (auto target = contactUri(m)) {
      dialog->leg(!relay.from_external).remote_target = *target;
    }
  }

  // What the other side gets.
  std::string_view reason = m.reasonPhrase();
  if (status >= 300 && status < 400) {
    status = 480;  // contacts of the other side never cross
    reason = {};
  }
  if (to_external) {
    reason = {};  // the default phrase: no internal detail
  }
  // Views into `m`, the dialog and the request, which all outlive the response text.
  std::vector<sip::ExtraHeader> headers;
  headers.reserve(m.headers().size() + 2);
  for (const sip::Header& h : m.headers()) {
    if (h.name.empty() || h.id == sip::HeaderId::ContentLength ||
        h.id == sip::HeaderId::ContentType) {
      continue;
    }
    if (rulesToward(relay.from_external).passes(h)) {
      headers.emplace_back(h.name, h.value);
    }
  }
  if (dialog != nullptr && status > 100 && status < 300 && (initial || isTargetRefresh(method))) {
    const std::string& contact = dialog->leg(relay.from_external).contact;
    if (!contact.empty()) {
      headers.emplace_back("Contact", contact);
    }
  }
  if (initial && status > 100 && status < 300) {
    // RFC 3261 12.1.1: a response that sets up a dialog carries the request's Record-Route back
    // (the requester's own side's proxies: nothing crosses legs).
    for (const sip::NameAddr& rr : relay.request.recordRoutes()) {
      headers.emplace_back("Record-Route", rr.text);
    }
  }
  std::string_view content_type;
  if (const sip::Header* ct = m.find(sip::HeaderId::ContentType)) {
    content_type = ct->value;
  }
  // Built from parsed values only, so it is sent as built, not parsed again (respondText).
  std::string text =
      sip::responseText(relay.request, status, reason, relay.server_tag, headers,
                        m.body().empty() ? std::string_view{} : m.body(), content_type);
  // Its To-tag: the request's own (in a dialog), else the one responseText added.
  const std::string_view request_tag =
      relay.request.to() != nullptr ? relay.request.to()->tag : std::string_view();
  const std::string_view to_tag = !request_tag.empty() ? request_tag
                                  : status > 100       ? std::string_view(relay.server_tag)
                                                       : std::string_view();
  if (status >= 200 && status < 300 && dialog != nullptr && dialog->kind == Dialog::Kind::Invite &&
      (method == sip::Method::Invite || method == sip::Method::Update)) {
    armSessionTimer(*dialog, m);
  }
  if (status >= 200 && status < 300 && method == sip::Method::Invite && dialog != nullptr) {
    // sipedge retransmits this 2xx until the ACK, and sends the ACK on the other leg then.
    dialog->confirmed = true;
    dialog->last_request = clock_.now();  // the idle time counts from the answer
    auto p = std::make_unique<Dialog::Pending2xx>();
    p->response = text;
    p->status = status;
    p->to_tag = std::string(to_tag);
    p->server = relay.server;
    p->to_external = relay.from_external;
    p->cseq = relay.request.cseq() ? relay.request.cseq()->number : 0;
    p->interval = layer().settings().timers.t1;
    dialog->pending_2xx = std::move(p);
    const std::uint64_t did = dialog->id;
    if (!dialog->retransmit_timer) {
      dialog->retransmit_timer = timers_.createTimer([this, did] { retransmit2xx(did); });
    }
    dialog->retransmit_timer->enable(dialog->pending_2xx->interval);
  }
  (void)layer().respondText(relay.server, status, std::move(text), to_tag);
  if (status < 200) {
    return;
  }
  relay.answered = true;

  // After the final response: the dialog's fate.
  const std::uint64_t key = relay.key;
  const std::uint64_t server = relay.server.value;
  if (dialog != nullptr) {
    const std::uint64_t did = dialog->id;
    if (initial) {
      dialog->initial_relay = 0;
      if (status >= 300) {
        endDialog(did);
      } else {
        dialog->confirmed = true;
        if (dialog->kind == Dialog::Kind::Subscription) {
          std::uint32_t expires = 3600;
          if (auto e = m.expires(); e && *e) {
            expires = **e;
          }
          dialog->expiry = timers_.createTimer([this, did] { endDialog(did); });
          dialog->expiry->enable(Duration{(expires + 32) * 1000LL});
        }
      }
    } else if (method == sip::Method::Bye || status == 481) {
      if (status == 481) {
        hangUp(*dialog);
      }
      endDialog(did);
    } else if (method == sip::Method::Subscribe && status < 300 &&
               dialog->kind == Dialog::Kind::Subscription) {
      std::uint32_t expires = 3600;
      if (auto e = m.expires(); e && *e) {
        expires = **e;
      }
      if (!dialog->expiry) {
        dialog->expiry = timers_.createTimer([this, did] { endDialog(did); });
      }
      dialog->expiry->enable(Duration{(expires + 32) * 1000LL});
    } else if (method == sip::Method::Notify && dialog->kind == Dialog::Kind::Subscription) {
      if (const sip::Header* state = relay.request.find("Subscription-State");
          state != nullptr && toLower(state->value).starts_with("terminated")) {
        endDialog(did);
      }
    }
  }
  by_server_.erase(server);
  if (branchesPending(relay)) {
    return;  // forking: the other branches' ends (a late 2xx to hang up) still come here
  }
  relays_.erase(key);
}

void B2bua::armSessionTimer(Dialog& dialog, const sip::Message& response) {
  // Session-Expires: delta-seconds *(;param) (RFC 4028 4). The refresher refreshes before it
  // runs out; when nobody did, the session is over on both legs.
  const sip::Header* se = response.find("Session-Expires");
  if (se == nullptr) {
    se = response.find("x");
  }
  std::optional<std::uint64_t> seconds;
  if (se != nullptr) {
    const std::string_view v = trimWs(se->value);
    seconds = parseDecimal(trimWs(v.substr(0, v.find(';'))), 7 * 24 * 3600);
  }
  if (!seconds || *seconds == 0) {
    if (dialog.session) {
      dialog.session->disable();
    }
    return;
  }
  if (!dialog.session) {
    const std::uint64_t did = dialog.id;
    dialog.session = timers_.createTimer([this, did] {
      auto it = dialogs_.find(did);
      if (it != dialogs_.end()) {
        ++stats_.session_expired;
        hangUp(*it->second);
      }
    });
  }
  dialog.session->enable(Duration{static_cast<std::int64_t>(*seconds) * 1000});
}

void B2bua::retransmit2xx(std::uint64_t dialog_id) {
  auto it = dialogs_.find(dialog_id);
  if (it == dialogs_.end() || !it->second->pending_2xx) {
    return;
  }
  Dialog& d = *it->second;
  Dialog::Pending2xx& p = *d.pending_2xx;
  const auto& timers = layer().settings().timers;
  p.elapsed += p.interval;
  if (p.elapsed >= timers.timerB()) {
    // No ACK within 64*T1 (RFC 3261 13.3.1.4): the dialog is over on both legs.
    d.pending_2xx.reset();
    hangUp(d);
    return;
  }
  (void)layer().respondText(p.server, p.status, p.response, p.to_tag);
  p.interval = std::min(p.interval * 2, timers.t2);
  d.retransmit_timer->enable(p.interval);
}

void B2bua::onAck(Inbound&& ack) {
  const sip::Message& m = ack.message;
  if (m.to() == nullptr || m.to()->tag.empty()) {
    return;
  }
  Dialog* dialog = findDialog(m.callId(), m.to()->tag);
  if (dialog == nullptr) {
    return;
  }
  const bool from_external = dialog->ext.call_id == m.callId();
  if (!dialog->pending_2xx || dialog->pending_2xx->to_external != from_external) {
    return;  // a retransmitted ACK, or one for a 2xx sipedge no longer waits on
  }
  dialog->pending_2xx.reset();
  dialog->retransmit_timer.reset();  // (not its own callback: this is the ACK's dispatch)
  if (dialog->terminating) {
    return;
  }
  ackOtherLeg(*dialog, !from_external, m);
}

std::optional<ClientTransactionId> B2bua::sendOnLeg(Leg& leg, std::string_view method) {
  if (leg.remote_tag.empty()) {
    return std::nullopt;  // no dialog on that leg yet
  }
  return sendInDialog(leg, method, ++leg.local_cseq);
}

std::optional<ClientTransactionId> B2bua::sendInDialog(const Leg& leg, std::string_view method,
                                                       std::uint32_t cseq) {
  auto head = legHead(leg, method, cseq);
  if (!head) {
    return std::nullopt;
  }
  std::string text = headText(*head);
  appendContentLength(text, 0);
  auto id = layer().requestText(std::move(text), takeParts(*head), head->branch, leg.destination);
  if (!id) {
    return std::nullopt;
  }
  return *id;
}

RequestHead B2bua::newHead(const transport::ViaAddress& via) {
  RequestHead head;
  head.branch = txn::makeBranch(settings_.worker, random_);
  head.via = viaParm(via, head.branch);
  return head;
}

std::optional<RequestHead> B2bua::legHead(const Leg& leg, std::string_view method,
                                          std::uint32_t cseq) {
  auto via = sender_.viaFor(leg.destination);
  if (!via) {
    return std::nullopt;
  }
  RequestHead head = newHead(*via);
  head.method = method;
  head.ruri = leg.remote_target;
  head.routes = &leg.route_set;
  head.from = tagged(leg.local_party, leg.local_tag);
  head.to = tagged(leg.remote_party, leg.remote_tag);
  head.call_id = leg.call_id;
  head.cseq = cseq;
  return head;
}

std::optional<std::string> B2bua::requestHead(const Leg& leg, std::string_view method,
                                              std::uint32_t cseq) {
  auto head = legHead(leg, method, cseq);
  if (!head) {
    return std::nullopt;
  }
  return headText(*head);
}

void B2bua::ackOtherLeg(Dialog& dialog, bool to_external, const sip::Message& ack) {
  Leg& leg = dialog.leg(to_external);
  auto head = requestHead(leg, "ACK", leg.invite_cseq);
  if (!head) {
    return;
  }
  std::string& text = *head;
  std::string_view body;
  if (ack.isRequest() && !ack.body().empty()) {
    body = ack.body();
    if (const sip::Header* ct = ack.find(sip::HeaderId::ContentType)) {
      sip::appendHeader(text, "Content-Type", ct->value);
    }
  }
  appendContentLength(text, body.size());
  text += body;
  if (body.empty()) {
    dialog.last_ack.clear();
    dialog.last_ack.shrink_to_fit();
  } else {
    dialog.last_ack = text;
  }
  dialog.last_ack_cseq = leg.invite_cseq;
  dialog.last_ack_external = to_external;
  (void)layer().sendAckText(std::move(text), leg.destination);  // built from parsed values
}

void B2bua::onStrayResponse(Inbound&& response) {
  const sip::Message& m = response.message;
  if (m.statusCode() < 200 || m.statusCode() >= 300 || !m.cseq() ||
      m.cseq()->method != sip::Method::Invite || m.from() == nullptr) {
    return;
  }
  Dialog* dialog = findDialog(m.callId(), m.from()->tag);
  if (dialog == nullptr) {
    return;
  }
  const bool external = dialog->ext.call_id == m.callId();
  Leg& leg = dialog->leg(external);
  if (m.to() != nullptr && !leg.remote_tag.empty() && m.to()->tag != leg.remote_tag) {
    return;  // a 2xx from another fork: not handled yet (issue 6)
  }
  if (dialog->last_ack_cseq != 0 && dialog->last_ack_external == external &&
      dialog->last_ack_cseq == m.cseq()->number) {
    if (dialog->last_ack.empty()) {
      ackOtherLeg(*dialog, external, m);  // rebuilt: it had no body
      return;
    }
    (void)layer().sendAckText(dialog->last_ack, leg.destination);
  }
}

// ---- CANCEL, timer C, failures ----------------------------------------------------------------

void B2bua::onCancelled(ServerTransactionId invite, const Inbound&) {
  auto it = by_server_.find(invite.value);
  if (it == by_server_.end()) {
    return;
  }
  auto rit = relays_.find(it->second);
  if (rit == relays_.end()) {
    return;
  }
  Relay& relay = *rit->second;
  answer(relay, 487);
  relay.cancelled = true;
  if (relay.dialog != 0) {
    auto dit = dialogs_.find(relay.dialog);
    if (dit != dialogs_.end()) {
      dit->second->terminating = true;
    }
  }
  if (!relay.branches.empty()) {
    cancelForking(relay);
    return;
  }
  if (relay.client) {
    (void)layer().cancel(*relay.client);
    return;  // the relay ends with the client transaction's final response
  }
  // Not sent yet (directory or DNS pending).
  if (relay.dialog != 0) {
    endDialog(relay.dialog);
  }
  by_server_.erase(it);
  relays_.erase(rit);
}

void B2bua::onTimerC(ClientTransactionId) {
  // The layer cancels the INVITE; its 487 or a 408 comes through onResponse.
}

void B2bua::onServerFailure(ServerTransactionId id, txn::ServerFailure) {
  auto it = by_server_.find(id.value);
  if (it == by_server_.end()) {
    return;
  }
  auto rit = relays_.find(it->second);
  if (rit != relays_.end()) {
    rit->second->answered = true;  // nothing more can reach the requester
  }
}

// ---- ending dialogs ---------------------------------------------------------------------------

void B2bua::hangUp(Dialog& dialog) {
  dialog.terminating = true;
  // A pending dialog-creating request: CANCEL it (its final response ends the dialog).
  if (dialog.initial_relay != 0) {
    auto rit = relays_.find(dialog.initial_relay);
    if (rit != relays_.end()) {
      Relay& r = *rit->second;
      if (!r.answered) {
        answer(r, 487);
      }
      r.cancelled = true;
      if (!r.branches.empty()) {
        cancelForking(r);
        return;
      }
      if (r.client) {
        (void)layer().cancel(*r.client);
        return;
      }
    }
  }
  if (dialog.kind == Dialog::Kind::Invite && dialog.confirmed) {
    for (bool external : {true, false}) {
      (void)sendOnLeg(dialog.leg(external), "BYE");
    }
  }
  endDialog(dialog.id);
}

void B2bua::endDialog(std::uint64_t id) {
  auto it = dialogs_.find(id);
  if (it == dialogs_.end()) {
    return;
  }
  Dialog& d = *it->second;
  dialog_index_.erase(d.ext.local_tag);
  dialog_index_.erase(d.in.local_tag);
  for (const std::string& tag : d.fork_tags) {
    dialog_index_.erase(tag);  // forking: the requester is a partner
  }
  // Timers may be the caller (expiry, session): free the dialog after this dispatch.
  std::unique_ptr<Dialog> doomed = std::move(it->second);
  dialogs_.erase(it);
  if (doomed->expiry) {
    doomed->expiry->disable();
  }
  if (doomed->retransmit_timer) {
    doomed->retransmit_timer->disable();
  }
  if (doomed->session) {
    doomed->session->disable();
  }
  graveyard_.push_back(std::move(doomed));
  if (!sweep_timer_) {
    sweep_timer_ = timers_.createTimer([this] { graveyard_.clear(); });
  }
  if (!sweep_timer_->enabled()) {
    sweep_timer_->enable(Duration{0});
  }
}

// ---- next-hop pings ---------------------------------------------------------------------------

void B2bua::ping() {
  // A ping unanswered for a whole interval is a failure; its transaction runs on (timer F) and no
  // second ping goes to that hop meanwhile, so a dead hop costs one transaction, not one per
  // interval.
  std::vector<bool> outstanding(next_hops_.size(), false);
  for (const auto& [id, hop] : pings_) {
    (void)id;
    next_hops_.reportFailure(hop);
    outstanding[hop] = true;
  }
  for (std::size_t i = 0; i < next_hops_.size(); ++i) {
    if (outstanding[i]) {
      continue;
    }
    const Destination& dest = next_hops_.hop(i).destination;
    auto via = sender_.viaFor(dest);
    if (!via) {
      next_hops_.reportFailure(i);
      continue;
    }
    // OPTIONS sip:HOP from sipedge's address on that side to the hop's (RFC 3261 11.1).
    const std::string target = "sip:" + dest.endpoint.address.toString();
    const std::string call_id = mintCallId(settings_.worker, random_);
    RequestHead head = newHead(*via);
    head.method = "OPTIONS";
    head.ruri = target;
    head.from = "<sip:" + via->host + ":" + std::to_string(via->port) +
                ">;tag=" + mintTag(settings_.worker, random_);
    head.to = "<" + target + ">";
    head.call_id = call_id;
    head.cseq = 1;
    std::string text = headText(head);
    appendContentLength(text, 0);
    auto id = layer().requestText(std::move(text), takeParts(head), head.branch, dest);
    if (id) {
      pings_[id->value] = i;
    }
  }
  ping_timer_->enable(settings_.health_interval);
}

}  // namespace sipedge::b2bua
