// Fuzz target: the registrar (b2bua::planRegister + applyRegister) over a sequence of REGISTERs
// and a few existing bindings, all carved from a text input so that the seeds stay readable:
//
//   @config MIN MAX DEFAULT MAX_CONTACTS        optional; registrar settings (defaults otherwise)
//   @third REGISTRANT AOR                       optional, repeated; config.third_party entries
//   @binding URI CALL-ID CSEQ Q EXPIRES-IN [INSTANCE [REG-ID]]
//                                               optional, repeated; bindings the first AOR has
//   REGISTER ...                                a SIP message
//   =====                                       then more messages, one per segment (up to 8),
//   REGISTER ...                                each 30 s after the previous one
//
// Every AOR's bindings are kept in a map, as the store would, so later REGISTERs refresh,
// replace and remove what earlier ones wrote.
//
// Properties:
//  - a refused plan is a 4xx/5xx with no CR or LF in its reason or headers; an accepted one has an
//    AOR "user@host", a wildcard only without contacts, every expiry 0 or within [min, max],
//    every q within 0..1000;
//  - every reply's status is 200..699 and no header value or reason holds CR or LF;
//  - an error leaves the bindings untouched and `changed` false; a query never changes them;
//  - after a 200: at most max(max_contacts, bindings before) bindings, none expired, none with
//    expires 0, every one of the plan's AOR, in sortForUse order, one Contact header each, one
//    Date header; the plan's last Contact, when its expiry is nonzero, is bound with it;
//  - applyRegister is pure: the same plan on the same bindings gives the same reply and result;
//    re-applying a plan whose binding is still there is refused by the CSeq rule (500).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "sipedge/b2bua/registrar.h"
#include "sipedge/base/strings.h"
#include "sipedge/location/location.h"
#include "sipedge/sip/message.h"

namespace {

using namespace sipedge;
using namespace sipedge::b2bua;

constexpr std::string_view kSeparator = "=====";
constexpr std::size_t kMaxMessages = 8;
constexpr std::size_t kMaxBindings = 16;

bool hasCrLf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

void checkReplyText(const RegistrarReply& r) {
  FUZZ_CHECK(r.status >= 200 && r.status <= 699);
  FUZZ_CHECK(!hasCrLf(r.reason));
  for (const auto& [name, value] : r.headers) {
    FUZZ_CHECK(!name.empty() && !hasCrLf(name));
    FUZZ_CHECK(!hasCrLf(value));
  }
}

std::size_t countHeaders(const RegistrarReply& r, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(r.headers.begin(), r.headers.end(),
                                                [name](const auto& h) { return h.first == name; }));
}

std::optional<std::uint32_t> number(const std::string& s) {
  auto v = parseDecimal(s, 0xffffffffULL);
  return v ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*v)) : std::nullopt;
}

// The "@..." lines at the start of the input; returns where the messages begin.
std::size_t readDirectives(std::string_view input, config::RegistrarConfig& config,
                           std::vector<location::Binding>& seed, location::UnixSeconds now) {
  std::size_t pos = 0;
  while (pos < input.size() && input[pos] == '@') {
    std::size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) {
      end = input.size();
    }
    std::istringstream line(std::string(input.substr(pos, end - pos)));
    pos = std::min(end + 1, input.size());
    std::string word;
    line >> word;
    std::vector<std::string> args;
    for (std::string a; line >> a;) {
      args.push_back(a);
    }
    if (word == "@config" && args.size() == 4) {
      const auto min = number(args[0]);
      const auto max = number(args[1]);
      const auto def = number(args[2]);
      const auto contacts = number(args[3]);
      if (min && max && def && contacts) {
        config.min_expires = *min;
        config.max_expires = *max;
        config.default_expires = *def;
        config.max_contacts = std::min<std::uint32_t>(*contacts, 64);
      }
    } else if (word == "@third" && args.size() == 2 && config.third_party.size() < 8) {
      config.third_party.push_back({args[0], {args[1]}});
    } else if (word == "@binding" && args.size() >= 5 && seed.size() < kMaxBindings) {
      const auto cseq = number(args[2]);
      const auto q = number(args[3]);
      const auto expires_in = number(args[4]);
      if (!cseq || !q || *q > 1000 || !expires_in) {
        continue;
      }
      location::Binding b;
      b.contact = args[0];
      b.call_id = args[1];
      b.cseq = *cseq;
      b.q = static_cast<std::uint16_t>(*q);
      b.expires = now + *expires_in;  // 0: an expired binding the store should not have passed
      b.instance = args.size() > 5 ? args[5] : "";
      b.reg_id = args.size() > 6 ? number(args[6]).value_or(0) : 0;
      b.updated = now - 1;
      seed.push_back(std::move(b));
    }
  }
  return pos;
}

std::vector<std::string_view> splitMessages(std::string_view rest) {
  std::vector<std::string_view> out;
  while (out.size() < kMaxMessages) {
    const std::size_t at = rest.find(kSeparator);
    if (at == std::string_view::npos) {
      out.push_back(rest);
      break;
    }
    out.push_back(rest.substr(0, at));
    rest.remove_prefix(at + kSeparator.size());
    while (!rest.empty() && (rest.front() == '\r' || rest.front() == '\n')) {
      rest.remove_prefix(1);
    }
  }
  return out;
}

void checkPlan(const RegisterPlan& plan, const config::RegistrarConfig& config) {
  FUZZ_CHECK(!plan.aor.empty());
  FUZZ_CHECK(plan.aor.find('@') != std::string::npos);
  FUZZ_CHECK(aorOf(plan) == plan.aor);
  FUZZ_CHECK(!plan.wildcard || plan.contacts.empty());
  FUZZ_CHECK(plan.isQuery() == (!plan.wildcard && plan.contacts.empty()));
  for (const ContactPlan& c : plan.contacts) {
    FUZZ_CHECK(!c.uri.empty());
    FUZZ_CHECK(c.q <= 1000);
    FUZZ_CHECK(c.expires == 0 || c.expires <= config.max_expires);
    FUZZ_CHECK(c.expires == 0 || c.expires >= std::min(config.min_expires, config.max_expires));
    FUZZ_CHECK(c.reg_id == 0 || !c.instance.empty());
  }
}

void checkApplied(const RegisterPlan& plan, const std::vector<location::Binding>& before,
                  const std::vector<location::Binding>& after, const RegistrarReply& r,
                  bool changed, location::UnixSeconds now, const config::RegistrarConfig& config) {
  checkReplyText(r);
  if (r.status != 200 || plan.isQuery()) {
    FUZZ_CHECK(after == before);
    FUZZ_CHECK(!changed);
  }
  if (r.status != 200) {
    FUZZ_CHECK(r.status == 403 || r.status == 500);
    return;
  }
  FUZZ_CHECK(changed == (after != before));
  std::size_t unexpired_before = 0;
  for (const location::Binding& b : before) {
    unexpired_before += b.expires > now ? 1 : 0;
  }
  if (!plan.isQuery()) {
    FUZZ_CHECK(after.size() <= std::max<std::size_t>(config.max_contacts, unexpired_before));
  }
  for (const location::Binding& b : after) {
    // A query leaves the list as it was given (the store never passes expired bindings; the
    // seed may), and lists only the unexpired ones.
    FUZZ_CHECK(b.expires > now || plan.isQuery());
    FUZZ_CHECK(b.aor == plan.aor);
  }
  std::vector<location::Binding> sorted = after;
  location::sortForUse(sorted);
  FUZZ_CHECK(sorted == after);
  FUZZ_CHECK(countHeaders(r, "Date") == 1);
  FUZZ_CHECK(countHeaders(r, "Path") == plan.path.size());
  if (plan.isQuery()) {
    FUZZ_CHECK(countHeaders(r, "Contact") == unexpired_before);
  } else {
    FUZZ_CHECK(countHeaders(r, "Contact") == after.size());
    // The last Contact, when it has a nonzero expiry: nothing after it can undo it (an earlier
    // one may be removed by a later Contact that matches it).
    if (!plan.contacts.empty() && plan.contacts.back().expires != 0) {
      const ContactPlan& c = plan.contacts.back();
      FUZZ_CHECK(std::any_of(after.begin(), after.end(), [&](const location::Binding& b) {
        return b.contact == c.uri && b.instance == c.instance && b.reg_id == c.reg_id &&
               b.expires == now + c.expires && b.call_id == plan.call_id && b.cseq == plan.cseq;
      }));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  location::UnixSeconds now = 1700000000;
  config::RegistrarConfig config;
  std::vector<location::Binding> seed;
  const std::size_t start = readDirectives(input, config, seed, now);
  const std::vector<std::string> served = {"example.com", "example.org", "192.0.2.10"};
  const RegisterSource source{"udp:192.0.2.1:5060", false, "fuzz"};

  std::map<std::string, std::vector<location::Binding>> store;
  bool seeded = false;
  for (std::string_view text : splitMessages(input.substr(start))) {
    auto msg = sip::parseMessage(text, sip::ParseOptions{});
    if (!msg) {
      continue;
    }
    const auto plan = planRegister(*msg, served, config, source);
    if (!plan) {
      checkReplyText(plan.error());
      FUZZ_CHECK(plan.error().status >= 400 && plan.error().status <= 599);
      continue;
    }
    checkPlan(*plan, config);
    std::vector<location::Binding>& bindings = store[plan->aor];
    if (!seeded) {
      seeded = true;
      for (location::Binding b : seed) {
        b.aor = plan->aor;
        bindings.push_back(std::move(b));
      }
      location::sortForUse(bindings);
    }
    const std::vector<location::Binding> before = bindings;
    bool changed = true;
    const RegistrarReply r = applyRegister(*plan, bindings, now, config, changed);
    checkApplied(*plan, before, bindings, r, changed, now, config);

    // Pure: the same plan on the same bindings gives the same answer.
    std::vector<location::Binding> again = before;
    bool changed_again = false;
    FUZZ_CHECK(applyRegister(*plan, again, now, config, changed_again) == r);
    FUZZ_CHECK(again == bindings && changed_again == changed);

    // Replayed, a plan whose binding is still there meets its own Call-ID and CSeq.
    const bool wrote =
        r.status == 200 && std::any_of(bindings.begin(), bindings.end(), [&](const auto& b) {
          return b.call_id == plan->call_id && b.cseq == plan->cseq && b.updated == now;
        });
    if (wrote) {
      std::vector<location::Binding> replay = bindings;
      bool changed_replay = true;
      const RegistrarReply rr = applyRegister(*plan, replay, now, config, changed_replay);
      FUZZ_CHECK(rr.status == 500);
      FUZZ_CHECK(replay == bindings && !changed_replay);
    }
    // The store drops expired bindings before the next request.
    now += 30;
    for (auto& [aor, list] : store) {
      std::erase_if(list, [now](const location::Binding& b) { return b.expires <= now; });
    }
  }
  return 0;
}
