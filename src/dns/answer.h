#pragma once

// One DNS lookup and its answer, as the resolver's pieces pass them around: the Locator asks for
// lookups and is fed answers, the cache keeps answers, and CaresResolver turns c-ares replies
// into answers. No c-ares types here.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/dns/rfc3263.h"

namespace sipedge::dns {

enum class RecordType : std::uint8_t { Naptr, Srv, A, Aaaa };
std::string_view recordTypeName(RecordType type);

struct LookupKey {
  std::string name;  // as it will be sent
  RecordType type = RecordType::A;
  bool operator==(const LookupKey&) const = default;
};

// Lower-cased, without a trailing dot, prefixed by the type: the cache and in-flight key.
std::string canonicalKey(const LookupKey& key);

enum class AnswerStatus : std::uint8_t {
  Ok,             // records of the type asked for
  NoData,         // the name exists, without records of that type
  NxDomain,       // the name does not exist
  Timeout,        // no answer in time
  ServerFailure,  // SERVFAIL, REFUSED, connection refused, no server
  BadResponse,    // malformed or unparseable
  InvalidName,    // not a name that can be looked up
  Other,          // out of memory, cancelled, ...
};

// Whether an answer says something about the name (and may be cached and acted on), as opposed
// to a failure to get an answer.
inline bool isDefinite(AnswerStatus s) {
  return s == AnswerStatus::Ok || s == AnswerStatus::NoData || s == AnswerStatus::NxDomain;
}

struct Answer {
  AnswerStatus status = AnswerStatus::Other;
  std::vector<NaptrRecord> naptr;      // NAPTR lookups
  std::vector<SrvRecord> srv;          // SRV lookups
  std::vector<std::string> addresses;  // A and AAAA lookups: address literals
  std::uint32_t ttl = 0;               // seconds: the record TTL, or what is left of it if cached
  bool cached = false;
  std::string detail;  // for failures: what went wrong, e.g. c-ares' message
};

}  // namespace sipedge::dns
