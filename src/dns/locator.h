#pragma once

// RFC 3263 server location as a state machine with no I/O (STYLE S2, S5): it says which lookups
// it needs, is fed their answers in any order, and ends with targets or an error, writing the
// trace as it goes. CaresResolver runs one per resolve(), answering from its cache or c-ares;
// tests and fuzzers can drive it by hand. Built on dns::plan, srvTargets and orderSrv.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "answer.h"
#include "sipedge/base/random.h"
#include "sipedge/dns/resolver.h"
#include "sipedge/dns/rfc3263.h"

namespace sipedge::dns {

struct LocatorOptions {
  bool ipv6 = true;          // also ask AAAA
  bool prefer_ipv6 = false;  // IPv6 addresses before IPv4 ones of the same host
  std::size_t max_records = 32;
};

class Locator {
 public:
  // RFC 3263 for a SIP URI.
  Locator(const Query& query, LocatorOptions options, Random& random);
  // SRV _sipfederationtls._tcp.<domain> -> A/AAAA, TLS.
  static Locator federation(const std::string& domain, LocatorOptions options, Random& random);

  // The lookups needed now and not asked for before; each key is returned once.
  std::vector<LookupKey> takeLookups();
  // An answer to a key returned by takeLookups(). Anything else is ignored.
  void feed(const LookupKey& key, const Answer& answer);

  bool done() const { return result_.has_value(); }
  // Once done(): the result (moved out).
  ResolveResult takeResult();

 private:
  enum class Phase : std::uint8_t { Naptr, Srv, Addresses, Done };
  struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    Transport transport = Transport::Udp;
    std::string srv_name;
  };
  struct Pending {
    LookupKey key;
    std::optional<Answer> answer;
  };

  Locator(LocatorOptions options, Random& random) : options_(options), random_(&random) {}

  void await(std::vector<LookupKey> keys);
  void onPhaseComplete();
  void onNaptr(const Answer& a);
  void startSrv(std::size_t index);
  void onSrv(const Answer& a);
  void srvExhausted();
  void startAddresses(std::vector<Endpoint> endpoints, bool from_srv);
  void onAddresses();
  const Answer* answerFor(const std::string& name, RecordType type) const;

  void succeed(std::vector<Target> targets);
  void fail(DnsErrorKind kind, std::string reason);
  void failWith(const LookupKey& key, const Answer& a);
  void note(std::string line) { trace_.push_back(std::move(line)); }

  LocatorOptions options_;
  Random* random_;
  Query query_;
  std::string domain_;  // what the error names
  bool federation_ = false;
  Plan plan_;
  Phase phase_ = Phase::Done;

  std::vector<SrvTarget> srv_names_;
  std::size_t srv_index_ = 0;
  bool srv_found_ = false;         // some SRV name had records: no A/AAAA fallback on the host
  bool srv_with_targets_ = false;  // ... other than the "service not offered" target "."
  AnswerStatus last_srv_status_ = AnswerStatus::NoData;

  std::vector<Endpoint> endpoints_;
  bool endpoints_from_srv_ = false;

  std::vector<Pending> pending_;    // the current phase's lookups
  std::vector<LookupKey> to_send_;  // of those, the ones not yet handed out
  std::vector<Pending> answered_;   // every answer fed so far: no lookup is asked twice
  std::vector<std::string> trace_;
  std::optional<ResolveResult> result_;
};

}  // namespace sipedge::dns
