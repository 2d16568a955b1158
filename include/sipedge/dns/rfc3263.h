#pragma once

// RFC 3263 server location, the pure part: what to look up for a SIP URI, how NAPTR answers turn
// into SRV names, and how SRV answers are ordered (RFC 2782). The c-ares resolver runs the
// lookups this plans; nothing here does I/O. The caller describes the URI with a Query, so this
// module needs no SIP types (DESIGN.md: dns uses base, config and loop only).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/random.h"

namespace sipedge::dns {

enum class Transport : std::uint8_t { Udp, Tcp, Tls };
std::string_view transportName(Transport t);

struct Query {
  std::string host;                    // URI host, or maddr when present; IPv6 without brackets
  std::optional<std::uint16_t> port;   // explicit URI port
  std::optional<Transport> transport;  // transport URI parameter
  bool sips = false;                   // sips: scheme (RFC 3263 4.1: TLS only)
  bool numeric_host = false;           // the host is an IP address literal
};

// What the resolver must do first (RFC 3263 4.1, 4.2).
struct Plan {
  enum class Kind : std::uint8_t {
    Address,        // the host is an IP address: no lookup
    AddressLookup,  // explicit port: A/AAAA of the host only
    Naptr,          // no port and no transport: NAPTR of the host first
    Srv,            // transport known, no port: SRV of the name for that transport
  };
  Kind kind = Kind::Naptr;
  Transport transport = Transport::Udp;  // Address/AddressLookup/Srv: the transport to use
  std::uint16_t port = 5060;             // Address/AddressLookup: the port to use
  std::string srv_name;                  // Srv: e.g. "_sips._tcp.example.com"
};

Plan plan(const Query& q);

// SRV owner name for a transport (RFC 3263 4.2): _sip._udp, _sip._tcp, _sips._tcp.
std::string srvName(Transport t, std::string_view host);

struct NaptrRecord {
  std::uint16_t order = 0;
  std::uint16_t preference = 0;
  std::string flags;        // "S" for SIP services
  std::string service;      // "SIP+D2U", "SIP+D2T", "SIPS+D2T", ...
  std::string replacement;  // the SRV name
};

struct SrvTarget {
  std::string name;
  Transport transport = Transport::Udp;
  bool operator==(const SrvTarget&) const = default;
};

// NAPTR answers in the order to try (RFC 3263 4.1): by order, then preference; only "S"-flagged
// SIP services sipedge supports; only SIPS+D2T for a sips: URI. When the answer has none, the
// RFC's fallback SRV names for each supported transport (TLS only for sips:).
std::vector<SrvTarget> srvTargets(const Query& q, const std::vector<NaptrRecord>& naptr);

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;
  bool operator==(const SrvRecord&) const = default;
};

// RFC 2782 ordering: ascending priority; within a priority, a weighted random order (weight 0
// records first in the running sum, as the RFC describes). A single "." target means the
// service is not offered: the result is empty.
std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, Random& random);

// The open-federation lookup: the SRV name a partner domain publishes for its federation edge.
std::string federationSrvName(std::string_view domain);

}  // namespace sipedge::dns
