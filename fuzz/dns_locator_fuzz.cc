// Fuzz target: dns::Locator, the RFC 3263 state machine (src/dns/locator.h), with no I/O.
//
// The bytes describe a Query (or a federation domain) and the locator's options, a script for
// its Random, and then a sequence of steps: which of the outstanding lookups is answered next and
// with what (records, NODATA, NXDOMAIN, timeout, failures), interleaved with answers to lookups
// never asked for and repeated answers. Once the bytes run out, every lookup is answered NODATA.
// The run is made twice, the second time with every SRV answer's records in reverse order.
//
// Properties:
//  - it finishes: it is done within a bound on the lookups, and while not done it always waits for
//    some lookup (it never stalls);
//  - takeLookups() never hands out a (name, type) twice, and only names it may send: letters,
//    digits, '-', '_' and dots (names that differ only in case or a trailing dot may both be
//    asked: CaresResolver shares one query between them);
//  - no A/AAAA lookup of an address literal; a numeric host (or one written as an IP address)
//    makes no lookup at all and resolves to itself;
//  - answers to lookups not outstanding, and repeated answers, change nothing; once done it asks
//    for nothing more;
//  - targets: IP literals, none twice, all with one transport; TLS for sips: and for federation,
//    the transport parameter's when there is one; the explicit port when there is one, with no
//    SRV name; the trace and the error text are printable;
//  - the SRV records' order in an answer does not change the targets (the locator sorts them
//    before the weighted random choice), as long as the answer has no more than max_records.

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "answer.h"
#include "fuzz_bytes.h"
#include "fuzz_check.h"
#include "locator.h"
#include "sipedge/base/random.h"

namespace {

using namespace sipedge::dns;

using sipedge::fuzz::Bytes;

// Deterministic randomness from a script carved from the input, independent of the answers (so
// that both runs draw the same numbers). The bound must be positive (Random's contract).
class ScriptRandom final : public sipedge::Random {
 public:
  explicit ScriptRandom(std::string script) : script_(std::move(script)) {}
  std::uint32_t below(std::uint32_t bound) override {
    FUZZ_CHECK(bound > 0);
    if (script_.empty()) {
      return 0;
    }
    std::uint32_t v = 0;
    for (int i = 0; i < 3; ++i) {
      v = (v << 8) | static_cast<std::uint8_t>(script_[next_++ % script_.size()]);
    }
    return v % bound;
  }

 private:
  std::string script_;
  std::size_t next_ = 0;
};

// Names for hosts, NAPTR replacements and SRV targets: a few that collide with each other and with
// the names the locator derives, literals, loopback names and names it must refuse.
const std::string_view kNames[] = {
    "example.com",
    "EXAMPLE.com.",
    "a.example.com",
    "b.example.com",
    "A.example.com.",
    "_sip._udp.example.com",
    "_sip._tcp.example.com",
    "_sips._tcp.example.com",
    "_sips._tcp.example.com.",
    "_sipfederationtls._tcp.example.com",
    "localhost",
    "edge.localhost.",
    "127.0.0.1",
    "192.0.2.7",
    "::1",
    "[::1]",
    "2001:db8::5",
    "[2001:db8::5]",
    "",
    ".",
    "bad name.example",
    "x..example",
    "-.example",
    "a\\.b.example",
    "caf\xc3\xa9.example",
    "ctl\x01.example",
    std::string_view("::1\0.example", 13),  // an address literal as far as inet_pton sees
    std::string_view("192.0.2.7\0", 10),
};

std::string name(Bytes& in) {
  const std::uint8_t b = in.next();
  if (b < 0xf0) {
    return std::string(kNames[b % std::size(kNames)]);
  }
  if (b < 0xf8) {
    // Derived from a listed name, as NAPTR replacements are.
    const std::string_view prefix[] = {"_sip._udp.", "_sip._tcp.", "_sips._tcp.", "x."};
    return std::string(prefix[b % 4]) + std::string(kNames[in.next() % std::size(kNames)]);
  }
  if (b < 0xfe) {
    return in.take(in.next() % 64);
  }
  return std::string(in.next() % 2 == 0 ? 300 : 254, 'a');
}

const std::string_view kFlags[] = {"S", "s", "", "A", "SS", "U", "S\x7f"};
const std::string_view kServices[] = {
    "SIP+D2U", "SIP+D2T", "SIPS+D2T", "sips+d2t", "SIP+D2S", "SIPS+D2W", "E2U+sip", "SIP+D2T\n",
};
const std::string_view kDetails[] = {"", "Timeout while contacting DNS servers", "bad\tdetail"};

std::string address(Bytes& in, bool v6) {
  const std::uint8_t b = in.next();
  if (b < 0x80) {
    const std::string_view v4s[] = {"192.0.2.1", "192.0.2.2", "127.0.0.1", "0.0.0.0"};
    const std::string_view v6s[] = {"2001:db8::1", "2001:db8::2", "::1", "::ffff:192.0.2.1"};
    return std::string(v6 ? v6s[b % 4] : v4s[b % 4]);
  }
  std::array<unsigned char, 16> raw{};
  for (std::size_t i = 0; i < (v6 ? 16u : 4u); ++i) {
    raw[i] = in.next();
  }
  char text[INET6_ADDRSTRLEN] = {};
  FUZZ_CHECK(inet_ntop(v6 ? AF_INET6 : AF_INET, raw.data(), text, sizeof text) != nullptr);
  return text;
}

std::size_t count(Bytes& in) {
  const std::size_t n = in.next() % 8;
  return n < 7 ? n : 7 + in.next() % 40;
}

Answer makeAnswer(Bytes& in, const LookupKey& key) {
  Answer a;
  const std::uint8_t s = in.next();
  a.ttl = in.next();
  a.cached = (s & 0x80) != 0;
  switch (s % 16) {
    case 10: a.status = AnswerStatus::NoData; return a;
    case 11: a.status = AnswerStatus::NxDomain; return a;
    case 12: a.status = AnswerStatus::Timeout; return a;
    case 13: a.status = AnswerStatus::ServerFailure; break;
    case 14: a.status = AnswerStatus::BadResponse; break;
    case 15: a.status = (s & 0x40) != 0 ? AnswerStatus::InvalidName : AnswerStatus::Other; break;
    default: a.status = AnswerStatus::Ok; break;
  }
  if (a.status != AnswerStatus::Ok) {
    a.detail = std::string(kDetails[in.next() % std::size(kDetails)]);
    return a;
  }
  const std::size_t n = count(in);
  for (std::size_t i = 0; i < n && !in.empty(); ++i) {
    switch (key.type) {
      case RecordType::Naptr: {
        NaptrRecord r;
        r.order = in.next() % 4;
        r.preference = in.next() % 4;
        r.flags = std::string(kFlags[in.next() % std::size(kFlags)]);
        r.service = std::string(kServices[in.next() % std::size(kServices)]);
        r.replacement = name(in);
        a.naptr.push_back(std::move(r));
        break;
      }
      case RecordType::Srv: {
        SrvRecord r;
        r.priority = in.next() % 3;
        const std::uint8_t w = in.next();
        r.weight = w < 0xc0 ? w % 4 * 10 : (w < 0xf0 ? 65535 : in.next16());
        const std::uint8_t p = in.next();
        r.port = p < 0x80 ? 5060 : (p < 0xc0 ? 5061 : (p < 0xe0 ? 0 : in.next16()));
        r.target = name(in);
        a.srv.push_back(std::move(r));
        break;
      }
      case RecordType::A: a.addresses.push_back(address(in, false)); break;
      case RecordType::Aaaa: a.addresses.push_back(address(in, true)); break;
    }
  }
  return a;
}

// The whole string is an address (inet_pton alone stops at a NUL).
bool isIpLiteral(const std::string& s) {
  std::array<unsigned char, 16> buf{};
  return s.find('\0') == std::string::npos && (inet_pton(AF_INET, s.c_str(), buf.data()) == 1 ||
                                               inet_pton(AF_INET6, s.c_str(), buf.data()) == 1);
}

bool sendable(std::string_view n) {
  return !n.empty() && n.size() <= 254 && std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u < 0x7f) || c == '\t';
  });
}

struct Setup {
  Query query;
  bool federation = false;
  LocatorOptions options;
  std::string random_script;
};

Setup carveSetup(Bytes& in) {
  Setup s;
  const std::uint8_t flags = in.next();
  s.query.host = name(in);
  s.query.sips = (flags & 1) != 0;
  s.query.numeric_host = (flags & 2) != 0;
  if ((flags & 4) != 0) {
    s.query.port = in.next16();
  }
  if ((flags & 8) != 0) {
    s.query.transport = static_cast<Transport>(in.next() % 3);
  }
  s.federation = (flags & 0x70) == 0x70;
  s.options.ipv6 = (flags & 0x80) == 0;
  s.options.prefer_ipv6 = (flags & 0x20) != 0 && (flags & 0x10) == 0;
  const std::size_t caps[] = {32, 1, 2, 3, 4, 8};
  const std::uint8_t o = in.next();
  s.options.max_records = caps[o % std::size(caps)];
  s.random_script = in.take(o / 16);
  return s;
}

// Why a run ended: the targets, or the error's kind and reason.
struct Outcome {
  bool ok = false;
  std::vector<Target> targets;
  DnsErrorKind kind = DnsErrorKind::Other;
  std::string reason;
  bool operator==(const Outcome&) const = default;
};

void checkResult(const Setup& s, ResolveResult& r, Outcome& out) {
  const std::vector<std::string>& trace = r ? r->trace : r.error().trace;
  for (const std::string& line : trace) {
    FUZZ_CHECK(printable(line));
  }
  std::string host = s.query.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!r) {
    const DnsError& e = r.error();
    FUZZ_CHECK(!e.reason.empty());
    FUZZ_CHECK(printable(e.reason));
    FUZZ_CHECK(printable(e.name));
    FUZZ_CHECK(printable(e.describe()));
    out.kind = e.kind;
    out.reason = e.reason;
    return;
  }
  out.ok = true;
  out.targets = r->targets;
  const std::vector<Target>& targets = r->targets;
  FUZZ_CHECK(!targets.empty());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const Target& t = targets[i];
    FUZZ_CHECK(isIpLiteral(t.ip));
    FUZZ_CHECK(!t.host.empty());
    FUZZ_CHECK(t.transport == targets.front().transport);
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(!(targets[j] == t));
    }
    if (s.federation) {
      FUZZ_CHECK(t.transport == Transport::Tls);
      FUZZ_CHECK(!t.srv_name.empty());
      continue;
    }
    if (s.query.sips) {
      FUZZ_CHECK(t.transport == Transport::Tls);
    } else if (s.query.transport) {
      FUZZ_CHECK(t.transport == *s.query.transport);
    }
    if (s.query.port) {
      FUZZ_CHECK(t.port == *s.query.port);
      FUZZ_CHECK(t.srv_name.empty());
    }
    if (s.query.numeric_host || isIpLiteral(host)) {
      FUZZ_CHECK(targets.size() == 1);
      FUZZ_CHECK(t.ip == host && t.host == host);
    }
  }
}

Outcome run(const std::uint8_t* data, std::size_t size, bool reverse_srv) {
  Bytes in(data, size);
  const Setup s = carveSetup(in);
  ScriptRandom random(s.random_script);
  Locator loc = s.federation ? Locator::federation(s.query.host, s.options, random)
                             : Locator(s.query, s.options, random);

  std::vector<LookupKey> outstanding;
  std::set<std::pair<std::string, RecordType>> asked;  // handed out so far
  auto collect = [&]() {
    for (LookupKey& k : loc.takeLookups()) {
      FUZZ_CHECK(!loc.done());
      FUZZ_CHECK(sendable(k.name));
      if (k.type == RecordType::A || k.type == RecordType::Aaaa) {
        FUZZ_CHECK(!isIpLiteral(k.name));
      }
      FUZZ_CHECK(asked.emplace(k.name, k.type).second);  // never the same lookup twice
      outstanding.push_back(std::move(k));
    }
  };
  // Feeding what nobody waits for changes nothing.
  auto feedIgnored = [&](const LookupKey& key, const Answer& a) {
    const bool was_done = loc.done();
    loc.feed(key, a);
    FUZZ_CHECK(loc.done() == was_done);
    FUZZ_CHECK(loc.takeLookups().empty());
  };

  collect();
  std::string host = s.query.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!s.federation && (s.query.numeric_host || isIpLiteral(host))) {
    FUZZ_CHECK(loc.done());
    FUZZ_CHECK(outstanding.empty());
  }

  // Bound on the lookups: NAPTR, then per SRV name (NAPTR replacements, or three fallbacks) the
  // SRV lookup and A and AAAA per target, then A and AAAA of the host.
  const std::size_t cap = std::max<std::size_t>(s.options.max_records, 3);
  const std::size_t max_lookups = 1 + cap * (1 + 2 * s.options.max_records) + 2;
  std::size_t answered = 0;
  while (!loc.done()) {
    FUZZ_CHECK(!outstanding.empty());  // waiting on something
    FUZZ_CHECK(answered++ < max_lookups);
    const std::uint8_t op = in.next();
    if (!in.empty() && op % 8 == 7) {
      // An answer to a lookup not outstanding: another type of an outstanding name, or a name
      // from the list.
      LookupKey other{in.next() % 2 == 0 ? outstanding.front().name : name(in),
                      static_cast<RecordType>(in.next() % 4)};
      const bool waited_for =
          std::find(outstanding.begin(), outstanding.end(), other) != outstanding.end();
      if (!waited_for) {
        feedIgnored(other, makeAnswer(in, other));
      }
      --answered;
      continue;
    }
    const std::size_t index = in.next() % outstanding.size();
    const LookupKey key = outstanding[index];
    outstanding.erase(outstanding.begin() + static_cast<std::ptrdiff_t>(index));
    Answer a;
    if (in.empty()) {
      a.status = AnswerStatus::NoData;
      a.ttl = 30;
    } else {
      a = makeAnswer(in, key);
    }
    if (reverse_srv && a.srv.size() <= s.options.max_records) {
      std::reverse(a.srv.begin(), a.srv.end());
    }
    loc.feed(key, a);
    collect();
    if (op % 8 == 6 &&
        std::find(outstanding.begin(), outstanding.end(), key) == outstanding.end()) {
      feedIgnored(key, a);  // the same answer again
    }
  }
  FUZZ_CHECK(loc.takeLookups().empty());
  if (!outstanding.empty()) {
    const LookupKey late = outstanding.front();
    Answer a;
    a.status = AnswerStatus::NxDomain;
    feedIgnored(late, a);
  }
  ResolveResult r = loc.takeResult();
  Outcome out;
  checkResult(s, r, out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Outcome first = run(data, size, false);
  const Outcome reversed = run(data, size, true);
  FUZZ_CHECK(first == reversed);
  return 0;
}
