#include "sipedge/dns/rfc3263.h"

#include <algorithm>

#include "sipedge/base/strings.h"

namespace sipedge::dns {
namespace {

std::optional<Transport> serviceTransport(std::string_view service) {
  if (iequals(service, "SIP+D2U")) {
    return Transport::Udp;
  }
  if (iequals(service, "SIP+D2T")) {
    return Transport::Tcp;
  }
  if (iequals(service, "SIPS+D2T")) {
    return Transport::Tls;
  }
  return std::nullopt;  // SCTP, WS and unknown services are not offered by sipedge
}

std::uint16_t defaultPort(Transport t) {
  return t == Transport::Tls ? 5061 : 5060;
}

// RFC 3263 4.1: a sips: URI always uses TLS; otherwise the transport parameter, else UDP.
Transport chosenTransport(const Query& q) {
  if (q.sips) {
    return Transport::Tls;
  }
  return q.transport.value_or(Transport::Udp);
}

std::string withoutTrailingDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  return std::string(name);
}

}  // namespace

std::string_view transportName(Transport t) {
  switch (t) {
    case Transport::Udp: return "UDP";
    case Transport::Tcp: return "TCP";
    case Transport::Tls: return "TLS";
  }
  return "?";
}

std::string srvName(Transport t, std::string_view host) {
  std::string out = t == Transport::Tls   ? "_sips._tcp."
                    : t == Transport::Tcp ? "_sip._tcp."
                                          : "_sip._udp.";
  out += host;
  return out;
}

Plan plan(const Query& q) {
  Plan p;
  p.transport = chosenTransport(q);
  if (q.numeric_host || q.port) {
    // 4.1/4.2: a numeric host, or an explicit port, is used as it is (A/AAAA for a name).
    p.kind = q.numeric_host ? Plan::Kind::Address : Plan::Kind::AddressLookup;
    p.port = q.port.value_or(defaultPort(p.transport));
    return p;
  }
  if (q.transport) {
    // 4.2: the transport is known: look up its SRV record directly.
    p.kind = Plan::Kind::Srv;
    p.srv_name = srvName(p.transport, q.host);
    return p;
  }
  // 4.1: neither: NAPTR first (for sips: only SIPS+D2T answers will count).
  p.kind = Plan::Kind::Naptr;
  return p;
}

std::vector<SrvTarget> srvTargets(const Query& q, const std::vector<NaptrRecord>& naptr) {
  std::vector<const NaptrRecord*> usable;
  for (const NaptrRecord& r : naptr) {
    const auto t = serviceTransport(r.service);
    const bool sip_service = r.flags.size() == 1 && (r.flags[0] == 'S' || r.flags[0] == 's');
    if (!sip_service || !t || (q.sips && *t != Transport::Tls) || r.replacement.empty()) {
      continue;
    }
    usable.push_back(&r);
  }
  std::stable_sort(usable.begin(), usable.end(), [](const NaptrRecord* a, const NaptrRecord* b) {
    return a->order != b->order ? a->order < b->order : a->preference < b->preference;
  });
  std::vector<SrvTarget> out;
  for (const NaptrRecord* r : usable) {
    out.push_back(SrvTarget{withoutTrailingDot(r->replacement), *serviceTransport(r->service)});
  }
  if (out.empty()) {
    // 4.1: no usable NAPTR answer: query the SRV name of every transport sipedge supports, the
    // secure one first (a federation edge prefers TLS); only TLS for sips:.
    out.push_back(SrvTarget{srvName(Transport::Tls, q.host), Transport::Tls});
    if (!q.sips) {
      out.push_back(SrvTarget{srvName(Transport::Tcp, q.host), Transport::Tcp});
      out.push_back(SrvTarget{srvName(Transport::Udp, q.host), Transport::Udp});
    }
  }
  return out;
}

std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, Random& random) {
  if (records.size() == 1 && (records[0].target == "." || records[0].target.empty())) {
    return {};  // RFC 2782: the service is decidedly not available at this domain
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  std::size_t group = 0;
  while (group < records.size()) {
    std::size_t end = group;
    while (end < records.size() && records[end].priority == records[group].priority) {
      ++end;
    }
    // Weight-0 records first, then the others, as RFC 2782's selection algorithm arranges them.
    std::vector<SrvRecord> pending(records.begin() + static_cast<std::ptrdiff_t>(group),
                                   records.begin() + static_cast<std::ptrdiff_t>(end));
    std::stable_partition(pending.begin(), pending.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!pending.empty()) {
      std::uint32_t sum = 0;
      for (const SrvRecord& r : pending) {
        sum += r.weight;
      }
      // A uniform number in [0, sum]; the first record whose running sum reaches it is next.
      const std::uint32_t pick = random.below(sum + 1);
      std::uint32_t running = 0;
      std::size_t chosen = pending.size() - 1;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        running += pending[i].weight;
        if (running >= pick) {
          chosen = i;
          break;
        }
      }
      out.push_back(pending[chosen]);
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
    group = end;
  }
  return out;
}

std::string federationSrvName(std::string_view domain) {
  return "_sipfederationtls._tcp." + withoutTrailingDot(domain);
}

}  // namespace sipedge::dns
