#pragma once

// Building a response to a received request (RFC 3261 8.2.6.2): the status line, every Via in
// order, From, To (with a tag added when it has none and the response is not a 100), Call-ID and
// CSeq copied from the request, and what the caller adds. Works on tolerant parses too, so a 400
// can be addressed from a request whose other headers are malformed (DESIGN.md, Bad input).

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "sipedge/base/result.h"
#include "sipedge/sip/message.h"

namespace sipedge::sip {

// The default reason phrase of a status code (RFC 3261 21 and later RFCs); "" when unknown.
std::string_view defaultReason(int status);

using ExtraHeader = std::pair<std::string_view, std::string_view>;

// Appends "NAME: VALUE\r\n" (for code that writes messages field by field).
void appendHeader(std::string& out, std::string_view name, std::string_view value);

// The bytes of the response, ending with "Content-Length: 0" and the blank line unless `body` is
// given. `reason` empty means defaultReason(status); CR and LF in it are replaced by spaces.
std::string responseText(const Message& request, int status, std::string_view reason = {},
                         std::string_view to_tag = {}, std::span<const ExtraHeader> extra = {},
                         std::string_view body = {}, std::string_view content_type = {});

// The same as a parsed Message (for a request from a strict parse: all its copied headers are
// valid, so this fails only when `extra` holds something malformed).
[[nodiscard]] Result<Message, ParseError> makeResponse(const Message& request, int status,
                                                       std::string_view reason = {},
                                                       std::string_view to_tag = {},
                                                       std::span<const ExtraHeader> extra = {});

}  // namespace sipedge::sip
