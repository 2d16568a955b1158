#include "locator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <tuple>
#include <utility>

#include "sipedge/base/assert.h"

namespace sipedge::dns {
namespace {

bool isIpLiteral(const std::string& s) {
  std::array<unsigned char, 16> buf{};
  if (s.find('\0') != std::string::npos) {
    return false;  // inet_pton would read only up to it (regress-nul-in-ip-literal)
  }
  return inet_pton(AF_INET, s.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, s.c_str(), buf.data()) == 1;
}

// A host name we are willing to send (RFC 1035 2.3.4, with '_' for SRV owners): labels of 1 to 63
// letters, digits, '-' and '_', at most 253 characters, one optional trailing dot. Nothing that
// c-ares would read as an escape.
bool validName(std::string_view name) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  if (name.empty() || name.size() > 253) {
    return false;
  }
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) {
      return false;
    }
  }
  return label > 0;
}

// Names and strings from DNS answers end up in logs and on terminals.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      c = '?';
    }
  }
  return out;
}

std::uint16_t defaultPortFor(Transport t) {
  return t == Transport::Tls ? 5061 : 5060;
}

std::string ttlNote(const Answer& a) {
  std::string out = "(ttl " + std::to_string(a.ttl);
  if (a.cached) {
    out += ", cached";
  }
  return out + ")";
}

std::string statusText(const Answer& a) {
  switch (a.status) {
    case AnswerStatus::Ok: return "ok";
    case AnswerStatus::NoData: return "no records";
    case AnswerStatus::NxDomain: return "no such domain (NXDOMAIN)";
    case AnswerStatus::Timeout: return "timeout";
    case AnswerStatus::ServerFailure: return "server failure (" + a.detail + ")";
    case AnswerStatus::BadResponse: return "malformed answer (" + a.detail + ")";
    case AnswerStatus::InvalidName: return "not a valid domain name";
    case AnswerStatus::Other: return a.detail.empty() ? "lookup failed" : a.detail;
  }
  return "?";
}

DnsErrorKind kindOf(AnswerStatus s) {
  switch (s) {
    case AnswerStatus::NxDomain: return DnsErrorKind::NotFound;
    case AnswerStatus::Ok:
    case AnswerStatus::NoData: return DnsErrorKind::NoRecords;
    case AnswerStatus::Timeout: return DnsErrorKind::Timeout;
    case AnswerStatus::ServerFailure: return DnsErrorKind::ServerFailure;
    case AnswerStatus::BadResponse: return DnsErrorKind::BadResponse;
    case AnswerStatus::InvalidName: return DnsErrorKind::InvalidName;
    case AnswerStatus::Other: return DnsErrorKind::Other;
  }
  return DnsErrorKind::Other;
}

std::string lookupName(const LookupKey& key) {
  return std::string(recordTypeName(key.type)) + " " + printable(key.name);
}

void traceAnswer(std::vector<std::string>& trace, const LookupKey& key, const Answer& a) {
  const std::string head = lookupName(key) + ": ";
  if (a.status == AnswerStatus::NoData || a.status == AnswerStatus::NxDomain) {
    trace.push_back(head + statusText(a) + " " + ttlNote(a));
    return;
  }
  if (a.status != AnswerStatus::Ok) {
    trace.push_back(head + statusText(a));
    return;
  }
  switch (key.type) {
    case RecordType::Naptr:
      for (const NaptrRecord& r : a.naptr) {
        trace.push_back(
            head + "order " + std::to_string(r.order) + " pref " + std::to_string(r.preference) +
            " " + (r.flags.empty() ? "\"\"" : printable(r.flags)) + " " + printable(r.service) +
            " -> " + (r.replacement.empty() ? "." : printable(r.replacement)) + " " + ttlNote(a));
      }
      break;
    case RecordType::Srv:
      for (const SrvRecord& r : a.srv) {
        trace.push_back(head + std::to_string(r.priority) + " " + std::to_string(r.weight) + " " +
                        std::to_string(r.port) + " " + printable(r.target) + " " + ttlNote(a));
      }
      break;
    case RecordType::A:
    case RecordType::Aaaa: {
      std::string line = head;
      for (std::size_t i = 0; i < a.addresses.size(); ++i) {
        line += (i == 0 ? "" : ", ") + a.addresses[i];
      }
      trace.push_back(line + " " + ttlNote(a));
      break;
    }
  }
}

template <class T>
std::vector<T> capped(const std::vector<T>& v, std::size_t max) {
  return std::vector<T>(v.begin(),
                        v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size(), max)));
}

bool isLocalhost(std::string_view host) {
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  constexpr std::string_view kName = "localhost";
  auto iequal = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  return iequal(host, kName) ||
         (host.size() > kName.size() + 1 && host[host.size() - kName.size() - 1] == '.' &&
          iequal(host.substr(host.size() - kName.size()), kName));
}

}  // namespace

Locator::Locator(const Query& query, LocatorOptions options, Random& random)
    : Locator(options, random) {
  query_ = query;
  if (query_.host.size() >= 2 && query_.host.front() == '[' && query_.host.back() == ']') {
    query_.host = query_.host.substr(1, query_.host.size() - 2);
  }
  if (!query_.numeric_host && isIpLiteral(query_.host)) {
    query_.numeric_host = true;  // an address literal is never looked up, whatever the caller said
  }
  domain_ = printable(query_.host);
  plan_ = plan(query_);
  if (plan_.kind == Plan::Kind::Address && !isIpLiteral(query_.host)) {
    note(printable(query_.host) + ": not an IP address");
    fail(DnsErrorKind::InvalidName, "numeric host is not an IP address");
    return;
  }
  if (plan_.kind != Plan::Kind::Address && !validName(query_.host)) {
    note(printable(query_.host) + ": not a valid domain name");
    fail(DnsErrorKind::InvalidName, "not a valid domain name");
    return;
  }
  const std::string host = printable(query_.host);
  if (plan_.kind != Plan::Kind::Address && isLocalhost(query_.host)) {
    // RFC 6761 6.3: localhost names are the loopback addresses and are never sent to DNS.
    Transport t = plan_.transport;  // TLS for sips:, whatever the transport parameter says
    std::uint16_t port = query_.port.value_or(t == Transport::Tls ? 5061 : 5060);
    note(host + ": loopback name (RFC 6761), no lookup");
    std::vector<Endpoint> loopback{Endpoint{"127.0.0.1", port, t, ""}};
    if (options_.ipv6) {
      loopback.insert(options_.prefer_ipv6 ? loopback.begin() : loopback.end(),
                      Endpoint{"::1", port, t, ""});
    }
    startAddresses(std::move(loopback), false);
    return;
  }
  switch (plan_.kind) {
    case Plan::Kind::Address:
      note(host + ": numeric host, no lookup");
      startAddresses({Endpoint{query_.host, plan_.port, plan_.transport, ""}}, false);
      break;
    case Plan::Kind::AddressLookup:
      note(host + ": explicit port " + std::to_string(plan_.port) + ", A/AAAA only (" +
           std::string(transportName(plan_.transport)) + ")");
      startAddresses({Endpoint{query_.host, plan_.port, plan_.transport, ""}}, false);
      break;
    case Plan::Kind::Srv:
      note(host + ": transport " + std::string(transportName(plan_.transport)) +
           " given, SRV only for it");
      srv_names_ = {SrvTarget{plan_.srv_name, plan_.transport}};
      startSrv(0);
      break;
    case Plan::Kind::Naptr:
      phase_ = Phase::Naptr;
      await({LookupKey{query_.host, RecordType::Naptr}});
      break;
  }
}

Locator Locator::federation(const std::string& domain, LocatorOptions options, Random& random) {
  Locator l(options, random);
  l.federation_ = true;
  l.domain_ = printable(domain);
  l.plan_.transport = Transport::Tls;
  if (!validName(domain)) {
    l.note(printable(domain) + ": not a valid domain name");
    l.fail(DnsErrorKind::InvalidName, "not a valid domain name");
    return l;
  }
  l.srv_names_ = {SrvTarget{federationSrvName(domain), Transport::Tls}};
  l.startSrv(0);
  return l;
}

std::vector<LookupKey> Locator::takeLookups() {
  return std::exchange(to_send_, {});
}

void Locator::feed(const LookupKey& key, const Answer& answer) {
  if (phase_ == Phase::Done) {
    return;
  }
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return !p.answer && p.key == key; });
  if (it == pending_.end()) {
    return;
  }
  it->answer = answer;
  answered_.push_back(*it);
  if (std::all_of(pending_.begin(), pending_.end(), [](const Pending& p) { return p.answer; })) {
    onPhaseComplete();
  }
}

ResolveResult Locator::takeResult() {
  SIPEDGE_ASSERT(result_.has_value());
  return std::move(*result_);
}

void Locator::await(std::vector<LookupKey> keys) {
  pending_.clear();
  for (LookupKey& k : keys) {
    Pending p{std::move(k), std::nullopt};
    auto earlier = std::find_if(answered_.begin(), answered_.end(),
                                [&](const Pending& a) { return a.key == p.key; });
    if (earlier != answered_.end()) {
      // Asked before, e.g. a target of two SRV names, or a NAPTR replacement given twice
      // (regress-naptr-same-replacement): the answer is known.
      p.answer = earlier->answer;
      p.answer->cached = true;
    } else if (validName(p.key.name)) {
      to_send_.push_back(p.key);
    } else {
      Answer invalid;
      invalid.status = AnswerStatus::InvalidName;
      p.answer = std::move(invalid);
    }
    pending_.push_back(std::move(p));
  }
  if (std::all_of(pending_.begin(), pending_.end(), [](const Pending& p) { return p.answer; })) {
    onPhaseComplete();
  }
}

void Locator::onPhaseComplete() {
  for (const Pending& p : pending_) {
    traceAnswer(trace_, p.key, *p.answer);
  }
  switch (phase_) {
    case Phase::Naptr: onNaptr(*pending_.front().answer); break;
    case Phase::Srv: onSrv(*pending_.front().answer); break;
    case Phase::Addresses: onAddresses(); break;
    case Phase::Done: break;
  }
}

void Locator::onNaptr(const Answer& a) {
  if (!isDefinite(a.status)) {
    failWith(pending_.front().key, a);
    return;
  }
  std::vector<NaptrRecord> records;
  if (a.status == AnswerStatus::Ok) {
    records = capped(a.naptr, options_.max_records);
  }
  srv_names_ = srvTargets(query_, records);
  std::string line = "SRV names to try:";
  for (std::size_t i = 0; i < srv_names_.size(); ++i) {
    line += (i == 0 ? " " : ", ") + printable(srv_names_[i].name) + " (" +
            std::string(transportName(srv_names_[i].transport)) + ")";
  }
  note(std::move(line));
  startSrv(0);
}

void Locator::startSrv(std::size_t index) {
  srv_index_ = index;
  if (index >= srv_names_.size()) {
    srvExhausted();
    return;
  }
  phase_ = Phase::Srv;
  await({LookupKey{srv_names_[index].name, RecordType::Srv}});
}

void Locator::onSrv(const Answer& a) {
  const SrvTarget& name = srv_names_[srv_index_];
  last_srv_status_ = a.status;
  if (a.status == AnswerStatus::NoData || a.status == AnswerStatus::NxDomain ||
      a.status == AnswerStatus::InvalidName) {
    startSrv(srv_index_ + 1);
    return;
  }
  if (a.status != AnswerStatus::Ok) {
    failWith(pending_.front().key, a);
    return;
  }
  srv_found_ = true;
  // A canonical order first, so that the weighted choice depends on the random numbers only, not
  // on the order in which the server listed the records.
  std::vector<SrvRecord> records = capped(a.srv, options_.max_records);
  std::sort(records.begin(), records.end(), [](const SrvRecord& x, const SrvRecord& y) {
    return std::tie(x.priority, x.target, x.port, x.weight) <
           std::tie(y.priority, y.target, y.port, y.weight);
  });
  std::vector<SrvRecord> ordered = orderSrv(std::move(records), *random_);
  std::erase_if(ordered, [](const SrvRecord& r) { return r.target.empty() || r.target == "."; });
  if (ordered.empty()) {
    note("SRV " + printable(name.name) + ": service not offered (target \".\")");
    startSrv(srv_index_ + 1);
    return;
  }
  srv_with_targets_ = true;
  std::string line = "SRV " + printable(name.name) + ": try";
  std::vector<Endpoint> endpoints;
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    line += (i == 0 ? " " : ", ") + printable(ordered[i].target) + ":" +
            std::to_string(ordered[i].port);
    endpoints.push_back(Endpoint{ordered[i].target, ordered[i].port, name.transport, name.name});
  }
  note(std::move(line));
  startAddresses(std::move(endpoints), true);
}

void Locator::srvExhausted() {
  if (srv_found_) {
    fail(DnsErrorKind::NoRecords, srv_with_targets_ ? "no SRV target has an address"
                                                    : "service not offered (SRV target \".\")");
    return;
  }
  if (federation_) {
    const std::string name = srv_names_.empty() ? domain_ : srv_names_.front().name;
    fail(last_srv_status_ == AnswerStatus::NxDomain ? DnsErrorKind::NotFound
                                                    : DnsErrorKind::NoRecords,
         "no federation SRV record (" + printable(name) + ")");
    return;
  }
  // RFC 3263 4.2: no SRV records: A/AAAA of the host, at the default port of the transport.
  const std::uint16_t port = defaultPortFor(plan_.transport);
  note("no SRV records: A/AAAA of " + printable(query_.host) + ", port " + std::to_string(port) +
       " (" + std::string(transportName(plan_.transport)) + ")");
  startAddresses({Endpoint{query_.host, port, plan_.transport, ""}}, false);
}

void Locator::startAddresses(std::vector<Endpoint> endpoints, bool from_srv) {
  endpoints_ = std::move(endpoints);
  endpoints_from_srv_ = from_srv;
  phase_ = Phase::Addresses;
  std::vector<LookupKey> keys;
  auto want = [&](const std::string& name, RecordType type) {
    LookupKey k{name, type};
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      keys.push_back(std::move(k));
    }
  };
  for (const Endpoint& e : endpoints_) {
    if (isIpLiteral(e.host)) {
      continue;
    }
    if (options_.ipv6 && options_.prefer_ipv6) {
      want(e.host, RecordType::Aaaa);
    }
    want(e.host, RecordType::A);
    if (options_.ipv6 && !options_.prefer_ipv6) {
      want(e.host, RecordType::Aaaa);
    }
  }
  await(std::move(keys));
}

const Answer* Locator::answerFor(const std::string& name, RecordType type) const {
  for (const Pending& p : pending_) {
    if (p.key.type == type && p.key.name == name && p.answer) {
      return &*p.answer;
    }
  }
  return nullptr;
}

void Locator::onAddresses() {
  std::vector<Target> targets;
  auto add = [&](const Endpoint& e, const std::string& ip) {
    Target t{ip, e.port, e.transport, e.srv_name, e.host};
    if (std::find(targets.begin(), targets.end(), t) == targets.end()) {
      targets.push_back(std::move(t));
    }
  };
  for (const Endpoint& e : endpoints_) {
    if (isIpLiteral(e.host)) {
      add(e, e.host);
      continue;
    }
    std::vector<std::string> v4;
    std::vector<std::string> v6;
    if (const Answer* a = answerFor(e.host, RecordType::A); a && a->status == AnswerStatus::Ok) {
      v4 = capped(a->addresses, options_.max_records);
    }
    if (const Answer* a = answerFor(e.host, RecordType::Aaaa); a && a->status == AnswerStatus::Ok) {
      v6 = capped(a->addresses, options_.max_records);
    }
    for (const auto* family : options_.prefer_ipv6 ? std::array{&v6, &v4} : std::array{&v4, &v6}) {
      for (const std::string& ip : *family) {
        add(e, ip);
      }
    }
  }
  if (!targets.empty()) {
    succeed(std::move(targets));
    return;
  }
  for (const Pending& p : pending_) {
    if (!isDefinite(p.answer->status) && p.answer->status != AnswerStatus::InvalidName) {
      failWith(p.key, *p.answer);
      return;
    }
  }
  if (endpoints_from_srv_) {
    note("SRV " + printable(srv_names_[srv_index_].name) + ": no target has an address");
    startSrv(srv_index_ + 1);
    return;
  }
  const bool nxdomain = std::all_of(pending_.begin(), pending_.end(), [](const Pending& p) {
    return p.answer->status == AnswerStatus::NxDomain;
  });
  if (nxdomain && !pending_.empty()) {
    fail(DnsErrorKind::NotFound, "no such domain (NXDOMAIN)");
  } else {
    fail(DnsErrorKind::NoRecords, options_.ipv6 ? "no A/AAAA records" : "no A records");
  }
}

void Locator::succeed(std::vector<Target> targets) {
  phase_ = Phase::Done;
  pending_.clear();
  to_send_.clear();
  result_.emplace(Resolution{std::move(targets), std::move(trace_)});
}

void Locator::fail(DnsErrorKind kind, std::string reason) {
  phase_ = Phase::Done;
  pending_.clear();
  to_send_.clear();
  result_.emplace(tl::unexpect, DnsError{kind, domain_, std::move(reason), std::move(trace_)});
}

void Locator::failWith(const LookupKey& key, const Answer& a) {
  fail(kindOf(a.status), statusText(a) + " (" + lookupName(key) + ")");
}

}  // namespace sipedge::dns
