#include "sipedge/sip/error.h"

#include <string>

namespace sipedge::sip {
namespace {

struct CodeText {
  std::string_view name;    // short, stable
  std::string_view phrase;  // reason phrase start
};

CodeText textOf(ParseErrorCode code) {
  switch (code) {
    case ParseErrorCode::Empty: return {"empty", "Empty message"};
    case ParseErrorCode::MessageTooLarge: return {"message-too-large", "Message too large"};
    case ParseErrorCode::HeaderSectionIncomplete:
      return {"header-section-incomplete", "Header section not terminated"};
    case ParseErrorCode::StartLineTooLong: return {"start-line-too-long", "Start line too long"};
    case ParseErrorCode::BadStartLine: return {"bad-start-line", "Malformed start line"};
    case ParseErrorCode::BadMethod: return {"bad-method", "Malformed method"};
    case ParseErrorCode::BadRequestUri: return {"bad-request-uri", "Malformed Request-URI"};
    case ParseErrorCode::BadVersion: return {"bad-version", "Unsupported SIP version"};
    case ParseErrorCode::BadStatusCode: return {"bad-status-code", "Malformed status code"};
    case ParseErrorCode::BadReasonPhrase: return {"bad-reason-phrase", "Malformed reason phrase"};
    case ParseErrorCode::BadHeaderLine: return {"bad-header-line", "Malformed header line"};
    case ParseErrorCode::BadHeaderName: return {"bad-header-name", "Malformed header name"};
    case ParseErrorCode::HeaderTooLong: return {"header-too-long", "Header too long"};
    case ParseErrorCode::TooManyHeaders: return {"too-many-headers", "Too many headers"};
    case ParseErrorCode::TooManyVias: return {"too-many-vias", "Too many Via headers"};
    case ParseErrorCode::BadHeaderValue: return {"bad-header-value", "Malformed header"};
    case ParseErrorCode::BadUri: return {"bad-uri", "Malformed URI"};
    case ParseErrorCode::BadVia: return {"bad-via", "Malformed Via"};
    case ParseErrorCode::BadNameAddr: return {"bad-name-addr", "Malformed address"};
    case ParseErrorCode::BadCSeq: return {"bad-cseq", "Malformed CSeq"};
    case ParseErrorCode::BadCallId: return {"bad-call-id", "Malformed Call-ID"};
    case ParseErrorCode::BadMaxForwards: return {"bad-max-forwards", "Malformed Max-Forwards"};
    case ParseErrorCode::BadContentLength:
      return {"bad-content-length", "Malformed Content-Length"};
    case ParseErrorCode::DuplicateHeader: return {"duplicate-header", "Duplicate header"};
    case ParseErrorCode::BodyTruncated:
      return {"body-truncated", "Body shorter than Content-Length"};
    case ParseErrorCode::BodyTooLarge: return {"body-too-large", "Body too large"};
    case ParseErrorCode::MissingContentLength:
      return {"missing-content-length", "Missing Content-Length"};
    case ParseErrorCode::MissingHeader: return {"missing-header", "Missing mandatory header"};
    case ParseErrorCode::CSeqMethodMismatch:
      return {"cseq-method-mismatch", "CSeq method does not match request method"};
    case ParseErrorCode::BadQuotedString:
      return {"bad-quoted-string", "Unterminated quoted string"};
    case ParseErrorCode::BadParam: return {"bad-param", "Malformed parameter"};
  }
  return {"unknown", "Malformed message"};
}

// Header names come from the peer: keep only token characters so the phrase stays clean.
std::string sanitized(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.') {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string_view errorCodeName(ParseErrorCode code) {
  return textOf(code).name;
}

std::string ParseError::reason() const {
  std::string out(textOf(code).phrase);
  const std::string h = sanitized(header);
  if (!h.empty() && code != ParseErrorCode::BadVia && code != ParseErrorCode::BadCSeq &&
      code != ParseErrorCode::BadCallId && code != ParseErrorCode::BadMaxForwards &&
      code != ParseErrorCode::BadContentLength) {
    out += " (";
    out += h;
    out += ')';
  }
  if (detail != nullptr && *detail != '\0') {
    out += ": ";
    out += detail;
  }
  return out;
}

std::string ParseError::describe() const {
  return "error at byte " + std::to_string(offset) + ": " + reason();
}

}  // namespace sipedge::sip
