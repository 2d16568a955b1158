#include "sipedge/b2bua/registrar.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>

#include "sipedge/base/strings.h"
#include "sipedge/sip/headers.h"

namespace sipedge::b2bua {

namespace {

RegistrarReply reply(int status, std::string reason = {}) {
  RegistrarReply r;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

tl::unexpected<RegistrarReply> refuse(int status, std::string reason = {}) {
  return fail(reply(status, std::move(reason)));
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char l = asciiLower(c);
  if (l >= 'a' && l <= 'f') {
    return l - 'a' + 10;
  }
  return -1;
}

bool unreserved(char c) {
  return asciiAlpha(c) || (c >= '0' && c <= '9') ||
         std::string_view("-_.!~*'()").find(c) != std::string_view::npos;
}

// RFC 3986 2.3-style normalization: escapes of unreserved characters are decoded (they compare
// equal to the character, RFC 3261 19.1.4), other escapes keep upper-case hex.
std::string normalizeUser(std::string_view user) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(user.size());
  for (std::size_t i = 0; i < user.size(); ++i) {
    if (user[i] == '%' && i + 2 < user.size() && hexValue(user[i + 1]) >= 0 &&
        hexValue(user[i + 2]) >= 0) {
      const char c = static_cast<char>(hexValue(user[i + 1]) * 16 + hexValue(user[i + 2]));
      if (unreserved(c)) {
        out.push_back(c);
      } else {
        out.push_back('%');
        out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
        out.push_back(kHex[static_cast<unsigned char>(c) & 0xF]);
      }
      i += 2;
    } else {
      out.push_back(user[i]);
    }
  }
  return out;
}

std::string hostKey(std::string_view host) {
  std::string h = toLower(host);
  if (h.size() > 1 && h.back() == '.') {
    h.pop_back();
  }
  return h;
}

std::string unescapedOrRaw(std::string_view s) {
  auto d = percentDecode(s);
  return d ? std::move(*d) : std::string(s);
}

// "user@domain" or "*@domain" (config.third_party) against an AOR key.
bool entryMatches(std::string_view entry, std::string_view aor) {
  const auto e_at = entry.rfind('@');
  const auto a_at = aor.rfind('@');
  if (e_at == std::string_view::npos || a_at == std::string_view::npos) {
    return false;
  }
  const std::string_view e_user = entry.substr(0, e_at);
  if (hostKey(entry.substr(e_at + 1)) != aor.substr(a_at + 1)) {
    return false;
  }
  return e_user == "*" || normalizeUser(e_user) == aor.substr(0, a_at);
}

bool thirdPartyAllowed(const config::RegistrarConfig& config, std::string_view from_aor,
                       std::string_view to_aor) {
  for (const auto& tp : config.third_party) {
    if (!entryMatches(tp.registrant, from_aor)) {
      continue;
    }
    for (const std::string& aor : tp.aors) {
      if (entryMatches(aor, to_aor)) {
        return true;
      }
    }
  }
  return false;
}

// A quoted-string's content: '"' and '\' escaped.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

location::UnixSeconds addSeconds(location::UnixSeconds now, std::uint32_t seconds) {
  constexpr auto kMax = std::numeric_limits<location::UnixSeconds>::max();
  return now > kMax - seconds ? kMax : now + seconds;
}

// RFC 5626 6: the contact matches the binding (see the header).
bool matches(const ContactPlan& c, const location::Binding& b) {
  if (!c.instance.empty() && !b.instance.empty()) {
    if (!iequals(c.instance, b.instance)) {
      return false;
    }
    return c.reg_id == 0 || b.reg_id == 0 || c.reg_id == b.reg_id;
  }
  return sameUri(c.uri, b.contact);
}

location::Binding makeBinding(const RegisterPlan& plan, const ContactPlan& c,
                              location::UnixSeconds now) {
  location::Binding b;
  b.aor = plan.aor;
  b.contact = c.uri;
  b.q = c.q;
  b.expires = addSeconds(now, c.expires);
  b.call_id = plan.call_id;
  b.cseq = plan.cseq;
  b.instance = c.instance;
  b.reg_id = c.reg_id;
  b.path = plan.path;
  b.received = plan.source.received;
  b.external = plan.source.external;
  b.user_agent = plan.source.user_agent;
  b.updated = now;
  return b;
}

// RFC 3261 10.3 step 7: a binding last written by this Call-ID with this or a higher CSeq.
bool outOfOrder(const RegisterPlan& plan, const location::Binding& b) {
  return b.call_id == plan.call_id && plan.cseq <= b.cseq;
}

RegistrarReply okReply(const RegisterPlan& plan, const std::vector<location::Binding>& bindings,
                       location::UnixSeconds now) {
  RegistrarReply r = reply(200);
  for (const location::Binding& b : bindings) {
    r.headers.emplace_back("Contact", contactValue(b, now));
  }
  for (const std::string& p : plan.path) {
    r.headers.emplace_back("Path", p);
  }
  r.headers.emplace_back("Date", httpDate(now));
  return r;
}

Result<ContactPlan, RegistrarReply> planContact(const sip::NameAddr& na,
                                                std::optional<std::uint32_t> header_expires,
                                                const config::RegistrarConfig& config) {
  ContactPlan c;
  c.uri = std::string(na.uri.text);
  std::uint32_t expires = header_expires.value_or(config.default_expires);
  if (na.params.has("expires")) {
    const auto e = na.expires();
    if (!e) {
      return refuse(400, "Invalid Contact Expires");
    }
    expires = *e;
  }
  if (na.params.has("q")) {
    const auto q = na.qMilli();
    if (!q) {
      return refuse(400, "Invalid Contact q Value");
    }
    c.q = *q;
  }
  if (const auto inst = na.params.get("+sip.instance")) {
    c.instance =
        (!inst->empty() && inst->front() == '"') ? sip::unquote(*inst) : std::string(*inst);
    if (c.instance.empty()) {
      return refuse(400, "Invalid +sip.instance");
    }
  }
  if (const auto reg = na.params.get("reg-id")) {
    const auto n = parseDecimal(*reg, 0x7fffffffULL);  // RFC 5626 13: 1 to 2^31-1
    if (!n || *n == 0) {
      return refuse(400, "Invalid reg-id");
    }
    // Without an instance, reg-id is ignored (RFC 5626 6: RFC 3261 rules apply).
    c.reg_id = c.instance.empty() ? 0 : static_cast<std::uint32_t>(*n);
  }
  if (expires != 0 && expires < config.min_expires) {
    RegistrarReply r = reply(423);
    r.headers.emplace_back("Min-Expires", std::to_string(config.min_expires));
    return fail(std::move(r));
  }
  c.expires = std::min(expires, config.max_expires);
  return c;
}

}  // namespace

Result<RegisterPlan, RegistrarReply> planRegister(const sip::Message& request,
                                                  std::span<const std::string> served_domains,
                                                  const config::RegistrarConfig& config,
                                                  const RegisterSource& source) {
  if (!request.isRequest() || request.method() != sip::Method::Register) {
    return refuse(400, "Not A REGISTER Request");
  }
  if (request.to() == nullptr) {
    return refuse(400, "Missing To");
  }
  if (request.from() == nullptr) {
    return refuse(400, "Missing From");
  }
  if (request.callId().empty()) {
    return refuse(400, "Missing Call-ID");
  }
  if (!request.cseq()) {
    return refuse(400, "Missing CSeq");
  }
  RegisterPlan plan;
  plan.call_id = std::string(request.callId());
  plan.cseq = request.cseq()->number;
  plan.source = source;

  // Step 1: the Request-URI names a domain we serve.
  const sip::Uri& ruri = request.requestUri();
  if (!ruri.isSip()) {
    return refuse(416);
  }
  if (!ruri.user.empty() || ruri.has_password) {
    return refuse(400, "Request-URI Must Not Have A User Part");
  }
  plan.domain = hostKey(ruri.host);
  if (std::find(served_domains.begin(), served_domains.end(), plan.domain) ==
      served_domains.end()) {
    return refuse(404, "Domain Not Served");
  }

  // Step 2: Require (RFC 3261 8.2.2.3); we support Path (RFC 3327).
  const auto require = request.tokens(sip::HeaderId::Require);
  if (!require) {
    return refuse(400, require.error().reason());
  }
  std::string unsupported;
  std::vector<std::string_view> listed;
  for (std::string_view option : *require) {
    if (iequals(option, "path") ||
        std::any_of(listed.begin(), listed.end(),
                    [option](std::string_view o) { return iequals(o, option); })) {
      continue;
    }
    listed.push_back(option);
    unsupported += unsupported.empty() ? "" : ", ";
    unsupported += option;
  }
  if (!unsupported.empty()) {
    RegistrarReply r = reply(420);
    r.headers.emplace_back("Unsupported", std::move(unsupported));
    return fail(std::move(r));
  }

  // Step 5 (before 4, which needs the AOR): To is an AOR of that domain.
  const sip::Uri& to = request.to()->uri;
  if (!to.isSip()) {
    return refuse(416, "Address-Of-Record Must Be A SIP URI");
  }
  if (to.user.empty()) {
    return refuse(404, "Address-Of-Record Must Have A User Part");
  }
  if (hostKey(to.host) != plan.domain) {
    return refuse(404, "Address-Of-Record Not In Domain");
  }
  plan.aor = aorKey(to);

  // Step 4: third-party registration only where the config allows it.
  plan.from_aor = aorKey(request.from()->uri);
  if (plan.from_aor != plan.aor && !thirdPartyAllowed(config, plan.from_aor, plan.aor)) {
    return refuse(403, "Third-Party Registration Not Allowed");
  }

  // Step 6: the Contacts and their expiry.
  const auto header_expires = request.expires();
  if (!header_expires) {
    return refuse(400, header_expires.error().reason());
  }
  if (request.contactStar()) {
    if (!request.contacts().empty() || request.count(sip::HeaderId::Contact) > 1) {
      return refuse(400, "Wildcard Contact Must Be Alone");
    }
    if (!*header_expires || **header_expires != 0) {
      return refuse(400, "Wildcard Contact Requires Expires: 0");
    }
    plan.wildcard = true;
  }
  int with_reg_id = 0;
  for (const sip::NameAddr& na : request.contacts()) {
    auto c = planContact(na, *header_expires, config);
    if (!c) {
      return fail(std::move(c.error()));
    }
    if (c->reg_id != 0 && c->expires != 0 && ++with_reg_id > 1) {
      return refuse(400, "Multiple Contacts With reg-id");  // RFC 5626 6
    }
    plan.contacts.push_back(std::move(*c));
  }

  // RFC 3327 5.3: the Path is stored with the bindings and echoed in the 200.
  const auto paths = request.paths();
  if (!paths) {
    return refuse(400, paths.error().reason());
  }
  for (const sip::NameAddr& p : *paths) {
    std::string value = "<";
    value += p.uri.text;
    value += '>';
    value += p.params.raw();
    plan.path.push_back(std::move(value));
  }
  return plan;
}

RegistrarReply applyRegister(const RegisterPlan& plan, std::vector<location::Binding>& bindings,
                             location::UnixSeconds now, const config::RegistrarConfig& config,
                             bool& changed) {
  changed = false;
  std::vector<location::Binding> next;
  for (const location::Binding& b : bindings) {
    if (b.expires > now) {
      next.push_back(b);
    }
  }
  if (plan.isQuery()) {
    location::sortForUse(next);
    return okReply(plan, next, now);
  }
  const std::size_t before = next.size();

  if (plan.wildcard) {
    for (const location::Binding& b : next) {
      if (outOfOrder(plan, b)) {
        return reply(500, "Out-of-Order CSeq");
      }
    }
    next.clear();
  }
  // Bindings written by this request (later Contacts may replace them without the CSeq rule).
  std::vector<bool> written(next.size(), false);
  for (const ContactPlan& c : plan.contacts) {
    std::vector<bool> keep(next.size(), true);
    for (std::size_t i = 0; i < next.size(); ++i) {
      if (!matches(c, next[i])) {
        continue;
      }
      if (!written[i] && outOfOrder(plan, next[i])) {
        return reply(500, "Out-of-Order CSeq");
      }
      keep[i] = false;
    }
    std::vector<location::Binding> kept;
    std::vector<bool> kept_written;
    for (std::size_t i = 0; i < next.size(); ++i) {
      if (keep[i]) {
        kept.push_back(std::move(next[i]));
        kept_written.push_back(written[i]);
      }
    }
    next = std::move(kept);
    written = std::move(kept_written);
    if (c.expires != 0) {
      next.push_back(makeBinding(plan, c, now));
      written.push_back(true);
    }
  }
  if (next.size() > config.max_contacts && next.size() > before) {
    return reply(403, "Too Many Contacts");
  }
  location::sortForUse(next);
  changed = next != bindings;
  bindings = std::move(next);
  return okReply(plan, bindings, now);
}

std::string contactValue(const location::Binding& b, location::UnixSeconds now) {
  std::string out = "<" + b.contact + ">";
  if (b.q < 1000) {
    out += ";q=" + location::formatQ(b.q);
  }
  out += ";expires=" + std::to_string(b.expires > now ? b.expires - now : 0);
  if (!b.instance.empty()) {
    out += ";+sip.instance=" + quote(b.instance);
    if (b.reg_id != 0) {
      out += ";reg-id=" + std::to_string(b.reg_id);
    }
  }
  return out;
}

bool sameUri(const sip::Uri& a, const sip::Uri& b) {
  if (!a.isSip() || !b.isSip()) {
    return sip::uriEquivalent(a, b);
  }
  if (a.scheme != b.scheme || unescapedOrRaw(a.user) != unescapedOrRaw(b.user) ||
      a.has_password != b.has_password ||
      unescapedOrRaw(a.password) != unescapedOrRaw(b.password) || !iequals(a.host, b.host) ||
      a.port != b.port || a.headers != b.headers) {
    return false;
  }
  static constexpr std::array<std::string_view, 5> kMustMatch = {"transport", "user", "method",
                                                                 "ttl", "maddr"};
  for (std::string_view name : kMustMatch) {
    const auto va = a.params.get(name);
    const auto vb = b.params.get(name);
    if (va.has_value() != vb.has_value() ||
        (va && toLower(unescapedOrRaw(*va)) != toLower(unescapedOrRaw(*vb)))) {
      return false;
    }
  }
  return true;
}

bool sameUri(std::string_view a, std::string_view b) {
  const auto ua = sip::parseUri(a);
  const auto ub = sip::parseUri(b);
  return ua && ub && sameUri(*ua, *ub);
}

std::string aorKey(const sip::Uri& uri) {
  if (!uri.isSip() || uri.user.empty()) {
    return {};
  }
  return normalizeUser(uri.user) + "@" + hostKey(uri.host);
}

std::string httpDate(location::UnixSeconds t) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Floor division, so that times before 1970 work too.
  std::int64_t days = t / 86400;
  std::int64_t secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  // Howard Hinnant's civil_from_days.
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const std::int64_t weekday = ((days % 7) + 11) % 7;  // 1970-01-01 was a Thursday

  auto two = [](std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  std::string y = std::to_string(year);
  if (year >= 0 && y.size() < 4) {
    y.insert(0, 4 - y.size(), '0');
  }
  std::string out;
  out += kDays[static_cast<std::size_t>(weekday)];
  out += ", " + two(day) + " ";
  out += kMonths[static_cast<std::size_t>(month - 1)];
  out +=
      " " + y + " " + two(secs / 3600) + ":" + two(secs / 60 % 60) + ":" + two(secs % 60) + " GMT";
  return out;
}

}  // namespace sipedge::b2bua
