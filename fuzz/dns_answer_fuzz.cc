// Fuzz target: dns::scanTtls, the bounds-checked walk over a raw DNS answer that reads the TTLs
// c-ares 1.18 drops (src/dns/dns_packet.h). CaresResolver runs it on every reply, from any server.
//
// The whole input is one DNS message. It is scanned once for each record type the resolver asks
// for (A, AAAA, SRV, NAPTR), and c-ares parses the same bytes as CaresResolver would. Properties:
//  (a) no read outside the message (the drivers hand over an exactly-sized buffer, ASan checks)
//      and the same answer every time;
//  (b) every TTL is at most 2^31 - 1 (RFC 2181 8: a TTL with the top bit set counts as zero),
//      and is zero or a 32-bit value the message holds (scanTtls invents no TTL);
//  (c) an answer TTL only with ANCOUNT > 0, a negative TTL only with NSCOUNT > 0, and neither
//      from a message too short for a header and one record;
//  (d) bytes appended to a message that scans change neither that it scans nor its answer TTL
//      (the answer section was whole; only a cut authority section may now be read further);
//  (e) agreement with c-ares on the replies CaresResolver acts on: when ares_parse_*_reply finds
//      records in the message, scanTtls accepts it and has an answer TTL (otherwise a usable
//      reply would become BadResponse), and for A and AAAA that TTL is no larger than any TTL
//      c-ares reports for an address. The one deliberate difference: an A or AAAA record of the
//      wrong size in the answer section is an error here, while c-ares skips it.

#include <ares.h>
#include <netdb.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dns_packet.h"
#include "fuzz_check.h"

namespace {

using sipedge::dns::MessageTtls;
using sipedge::dns::scanTtls;

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeAaaa = 28;
constexpr std::uint16_t kTypeSrv = 33;
constexpr std::uint16_t kTypeNaptr = 35;
constexpr std::uint32_t kMaxTtl = 0x7fffffffu;
constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kSmallestRecord = 11;  // root name, type, class, TTL, RDLENGTH

std::uint16_t u16At(std::span<const std::uint8_t> m, std::size_t i) {
  return static_cast<std::uint16_t>((m[i] << 8) | m[i + 1]);
}

// Whether `v` is zero or stored big-endian somewhere after the header.
bool holds(std::span<const std::uint8_t> m, std::uint32_t v) {
  if (v == 0) {
    return true;
  }
  for (std::size_t i = kHeaderSize; i + 4 <= m.size(); ++i) {
    const std::uint32_t w = (static_cast<std::uint32_t>(m[i]) << 24) |
                            (static_cast<std::uint32_t>(m[i + 1]) << 16) |
                            (static_cast<std::uint32_t>(m[i + 2]) << 8) | m[i + 3];
    if (w == v) {
      return true;
    }
  }
  return false;
}

bool same(const MessageTtls& a, const MessageTtls& b) {
  return a.answer == b.answer && a.negative == b.negative;
}

// What c-ares makes of the message for one record type: whether it found records, and for A and
// AAAA the smallest non-negative TTL it reports (c-ares keeps TTLs in an int).
struct CaresView {
  bool records = false;
  std::optional<std::uint32_t> min_ttl;
};

template <class AddrTtl>
void addTtls(CaresView& v, const AddrTtl* ttls, int n) {
  for (int i = 0; i < n; ++i) {
    if (ttls[i].ttl >= 0) {
      const auto t = static_cast<std::uint32_t>(ttls[i].ttl);
      v.min_ttl = std::min(v.min_ttl.value_or(t), t);
    }
  }
}

CaresView caresParse(std::span<const std::uint8_t> m, std::uint16_t qtype) {
  CaresView v;
  const auto* buf = m.data();
  const int len = static_cast<int>(m.size());
  switch (qtype) {
    case kTypeA: {
      hostent* host = nullptr;
      ares_addrttl ttls[16];
      int n = 16;
      if (ares_parse_a_reply(buf, len, &host, ttls, &n) == ARES_SUCCESS && n > 0) {
        v.records = true;
        addTtls(v, ttls, n);
      }
      if (host != nullptr) {
        ares_free_hostent(host);
      }
      break;
    }
    case kTypeAaaa: {
      hostent* host = nullptr;
      ares_addr6ttl ttls[16];
      int n = 16;
      if (ares_parse_aaaa_reply(buf, len, &host, ttls, &n) == ARES_SUCCESS && n > 0) {
        v.records = true;
        addTtls(v, ttls, n);
      }
      if (host != nullptr) {
        ares_free_hostent(host);
      }
      break;
    }
    case kTypeSrv: {
      ares_srv_reply* list = nullptr;
      v.records = ares_parse_srv_reply(buf, len, &list) == ARES_SUCCESS && list != nullptr;
      if (list != nullptr) {
        ares_free_data(list);
      }
      break;
    }
    case kTypeNaptr: {
      ares_naptr_reply* list = nullptr;
      v.records = ares_parse_naptr_reply(buf, len, &list) == ARES_SUCCESS && list != nullptr;
      if (list != nullptr) {
        ares_free_data(list);
      }
      break;
    }
    default: break;
  }
  return v;
}

void checkOne(std::span<const std::uint8_t> m, std::uint16_t qtype) {
  const auto first = scanTtls(m, qtype);
  const auto again = scanTtls(m, qtype);  // (a)
  FUZZ_CHECK(first.has_value() == again.has_value());
  if (!first) {
    FUZZ_CHECK(!first.error().empty());
    FUZZ_CHECK(first.error() == again.error());
  } else {
    FUZZ_CHECK(same(*first, *again));
    const MessageTtls& t = *first;
    FUZZ_CHECK(m.size() >= kHeaderSize);
    const std::uint16_t ancount = u16At(m, 6);
    const std::uint16_t nscount = u16At(m, 8);
    for (const auto& ttl : {t.answer, t.negative}) {  // (b)
      if (ttl) {
        FUZZ_CHECK(*ttl <= kMaxTtl);
        FUZZ_CHECK(holds(m, *ttl));
        FUZZ_CHECK(m.size() >= kHeaderSize + kSmallestRecord);  // (c)
      }
    }
    FUZZ_CHECK(!t.answer || ancount > 0);
    FUZZ_CHECK(!t.negative || nscount > 0);

    // (d) The same message followed by some of its own bytes.
    std::vector<std::uint8_t> longer(m.begin(), m.end());
    longer.insert(longer.end(), m.begin(),
                  m.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(m.size(), 16)));
    const auto extended = scanTtls(longer, qtype);
    FUZZ_CHECK(extended.has_value());
    FUZZ_CHECK(extended->answer == t.answer);
  }

  // (e)
  const CaresView cares = caresParse(m, qtype);
  if (cares.records && !(!first && first.error().starts_with("address record of"))) {
    FUZZ_CHECK(first.has_value());
    FUZZ_CHECK(first->answer.has_value());
    if (cares.min_ttl) {
      FUZZ_CHECK(*first->answer <= *cares.min_ttl);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Exactly the input: reads past its end are ASan reports.
  const std::span<const std::uint8_t> message(data, size);
  for (const std::uint16_t qtype : {kTypeA, kTypeAaaa, kTypeSrv, kTypeNaptr}) {
    checkOne(message, qtype);
  }
  return 0;
}
