// Fuzz target: sip::StreamFramer (message framing on TCP/TLS) and the parse of what it frames.
//
// The input is a byte stream. It is fed once in one chunk, and once more into a fresh framer in
// chunks whose sizes come from a small PRNG seeded from the data; after each feed the frames are
// drained until next() wants more bytes or fails, as the transport does.
//
// Properties:
//  - the framing does not depend on how the stream was split: the same Message frames (bytes),
//    the same keep-alives between them (see below), and the same error at the same stream offset
//    after the same frames;
//  - a framing error is sticky: next() keeps failing with the same error, even after more bytes;
//  - next() makes progress: every frame consumes bytes, so draining ends within a bound;
//  - once the input is in, streamOffset() + buffered() is the number of bytes fed;
//  - every Message frame parses (datagram = false) without crashing, and the parser agrees with
//    the framer on Content-Length: every Content-Length header is valid to the parser, and when
//    the parse succeeds its Content-Length is the framed body size and its body the framed body.
//
// Keep-alives: a lone CRLF that arrives on its own is a pong, and the CRLF after it then makes
// a ping; when the same four bytes arrive together they are one ping. The framer reports a lone
// CRLF at once instead of waiting for bytes that may never come, so the kinds legitimately
// depend on the split. What must not depend on it is the number of keep-alive bytes and of pings
// (each answered with a pong) between two messages; those are what is compared.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "sipedge/sip/message.h"
#include "sipedge/sip/stream_framer.h"

namespace {

namespace sip = sipedge::sip;

struct Event {
  // Tail: the keep-alives after the last message plus the bytes still buffered, once the whole
  // input is in (the framer holds a trailing CRLF CR back when it gets them together, since the
  // next byte decides between a ping and a pong; fed apart, it reports the pong at once).
  enum class Kind : std::uint8_t { Message, KeepAlive, Error, Tail };
  Kind kind = Kind::Message;
  std::string bytes;                                      // Message: the frame
  std::size_t keepalive_bytes = 0;                        // KeepAlive, Tail: bytes in the run
  std::size_t pings = 0;                                  // KeepAlive, Tail: pings in the run
  sip::ParseErrorCode code = sip::ParseErrorCode::Empty;  // Error
  std::size_t offset = 0;                                 // Error
  bool operator==(const Event&) const = default;
};

void checkFramedMessage(std::string_view bytes) {
  sip::ParseOptions strict;
  strict.datagram = false;
  auto parsed = sip::parseMessage(bytes, strict);
  const std::size_t header_end = bytes.find("\r\n\r\n");
  FUZZ_CHECK(header_end != std::string_view::npos);
  const std::size_t body_start = header_end + 4;
  if (parsed) {
    (void)sip::validate(*parsed);
    FUZZ_CHECK(parsed->contentLength().has_value());
    FUZZ_CHECK(*parsed->contentLength() == bytes.size() - body_start);
    FUZZ_CHECK(parsed->body() == bytes.substr(body_start));
    FUZZ_CHECK(parsed->serialize() == bytes);
  } else {
    (void)parsed.error().describe();
  }
  // The framer rejects the stream when any Content-Length header is malformed, so each one in a
  // framed message must be valid to the parser too, and give the framed body size: otherwise the
  // two disagree on where the message ends (a desync a peer could use to smuggle a message).
  sip::ParseOptions tolerant = strict;
  tolerant.tolerant = true;
  auto lenient = sip::parseMessage(bytes, tolerant);
  if (lenient) {
    (void)sip::validate(*lenient);
    // regress-framer-content-length-bare-cr: "Content-Length: 1<CR>2" once framed 12 bytes.
    for (const sip::Header& h : lenient->headers()) {
      FUZZ_CHECK(h.id != sip::HeaderId::ContentLength || h.valid);
    }
    FUZZ_CHECK(lenient->contentLength().has_value());
    FUZZ_CHECK(*lenient->contentLength() == bytes.size() - body_start);
    FUZZ_CHECK(lenient->body() == bytes.substr(body_start));
  }
}

class Recorder {
 public:
  explicit Recorder(std::size_t input_size) : bound_(input_size + 16) {}

  // Drains the framer after a feed. Returns false once the stream failed.
  bool drain(sip::StreamFramer& framer, bool check_messages) {
    if (failed_) {
      return false;
    }
    for (std::size_t i = 0;; ++i) {
      // Each frame consumes at least two bytes: more iterations than bytes means no progress.
      FUZZ_CHECK(i <= bound_);
      auto r = framer.next();
      if (!r) {
        closeKeepAlives();
        Event e;
        e.kind = Event::Kind::Error;
        e.code = r.error().code;
        e.offset = r.error().offset;
        events_.push_back(std::move(e));
        failed_ = true;
        // Sticky: the stream cannot be resynchronised.
        framer.feed("INVITE sip:a@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n");
        auto again = framer.next();
        FUZZ_CHECK(!again.has_value());
        FUZZ_CHECK(again.error() == r.error());
        return false;
      }
      if (!r->has_value()) {
        return true;
      }
      const sip::Frame& f = **r;
      switch (f.kind) {
        case sip::Frame::Kind::Ping:
          FUZZ_CHECK(f.bytes == "\r\n\r\n" || f.bytes == "\r\n");
          keepalive_bytes_ += f.bytes.size();
          ++pings_;
          break;
        case sip::Frame::Kind::Pong:
          FUZZ_CHECK(f.bytes == "\r\n");
          keepalive_bytes_ += f.bytes.size();
          break;
        case sip::Frame::Kind::Message: {
          FUZZ_CHECK(!f.bytes.empty());
          closeKeepAlives();
          Event e;
          e.kind = Event::Kind::Message;
          e.bytes = std::string(f.bytes);
          events_.push_back(std::move(e));
          if (check_messages) {
            checkFramedMessage(f.bytes);
          }
          break;
        }
      }
    }
  }

  const std::vector<Event>& finish(const sip::StreamFramer& framer, std::size_t fed) {
    if (failed_) {
      return events_;
    }
    FUZZ_CHECK(framer.streamOffset() + framer.buffered() == fed);
    Event e;
    e.kind = Event::Kind::Tail;
    e.keepalive_bytes = keepalive_bytes_ + framer.buffered();
    e.pings = pings_;
    events_.push_back(std::move(e));
    keepalive_bytes_ = 0;
    pings_ = 0;
    return events_;
  }

 private:
  void closeKeepAlives() {
    if (keepalive_bytes_ == 0) {
      return;
    }
    Event e;
    e.kind = Event::Kind::KeepAlive;
    e.keepalive_bytes = keepalive_bytes_;
    e.pings = pings_;
    events_.push_back(std::move(e));
    keepalive_bytes_ = 0;
    pings_ = 0;
  }

  std::size_t bound_;
  std::vector<Event> events_;
  std::size_t keepalive_bytes_ = 0;
  std::size_t pings_ = 0;
  bool failed_ = false;
};

// xorshift32 seeded with FNV-1a of the input.
class Rng {
 public:
  explicit Rng(std::string_view data) {
    std::uint32_t h = 2166136261u;
    for (char c : data) {
      h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    }
    state_ = h == 0 ? 1 : h;
  }
  std::uint32_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

 private:
  std::uint32_t state_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  sip::StreamFramer whole_framer;
  Recorder whole(size);
  whole_framer.feed(input);
  whole.drain(whole_framer, /*check_messages=*/true);
  const std::vector<Event>& expected = whole.finish(whole_framer, size);

  sip::StreamFramer split_framer;
  Recorder split(size);
  Rng rng(input);
  std::size_t pos = 0;
  while (pos < input.size()) {
    // Mostly small chunks (1..8 bytes), sometimes up to 1 KiB.
    const std::uint32_t r = rng.next();
    const std::size_t max_chunk = (r & 3) == 0 ? 1024 : 8;
    const std::size_t n = std::min<std::size_t>(1 + (r >> 2) % max_chunk, input.size() - pos);
    split_framer.feed(input.substr(pos, n));
    pos += n;
    if (!split.drain(split_framer, /*check_messages=*/false)) {
      break;
    }
  }
  const std::vector<Event>& got = split.finish(split_framer, pos);

  FUZZ_CHECK(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    FUZZ_CHECK(got[i] == expected[i]);
  }
  return 0;
}
