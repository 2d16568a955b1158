#pragma once

// Message framing on stream transports (TCP, TLS): resumable, fed chunk by chunk, bounded
// (STYLE S3). Content-Length is mandatory on streams (RFC 3261 18.3, 20.14); CRLF keep-alives
// (RFC 5626 3.5.1) are reported as their own frames.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sipedge/base/result.h"
#include "sipedge/sip/error.h"
#include "sipedge/sip/limits.h"

namespace sipedge::sip {

struct Frame {
  enum class Kind : std::uint8_t {
    Message,  // one complete message: parse `bytes` with ParseOptions::datagram = false
    Ping,     // CRLFCRLF: answer with a single CRLF (pong)
    Pong,     // a lone CRLF
  };
  Kind kind = Kind::Message;
  // Valid until the next call to feed() or next().
  std::string_view bytes;
};

class StreamFramer {
 public:
  explicit StreamFramer(const ParseLimits& limits = {}) : limits_(limits) {}

  // Appends bytes read from the stream.
  void feed(std::string_view bytes);
  // The next complete frame, nullopt when more bytes are needed, or an error after which the
  // stream cannot be resynchronised and must be closed (after a 400 if one can be addressed).
  [[nodiscard]] Result<std::optional<Frame>, ParseError> next();

  // Bytes held and not yet returned as frames (for pending-bytes limits).
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  // Those bytes. After an error they start with the message that broke the framing, which a
  // tolerant parse may still address a 400 to.
  std::string_view unconsumed() const { return std::string_view(buffer_).substr(consumed_); }
  // Total stream offset of the next unconsumed byte (for error offsets in logs).
  std::size_t streamOffset() const { return base_offset_ + consumed_; }

 private:
  void compact();

  ParseLimits limits_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned
  std::size_t base_offset_ = 0;
  std::size_t scanned_ = 0;          // header-end search resumes here (relative to consumed_)
  std::size_t pending_total_ = 0;    // size of the message being completed, once its headers are in
  bool after_pong_ = false;          // a lone CRLF was just reported; a second CRLF makes it a ping
  std::optional<ParseError> error_;  // sticky: the stream cannot be resynchronised
};

}  // namespace sipedge::sip
