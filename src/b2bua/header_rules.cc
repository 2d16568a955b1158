#include "sipedge/b2bua/header_rules.h"

#include "sipedge/base/strings.h"
#include "sipedge/sip/headers.h"

namespace sipedge::b2bua {

namespace {

// Lower-case canonical name; compact forms expanded ("c" -> "content-type").
std::string normalize(std::string_view name) {
  const sip::HeaderId id = sip::headerIdFromName(name);
  if (id != sip::HeaderId::Other) {
    return toLower(sip::canonicalName(id));
  }
  return toLower(name);
}

}  // namespace

const std::vector<std::string_view>& HeaderRules::defaults() {
  static const std::vector<std::string_view> list = {
      // the body and what describes it
      "content-type", "content-disposition", "content-encoding", "content-language", "mime-version",
      // capabilities and extensions
      "accept", "accept-encoding", "accept-language", "allow", "allow-events", "supported",
      "require", "proxy-require", "unsupported",
      // what the request or response is about
      "subject", "priority", "date", "timestamp", "privacy",
      // events (RFC 6665) and REFER (RFC 3515, 4488)
      "event", "subscription-state", "refer-sub",
      // timers and expiry (RFC 3261, 4028, 3262)
      "expires", "min-expires", "retry-after", "session-expires", "min-se", "rseq"};
  return list;
}

HeaderRules::HeaderRules(const std::vector<std::string>& pass, const std::vector<std::string>& drop,
                         bool pass_user_agent) {
  for (std::string_view name : defaults()) {
    pass_.insert(std::string(name));
  }
  for (const std::string& name : pass) {
    pass_.insert(normalize(name));
  }
  if (pass_user_agent) {
    pass_.insert("user-agent");
    pass_.insert("server");
  }
  for (const std::string& name : drop) {
    pass_.erase(normalize(name));
  }
  for (std::size_t i = 1; i < known_.size(); ++i) {
    const std::string_view canonical = sip::canonicalName(static_cast<sip::HeaderId>(i));
    known_[i] = !canonical.empty() && pass_.contains(toLower(canonical));
  }
}

bool HeaderRules::passes(std::string_view name) const {
  return pass_.contains(normalize(name));
}

}  // namespace sipedge::b2bua
