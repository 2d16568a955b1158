#include <algorithm>

#include "message_parser.h"
#include "scan.h"
#include "sipedge/base/strings.h"
#include "sipedge/sip/message.h"

namespace sipedge::sip {
namespace {

ParseError missing(const Message& msg, std::string_view name) {
  // Point at the end of the header section: where the header should have been.
  std::size_t end = 0;
  for (const Header& h : msg.headers()) {
    end = std::max(end, msg.offsetOf(h.raw) + h.raw.size());
  }
  ParseError e = scan::error(ParseErrorCode::MissingHeader, end, "");
  e.header = std::string(name);
  return e;
}

}  // namespace

Result<void, ParseError> validate(const Message& msg) {
  auto addressable = [&](ParseError e) {
    e.addressable = MessageParser::addressable(msg);
    return fail(std::move(e));
  };
  if (msg.firstError()) {
    return fail(*msg.firstError());
  }
  if (!iequals(msg.version(), "SIP/2.0")) {
    return addressable(scan::error(ParseErrorCode::BadVersion, 0, "only SIP/2.0 is supported"));
  }
  // RFC 3261 8.1.1: To, From, CSeq, Call-ID and Via are mandatory. Max-Forwards is too, but
  // RFC 2543 elements omit it and RFC 4475 3.4.1 asks that such requests be accepted.
  static constexpr HeaderId kMandatory[] = {HeaderId::Via, HeaderId::From, HeaderId::To,
                                            HeaderId::CallId, HeaderId::CSeq};
  for (HeaderId id : kMandatory) {
    if (msg.find(id) == nullptr) {
      return addressable(missing(msg, canonicalName(id)));
    }
  }
  // Single-valued headers appear once (RFC 3261 7.3.1).
  static constexpr HeaderId kSingle[] = {HeaderId::From,        HeaderId::To,
                                         HeaderId::CallId,      HeaderId::CSeq,
                                         HeaderId::MaxForwards, HeaderId::ContentLength};
  for (HeaderId id : kSingle) {
    if (msg.count(id) > 1) {
      std::size_t at = 0;
      for (std::size_t seen = 0; const Header& h : msg.headers()) {
        if (h.id == id && ++seen == 2) {
          at = msg.offsetOf(h.raw);
          break;
        }
      }
      ParseError e =
          scan::error(ParseErrorCode::DuplicateHeader, at, "single-valued header repeated");
      e.header = std::string(canonicalName(id));
      return addressable(std::move(e));
    }
  }
  if (msg.isRequest() && msg.cseq()->method_text != msg.methodText()) {
    return addressable(scan::error(ParseErrorCode::CSeqMethodMismatch,
                                   msg.offsetOf(msg.find(HeaderId::CSeq)->raw), ""));
  }
  return {};
}

}  // namespace sipedge::sip
