#include <gtest/gtest.h>

#include "../support/messages.h"
#include "sipedge/sip/message.h"
#include "sipedge/sip/stream_framer.h"

namespace sipedge::sip {
namespace {

using sipedge::testing::kInvite;
using sipedge::testing::kOk;

struct Collected {
  std::vector<std::pair<Frame::Kind, std::string>> frames;
  std::optional<ParseError> error;
};

// Feeds `stream` in chunks of `chunk` bytes and collects every frame.
Collected run(std::string_view stream, std::size_t chunk, const ParseLimits& limits = {}) {
  StreamFramer framer(limits);
  Collected c;
  for (std::size_t pos = 0; pos < stream.size() && !c.error; pos += chunk) {
    framer.feed(stream.substr(pos, chunk));
    while (true) {
      auto f = framer.next();
      if (!f) {
        c.error = f.error();
        break;
      }
      if (!*f) {
        break;
      }
      c.frames.emplace_back((*f)->kind, std::string((*f)->bytes));
    }
  }
  return c;
}

TEST(StreamFramerTest, SeveralMessagesInOneRead) {
  const std::string stream = kInvite + kOk + kInvite;
  const Collected c = run(stream, stream.size());
  ASSERT_FALSE(c.error);
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0].second, kInvite);
  EXPECT_EQ(c.frames[1].second, kOk);
  ParseOptions o;
  o.datagram = false;
  for (const auto& [kind, bytes] : c.frames) {
    EXPECT_EQ(kind, Frame::Kind::Message);
    EXPECT_TRUE(parseMessage(bytes, o).has_value());
  }
}

// What a split may not change: the messages, and how many pings need a pong. (A ping split
// after its first CRLF is reported as Pong then Ping, so that a lone pong is never held back.)
std::pair<std::vector<std::string>, int> effect(const Collected& c) {
  std::pair<std::vector<std::string>, int> out;
  for (const auto& [kind, bytes] : c.frames) {
    if (kind == Frame::Kind::Message) {
      out.first.push_back(bytes);
    } else if (kind == Frame::Kind::Ping) {
      ++out.second;
    }
  }
  return out;
}

TEST(StreamFramerTest, EveryPartialReadSplitGivesTheSameMessagesAndPings) {
  const std::string stream = kInvite + "\r\n\r\n" + kOk + "\r\n\r\n\r\n\r\n" + kInvite;
  const Collected whole = run(stream, stream.size());
  ASSERT_EQ(whole.frames.size(), 6u);
  EXPECT_EQ(effect(whole).second, 3);
  for (std::size_t chunk = 1; chunk < 40; ++chunk) {
    const Collected c = run(stream, chunk);
    EXPECT_FALSE(c.error) << chunk;
    EXPECT_EQ(effect(c), effect(whole)) << "chunk size " << chunk;
  }
}

TEST(StreamFramerTest, KeepAlives) {
  // RFC 5626 3.5.1: CRLFCRLF ping, CRLF pong.
  Collected c = run("\r\n\r\n" + kOk + "\r\n", 1000);
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0].first, Frame::Kind::Ping);
  EXPECT_EQ(c.frames[1].first, Frame::Kind::Message);
  EXPECT_EQ(c.frames[2].first, Frame::Kind::Pong);
  // A ping split across reads is still recognised as a ping (after a pong report).
  StreamFramer f;
  f.feed("\r\n");
  EXPECT_EQ((*f.next())->kind, Frame::Kind::Pong);
  f.feed("\r\n");
  EXPECT_EQ((*f.next())->kind, Frame::Kind::Ping);
  EXPECT_FALSE(f.next()->has_value());
  // "\r\n\r" waits for the last byte.
  StreamFramer g;
  g.feed("\r\n\r");
  EXPECT_FALSE(g.next()->has_value());
  g.feed("\n");
  EXPECT_EQ((*g.next())->kind, Frame::Kind::Ping);
}

TEST(StreamFramerTest, MissingContentLengthIsAnErrorOnStreams) {
  const std::string msg = sipedge::testing::crlf(
      "OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\n\n");
  const Collected c = run(msg + kOk, 10000);
  ASSERT_TRUE(c.error);
  EXPECT_EQ(c.error->code, ParseErrorCode::MissingContentLength);
  EXPECT_TRUE(c.frames.empty());
}

TEST(StreamFramerTest, BadAndConflictingContentLength) {
  const std::string head = "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n";
  EXPECT_EQ(run(head + "Content-Length: -1\r\n\r\n", 1000).error->code,
            ParseErrorCode::BadContentLength);
  EXPECT_EQ(run(head + "l: 1\r\nContent-Length: 2\r\n\r\nab", 1000).error->code,
            ParseErrorCode::DuplicateHeader);
  // Folded Content-Length is still found.
  const Collected folded = run(head + "Content-Length:\r\n 2\r\n\r\nab", 1000);
  ASSERT_FALSE(folded.error);
  EXPECT_EQ(folded.frames.size(), 1u);
}

TEST(StreamFramerTest, WrongContentLengthDesynchronisesAndIsCaughtNext) {
  // A length two bytes short leaves "lo" + the next message, which is not a start line.
  const std::string head = "MESSAGE sip:b@example.com SIP/2.0\r\nContent-Length: 3\r\n\r\nhello";
  const Collected c = run(head + kOk, 10000);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0].second.substr(c.frames[0].second.size() - 3), "hel");
  // The rest ("lo" + kOk) frames as one bogus message whose parse fails: the framer only
  // frames, the parser rejects, and the connection is closed by its owner.
  EXPECT_EQ(c.frames[1].second, "lo" + kOk);
  ParseOptions o;
  o.datagram = false;
  auto bogus = parseMessage(c.frames[1].second, o);
  ASSERT_FALSE(bogus.has_value());
  EXPECT_EQ(bogus.error().code, ParseErrorCode::BadMethod);  // "loSIP/2.0" is no token
}

TEST(StreamFramerTest, BoundsOnHeaderSectionAndBody) {
  ParseLimits limits;
  limits.max_header_section_bytes = 64;
  // Never-ending header section: an error once the bound is passed, not unbounded buffering.
  const Collected c =
      run("OPTIONS sip:b@example.com SIP/2.0\r\n" + std::string(200, 'X'), 7, limits);
  ASSERT_TRUE(c.error);
  EXPECT_EQ(c.error->code, ParseErrorCode::MessageTooLarge);
  ParseLimits small_body;
  small_body.max_body_bytes = 10;
  const Collected b = run("MESSAGE sip:b@example.com SIP/2.0\r\nl: 11\r\n\r\n", 1000, small_body);
  EXPECT_EQ(b.error->code, ParseErrorCode::BodyTooLarge);
}

TEST(StreamFramerTest, ErrorsAreStickyAndCarryStreamOffsets) {
  StreamFramer f;
  f.feed(kOk);
  ASSERT_TRUE(f.next()->has_value());
  f.feed("\n\n");
  auto e = f.next();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().offset, kOk.size());
  EXPECT_FALSE(f.next().has_value());
}

TEST(StreamFramerTest, BufferCompactsAfterConsumption) {
  StreamFramer f;
  for (int i = 0; i < 2000; ++i) {
    f.feed(kOk);
    auto frame = f.next();
    ASSERT_TRUE(frame && *frame);
  }
  EXPECT_EQ(f.buffered(), 0u);
  EXPECT_EQ(f.streamOffset(), 2000 * kOk.size());
}

}  // namespace
}  // namespace sipedge::sip

namespace sipedge::sip {
namespace {

// Found by sip_stream_framer_fuzz (fuzz/corpus/sip_stream_framer/
// regress-framer-content-length-bare-cr): the framer dropped every CR in a Content-Length value,
// so "1<CR>2" framed a 12-byte body while the parser rejected the header.
TEST(StreamFramerTest, BareCrInContentLengthIsRejectedLikeTheParserDoes) {
  const Collected c =
      run("MESSAGE sip:b@example.com SIP/2.0\r\nContent-Length: 1\r2\r\n\r\n123456789012", 1000);
  ASSERT_TRUE(c.error.has_value());
  EXPECT_EQ(c.error->code, ParseErrorCode::BadContentLength);
  EXPECT_TRUE(c.frames.empty());
}

}  // namespace
}  // namespace sipedge::sip
