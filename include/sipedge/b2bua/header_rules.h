#pragma once

// Which headers of a message cross from one leg to the other (topology hiding by an explicit rule
// set, not by accident). The B2BUA builds every request and response it sends itself: Via, From,
// To, Call-ID, CSeq, Contact, Max-Forwards, Route, Record-Route, Content-Length, RAck, Refer-To,
// Referred-By and P-Asserted-Identity are always its own (rebuilt or mapped). Of the rest, a
// header passes only when the rule set says so; everything else (unknown headers, X-*, Warning,
// Reason, Replaces, Alert-Info, Call-Info, credentials, ...) is dropped.

#include <array>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "sipedge/sip/message.h"

namespace sipedge::b2bua {

class HeaderRules {
 public:
  // The defaults, plus `pass` (lower-case names), minus `drop`; User-Agent and Server pass only
  // with `pass_user_agent`.
  HeaderRules(const std::vector<std::string>& pass, const std::vector<std::string>& drop,
              bool pass_user_agent);
  HeaderRules() : HeaderRules({}, {}, false) {}

  // `name` as written (any case, compact forms included).
  bool passes(std::string_view name) const;
  // The same for a parsed header: a table lookup for the headers sip knows by id.
  bool passes(const sip::Header& header) const {
    return header.id == sip::HeaderId::Other ? passes(header.name)
                                             : known_[static_cast<std::size_t>(header.id)];
  }

  // The default pass list, lower-case canonical names.
  static const std::vector<std::string_view>& defaults();

 private:
  std::unordered_set<std::string> pass_;
  std::array<bool, 256> known_{};  // by sip::HeaderId
};

}  // namespace sipedge::b2bua
