#include "sipedge/sip/stream_framer.h"

#include <cstring>

#include "scan.h"
#include "sipedge/base/strings.h"
#include "sipedge/sip/headers.h"

namespace sipedge::sip {
namespace {

using scan::error;
constexpr auto npos = std::string_view::npos;

// Finds Content-Length (or "l") in a complete header section (start line excluded) and parses
// it. Continuation lines are joined. Returns nullopt when absent.
Result<std::optional<std::uint64_t>, ParseError> findContentLength(std::string_view headers,
                                                                   std::size_t base) {
  std::optional<std::uint64_t> found;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t eol = headers.find("\r\n", pos);
    if (eol == npos) {
      eol = headers.size();
    }
    // Extend over continuation lines.
    std::size_t end = eol;
    while (end + 2 < headers.size() && (headers[end + 2] == ' ' || headers[end + 2] == '\t')) {
      end = headers.find("\r\n", end + 2);
      if (end == npos) {
        end = headers.size();
      }
    }
    const std::string_view field = headers.substr(pos, end - pos);
    const std::size_t name_end = scan::skipToken(field, 0);
    const std::size_t colon = scan::skipWs(field, name_end);
    if (name_end > 0 && colon < field.size() && field[colon] == ':' &&
        headerIdFromName(field.substr(0, name_end)) == HeaderId::ContentLength) {
      const std::string value = scan::unfold(field.substr(colon + 1));
      auto cl = parseContentLength(value);
      if (!cl) {
        ParseError e = cl.error();
        e.offset = base + pos;
        e.header = "Content-Length";
        return fail(e);
      }
      if (found && *found != *cl) {
        return fail(error(ParseErrorCode::DuplicateHeader, base + pos,
                          "conflicting Content-Length values"));
      }
      found = *cl;
    }
    pos = end + 2;
  }
  return found;
}

}  // namespace

void StreamFramer::feed(std::string_view bytes) {
  if (consumed_ > 0 && (consumed_ >= 4096 || consumed_ == buffer_.size())) {
    compact();
  }
  buffer_.append(bytes);
}

void StreamFramer::compact() {
  buffer_.erase(0, consumed_);
  base_offset_ += consumed_;
  consumed_ = 0;
}

Result<std::optional<Frame>, ParseError> StreamFramer::next() {
  if (error_) {
    return fail(*error_);
  }
  auto broken = [this](ParseError e) {
    e.offset += base_offset_;
    error_ = e;
    return fail(std::move(e));
  };
  const std::string_view view = std::string_view(buffer_).substr(consumed_);
  if (view.empty()) {
    return std::optional<Frame>();
  }
  if (pending_total_ == 0 && (view[0] == '\r' || view[0] == '\n')) {
    // Keep-alives between messages (RFC 5626 3.5.1; RFC 3261 7.5 lets CRLFs precede a message).
    if (view.size() < 2) {
      return std::optional<Frame>();
    }
    if (view[0] != '\r' || view[1] != '\n') {
      return broken(error(ParseErrorCode::BadStartLine, consumed_, "stray line break"));
    }
    if (after_pong_) {
      after_pong_ = false;
      consumed_ += 2;
      return std::optional<Frame>(Frame{Frame::Kind::Ping, view.substr(0, 2)});
    }
    if (view.size() >= 4 && view.substr(0, 4) == "\r\n\r\n") {
      consumed_ += 4;
      return std::optional<Frame>(Frame{Frame::Kind::Ping, view.substr(0, 4)});
    }
    if (view.size() == 3 && view[2] == '\r') {
      return std::optional<Frame>();  // maybe a ping split across reads
    }
    consumed_ += 2;
    after_pong_ = true;
    return std::optional<Frame>(Frame{Frame::Kind::Pong, view.substr(0, 2)});
  }
  after_pong_ = false;

  if (pending_total_ == 0) {
    const std::size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
    const std::size_t end = view.find("\r\n\r\n", from);
    if (end == npos) {
      scanned_ = view.size();
      if (view.size() > limits_.max_header_section_bytes) {
        return broken(
            error(ParseErrorCode::MessageTooLarge, consumed_, "header section too large"));
      }
      return std::optional<Frame>();
    }
    const std::size_t header_len = end + 4;
    if (header_len > limits_.max_header_section_bytes) {
      return broken(error(ParseErrorCode::MessageTooLarge, consumed_, "header section too large"));
    }
    const std::size_t first_eol = view.find("\r\n");
    auto cl =
        findContentLength(view.substr(first_eol + 2, end - first_eol), consumed_ + first_eol + 2);
    if (!cl) {
      return broken(cl.error());
    }
    if (!*cl) {
      return broken(
          error(ParseErrorCode::MissingContentLength, consumed_, "required on stream transports"));
    }
    if (**cl > limits_.max_body_bytes) {
      return broken(error(ParseErrorCode::BodyTooLarge, consumed_ + header_len, "limit exceeded"));
    }
    pending_total_ = header_len + static_cast<std::size_t>(**cl);
    if (pending_total_ > limits_.max_message_bytes) {
      return broken(error(ParseErrorCode::MessageTooLarge, consumed_, "limit exceeded"));
    }
  }
  if (view.size() < pending_total_) {
    return std::optional<Frame>();
  }
  const Frame frame{Frame::Kind::Message, view.substr(0, pending_total_)};
  consumed_ += pending_total_;
  pending_total_ = 0;
  scanned_ = 0;
  return std::optional<Frame>(frame);
}

}  // namespace sipedge::sip
