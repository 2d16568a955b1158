#pragma once

// What c-ares 1.18's reply parsers leave out: the TTLs. A bounds-checked walk over a raw DNS
// message (RFC 1035 4.1) that reads only the fields it needs. Pure: no c-ares, no I/O.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "sipedge/base/result.h"

namespace sipedge::dns {

struct MessageTtls {
  // The smallest TTL of the answer section's records of the type asked for and of the CNAMEs
  // leading to them; none when the answer section has neither.
  std::optional<std::uint32_t> answer;
  // RFC 2308 3: for a negative answer, min(SOA TTL, SOA MINIMUM) of the authority section's SOA.
  std::optional<std::uint32_t> negative;
};

// `qtype` is the numeric RR type asked for (1 A, 28 AAAA, 33 SRV, 35 NAPTR). The error says where
// the header, question or answer section broke; a broken authority section only ends the scan.
// It never reads outside `message`.
[[nodiscard]] Result<MessageTtls, std::string> scanTtls(std::span<const std::uint8_t> message,
                                                        std::uint16_t qtype);

}  // namespace sipedge::dns
