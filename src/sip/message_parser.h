#pragma once

// Private to src/sip: the parser is the only code that fills a Message's typed fields.

#include <string_view>

#include "sipedge/sip/message.h"

namespace sipedge::sip {

class MessageParser {
 public:
  static Result<Message, ParseError> parse(std::string_view bytes, const ParseOptions& options);
  // Parses `h` into the typed field for its id (appending to list fields).
  static Result<void, ParseError> applyTyped(Message& m, const Header& h);
  // Clears the typed field(s) of `id`.
  static void clearTyped(Message& m, HeaderId id);
  // Whether `id` has a typed field in Message.
  static bool isTyped(HeaderId id);
  // Whether a response to `m` can be addressed (RFC 3261 8.2.6): a request other than ACK that
  // carries the headers a response copies (Via, From, To, Call-ID, CSeq), valid or not.
  static bool addressable(const Message& m);
  // Validates `value` as the given header without touching a message.
  static Result<void, ParseError> checkValue(HeaderId id, std::string_view value);
};

}  // namespace sipedge::sip
