#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sipedge::sip {

// Why a message, URI or header value was rejected. Each code maps to a precise reason phrase
// that a 400 response carries (STYLE S21).
enum class ParseErrorCode : std::uint8_t {
  Empty,
  MessageTooLarge,
  HeaderSectionIncomplete,
  StartLineTooLong,
  BadStartLine,
  BadMethod,
  BadRequestUri,
  BadVersion,
  BadStatusCode,
  BadReasonPhrase,
  BadHeaderLine,
  BadHeaderName,
  HeaderTooLong,
  TooManyHeaders,
  TooManyVias,
  BadHeaderValue,
  BadUri,
  BadVia,
  BadNameAddr,
  BadCSeq,
  BadCallId,
  BadMaxForwards,
  BadContentLength,
  DuplicateHeader,
  BodyTruncated,
  BodyTooLarge,
  MissingContentLength,
  MissingHeader,
  CSeqMethodMismatch,
  BadQuotedString,
  BadParam,
};

struct ParseError {
  ParseErrorCode code = ParseErrorCode::Empty;
  // Byte offset into the input where the problem was found.
  std::size_t offset = 0;
  // The header the problem is in, as written (empty for start line / framing problems).
  std::string header;
  // Static text naming what was wrong in more detail, e.g. "sequence number out of range".
  const char* detail = "";
  // True when enough of a request was read (start line, Via, From, To, Call-ID, CSeq present)
  // for a 400 response to be addressed (RFC 3261 8.2.6).
  bool addressable = false;

  // A reason phrase for a 400 response, e.g. "Bad CSeq: sequence number out of range".
  // Only visible ASCII, never echoing the peer's bytes.
  [[nodiscard]] std::string reason() const;
  // "error at byte N: <reason>" style text for logs and the CLI.
  [[nodiscard]] std::string describe() const;

  bool operator==(const ParseError&) const = default;
};

// Stable short name of a code, e.g. "bad-cseq"; used in summaries and metrics.
std::string_view errorCodeName(ParseErrorCode code);

}  // namespace sipedge::sip
