#include "sipedge/txn/key.h"

#include <charconv>

#include "sipedge/base/strings.h"

namespace sipedge::txn {
namespace {

constexpr std::string_view kMagicCookie = "z9hG4bK";

void append(std::string& out, std::string_view part) {
  out += part;
  out += '\x1f';  // unit separator: cannot occur in any SIP token or URI
}

void appendSentBy(std::string& out, const sip::Via& via) {
  for (char c : via.host) {
    out += asciiLower(c);  // host names compare case-insensitively
  }
  out += ':';
  if (via.port) {
    char digits[8];
    const auto end = std::to_chars(digits, digits + sizeof digits, *via.port).ptr;
    out.append(digits, end);
  }
  out += '\x1f';
}

Key finished(Key key) {
  key.hash = std::hash<std::string_view>()(key.text);
  return key;
}

std::optional<Key> keyFor(const sip::Message& m, std::string_view method) {
  if (m.vias().empty() || !m.cseq()) {
    return std::nullopt;
  }
  const sip::Via& top = m.vias().front();
  Key key;
  if (isRfc3261Branch(top.branch)) {
    // 17.2.3: branch, sent-by and method.
    key.text.reserve(top.branch.size() + top.host.size() + 24);
    append(key.text, "3261");
    append(key.text, top.branch);
    appendSentBy(key.text, top);
    append(key.text, method);
    return finished(std::move(key));
  }
  // RFC 2543 fallback.
  append(key.text, "2543");
  append(key.text, m.isRequest() ? sip::toString(m.requestUri()) : std::string());
  append(key.text, m.from() != nullptr ? m.from()->tag : std::string_view());
  const bool invite_or_ack = method == "INVITE";
  append(key.text, (invite_or_ack || m.to() == nullptr) ? std::string_view() : m.to()->tag);
  append(key.text, m.callId());
  append(key.text, std::to_string(m.cseq()->number));
  append(key.text, top.text);
  append(key.text, method);
  return finished(std::move(key));
}

}  // namespace

bool isRfc3261Branch(std::string_view branch) {
  return branch.size() > kMagicCookie.size() &&
         branch.substr(0, kMagicCookie.size()) == kMagicCookie;
}

std::optional<Key> serverKey(const sip::Message& request) {
  if (!request.isRequest()) {
    return std::nullopt;
  }
  const std::string_view method =
      request.method() == sip::Method::Ack ? std::string_view("INVITE") : request.methodText();
  return keyFor(request, method);
}

std::optional<Key> cancelledInviteKey(const sip::Message& cancel) {
  if (!cancel.isRequest() || cancel.method() != sip::Method::Cancel) {
    return std::nullopt;
  }
  return keyFor(cancel, "INVITE");
}

std::optional<Key> clientKey(const sip::Message& response) {
  if (response.vias().empty() || !response.cseq() || response.vias().front().branch.empty()) {
    return std::nullopt;
  }
  return clientKeyOf(response.vias().front().branch, response.cseq()->method_text);
}

Key clientKeyOf(std::string_view branch, std::string_view method) {
  Key key;
  key.text.reserve(branch.size() + method.size() + 2);
  append(key.text, branch);
  append(key.text, method);
  return finished(std::move(key));
}

std::optional<Key> clientKeyOfRequest(const sip::Message& request) {
  if (!request.isRequest()) {
    return std::nullopt;
  }
  return clientKey(request);
}

}  // namespace sipedge::txn
