#include <gtest/gtest.h>

#include "../support/messages.h"
#include "sipedge/sip/message.h"

namespace sipedge::sip {
namespace {

using sipedge::testing::crlf;
using sipedge::testing::kInvite;
using sipedge::testing::kOk;

Message parsed(std::string_view text) {
  auto m = parseMessage(text);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().describe());
  return std::move(*m);
}

// Parsing what we serialized gives the same typed view: modifications stay well formed.
void expectReparses(const Message& m) {
  auto again = parseMessage(m.serialize());
  ASSERT_TRUE(again.has_value()) << again.error().describe() << "\n" << m.serialize();
  EXPECT_EQ(again->serialize(), m.serialize());
  EXPECT_EQ(again->vias().size(), m.vias().size());
  EXPECT_EQ(again->callId(), m.callId());
}

TEST(MessageTest, UnmodifiedSerializesByteIdentically) {
  EXPECT_EQ(parsed(kInvite).serialize(), kInvite);
  EXPECT_EQ(parsed(kOk).serialize(), kOk);
}

TEST(MessageTest, ModifiedHeadersAreCanonicalOthersUntouched) {
  Message m = parsed(kInvite);
  ASSERT_TRUE(m.setHeader("max-forwards", "69"));
  EXPECT_EQ(m.maxForwards(), 69u);
  const std::string out = m.serialize();
  EXPECT_NE(out.find("\r\nMax-Forwards: 69\r\n"), std::string::npos);
  // Untouched headers keep their exact spelling and spacing.
  EXPECT_NE(out.find("\r\nX-Custom:  kept   as is \r\n"), std::string::npos);
  EXPECT_EQ(m.headers().size(), 13u);
  expectReparses(m);
}

TEST(MessageTest, ViaStackOperations) {
  Message m = parsed(crlf(
      "OPTIONS sip:b@example.com SIP/2.0\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa, SIP/2.0/UDP 127.0.0.2;branch=z9hG4bKb\n"
      "Via: SIP/2.0/UDP 127.0.0.3;branch=z9hG4bKc\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\n"
      "CSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
  ASSERT_EQ(m.vias().size(), 3u);
  m.removeTopVia();
  ASSERT_EQ(m.vias().size(), 2u);
  EXPECT_EQ(m.vias()[0].branch, "z9hG4bKb");
  ASSERT_TRUE(m.pushVia("SIP/2.0/TLS 127.0.0.9:5061;branch=z9hG4bKnew;rport"));
  ASSERT_EQ(m.vias().size(), 3u);
  EXPECT_EQ(m.vias()[0].branch, "z9hG4bKnew");
  EXPECT_EQ(m.vias()[0].transport, "TLS");
  m.removeTopVia();
  m.removeTopVia();
  ASSERT_EQ(m.vias().size(), 1u);
  EXPECT_EQ(m.vias()[0].branch, "z9hG4bKc");
  EXPECT_EQ(m.headers()[0].id, HeaderId::Via);
  expectReparses(m);
  EXPECT_FALSE(m.pushVia("not a via"));
  EXPECT_EQ(m.vias().size(), 1u);
}

TEST(MessageTest, AddInsertRemoveReplace) {
  Message m = parsed(kOk);
  ASSERT_TRUE(m.addHeader("Server", "sipedge"));
  EXPECT_EQ(m.headers().back().name, "Server");
  ASSERT_TRUE(m.insertHeader(0, "X-First", "1"));
  EXPECT_EQ(m.headers().front().name, "X-First");
  EXPECT_EQ(m.removeHeaders("x-first"), 1u);
  EXPECT_EQ(m.removeHeaders("X-Absent"), 0u);
  // Compact names are canonicalized when we write them.
  ASSERT_TRUE(m.setHeader("i", "newid@127.0.0.1"));
  EXPECT_EQ(m.callId(), "newid@127.0.0.1");
  EXPECT_EQ(m.find(HeaderId::CallId)->name, "Call-ID");
  EXPECT_EQ(m.count(HeaderId::CallId), 1u);
  // replaceHeaderAt keeps the position.
  std::size_t to_index = 0;
  while (m.headers()[to_index].id != HeaderId::To) {
    ++to_index;
  }
  ASSERT_TRUE(m.replaceHeaderAt(to_index, "<sip:carol@example.com>;tag=77"));
  EXPECT_EQ(m.headers()[to_index].id, HeaderId::To);
  EXPECT_EQ(m.to()->uri.user, "carol");
  EXPECT_EQ(m.to()->tag, "77");
  m.removeHeaderAt(to_index);
  EXPECT_EQ(m.to(), nullptr);
  expectReparses(m);
}

TEST(MessageTest, RejectsInvalidValuesAndHeaderInjection) {
  Message m = parsed(kOk);
  const std::string before = m.serialize();
  auto inj = m.addHeader("X-A", "ok\r\nVia: SIP/2.0/UDP 127.0.0.66");
  ASSERT_FALSE(inj);
  EXPECT_EQ(inj.error().code, ParseErrorCode::BadHeaderValue);
  EXPECT_FALSE(m.addHeader("Bad Name", "x"));
  EXPECT_FALSE(m.setHeader("CSeq", "abc"));
  EXPECT_FALSE(m.setHeader("To", "<sip:a@b"));
  EXPECT_FALSE(m.setHeader("Content-Length", "-1"));
  EXPECT_EQ(m.serialize(), before);
  EXPECT_EQ(m.cseq()->number, 2u);
}

TEST(MessageTest, RequestUriAndStatus) {
  Message req = parsed(kInvite);
  const Uri ruri = req.requestUri();
  ASSERT_TRUE(req.setRequestUri(withUriParam(ruri, "transport", "tcp")));
  EXPECT_EQ(req.requestUri().param("transport"), "tcp");
  EXPECT_EQ(req.serialize().substr(0, 57),
            "INVITE sip:bob@example.com;transport=tcp SIP/2.0\r\nVia: SI");
  EXPECT_FALSE(req.setRequestUri("not a uri"));
  expectReparses(req);

  Message resp = parsed(kOk);
  resp.setStatus(486, "Busy\r\nHere");
  EXPECT_EQ(resp.statusCode(), 486);
  EXPECT_EQ(resp.serialize().substr(0, 24), "SIP/2.0 486 BusyHere\r\nVi");
  expectReparses(resp);
}

TEST(MessageTest, SetBodyKeepsContentLengthInStep) {
  Message m = parsed(kOk);
  m.setBody("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n", "application/sdp");
  EXPECT_EQ(m.contentLength(), 31u);
  EXPECT_EQ(m.find(HeaderId::ContentType)->value, "application/sdp");
  auto again = parseMessage(m.serialize());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body(), "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n");
}

TEST(MessageTest, CloneIsDeepAndIndependent) {
  Message original = parsed(kInvite);
  Message copy = original.clone();
  ASSERT_TRUE(copy.setHeader("Call-ID", "other@127.0.0.1"));
  EXPECT_EQ(original.callId(), "3848276298220188511@127.0.0.1");
  EXPECT_EQ(copy.callId(), "other@127.0.0.1");
  EXPECT_EQ(original.serialize(), kInvite);
  // Views survive a move of the message.
  Message moved = std::move(copy);
  EXPECT_EQ(moved.callId(), "other@127.0.0.1");
  EXPECT_EQ(moved.from()->tag, "9fxced76sl");
}

TEST(MessageTest, FindByNameIncludesCompactForms) {
  const Message m =
      parsed(crlf("OPTIONS sip:b@example.com SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                  "f: <sip:a@b>;tag=1\nt: <sip:b@b>\ni: c\nCSeq: 1 OPTIONS\nl: 0\n\n"));
  EXPECT_NE(m.find("Call-ID"), nullptr);
  EXPECT_NE(m.find("i"), nullptr);
  EXPECT_EQ(m.find("Content-Length")->name, "l");
  EXPECT_EQ(m.find("X-None"), nullptr);
}

}  // namespace
}  // namespace sipedge::sip

namespace sipedge::sip {
namespace {

TEST(MessageOnDemandTest, TypedValuesOfRawHeaders) {
  const Message m = parsed(sipedge::testing::crlf(
      "REFER sip:b@example.com SIP/2.0\n"
      "Via: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\nCall-ID: c\n"
      "CSeq: 7 REFER\n"
      "Expires: 600\nMin-Expires: 60\n"
      "Content-Type: application/sdp\n"
      "Retry-After: 30;duration=10\n"
      "r: <sip:carol@example.com?Replaces=x%40y>\n"
      "b: <sip:a@example.com>\n"
      "P-Asserted-Identity: \"A\" <sip:a@example.com>\n"
      "P-Asserted-Identity: <tel:+15551234>\n"
      "Path: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
      "Supported: 100rel, timer\nk: path\nRequire: replaces\nAllow: INVITE, BYE\n"
      "Content-Length: 0\n\n"));
  EXPECT_EQ(m.expires().value(), 600u);
  EXPECT_EQ(m.minExpires().value(), 60u);
  EXPECT_EQ(m.contentType().value()->subtype, "sdp");
  EXPECT_EQ(m.retryAfter().value()->duration(), 10u);
  EXPECT_EQ(m.referTo().value()->uri.user, "carol");
  EXPECT_EQ(m.referredBy().value()->uri.user, "a");
  ASSERT_EQ(m.assertedIdentities()->size(), 2u);
  EXPECT_EQ((*m.assertedIdentities())[1].uri.scheme, UriScheme::Tel);
  EXPECT_EQ(m.paths()->size(), 2u);
  EXPECT_EQ(*m.tokens(HeaderId::Supported),
            (std::vector<std::string_view>{"100rel", "timer", "path"}));
  EXPECT_EQ(m.tokens(HeaderId::Require)->size(), 1u);
  EXPECT_EQ(m.tokens(HeaderId::Allow)->size(), 2u);
  EXPECT_TRUE(m.tokens(HeaderId::Unsupported)->empty());
}

TEST(MessageOnDemandTest, AbsentAndMalformed) {
  const std::string text = sipedge::testing::crlf(
      "OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
      "From: <sip:a@b>;tag=1\nTo: <sip:b@b>\nCall-ID: c\nCSeq: 1 OPTIONS\n"
      "Expires: soon\nSupported: a, <b>\nContent-Length: 0\n\n");
  const Message m = parsed(text);
  EXPECT_FALSE(m.contentType().value().has_value());
  EXPECT_FALSE(m.referTo().value().has_value());
  EXPECT_TRUE(m.assertedIdentities()->empty());
  auto e = m.expires();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().header, "Expires");
  EXPECT_EQ(e.error().offset, text.find("soon"));
  auto s = m.tokens(HeaderId::Supported);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().header, "Supported");
  EXPECT_EQ(s.error().offset, text.find("<b>"));
}

}  // namespace
}  // namespace sipedge::sip

namespace sipedge::sip {
namespace {

// Found by sip_message_fuzz (fuzz/corpus/sip_message/regress-clone-stream-body): a tolerant stream
// parse keeps a body longer than Content-Length, and clone() re-parsed it as a datagram, cutting
// the body.
TEST(MessageTest, CloneKeepsABodyThatDisagreesWithContentLength) {
  ParseOptions o;
  o.tolerant = true;
  o.datagram = false;
  auto m = parseMessage("MESSAGE sip:b@example.com SIP/2.0\r\nContent-Length: 1\r\n\r\nab", o);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->firstError().has_value());
  EXPECT_EQ(m->body(), "ab");
  const Message copy = m->clone();
  EXPECT_EQ(copy.body(), "ab");
  EXPECT_EQ(copy.serialize(), m->serialize());
  EXPECT_EQ(copy.firstError()->code, m->firstError()->code);
}

}  // namespace
}  // namespace sipedge::sip
