#include "sipedge/sip/response.h"

#include <gtest/gtest.h>

#include "../support/messages.h"

namespace sipedge::sip {
namespace {

using sipedge::testing::crlf;

Message parse(std::string_view text, bool tolerant = false) {
  ParseOptions options;
  options.tolerant = tolerant;
  auto m = parseMessage(text, options);
  EXPECT_TRUE(m.has_value());
  return std::move(*m);
}

TEST(Response, CopiesViasFromToCallIdCSeqAndAddsTheTag) {
  Message request = parse(sipedge::testing::kInvite);
  std::string text = responseText(request, 180, {}, "abc");
  auto response = parseMessage(text, ParseOptions{});
  ASSERT_TRUE(response.has_value()) << text;
  EXPECT_EQ(response->statusCode(), 180);
  EXPECT_EQ(response->reasonPhrase(), "Ringing");
  ASSERT_EQ(response->vias().size(), request.vias().size());
  EXPECT_EQ(response->vias()[0].params.get("branch"), "z9hG4bK74bf9");
  EXPECT_EQ(response->vias()[1].host, "proxy.example.net");
  EXPECT_EQ(response->from()->tag, "9fxced76sl");
  EXPECT_EQ(response->to()->tag, "abc");
  EXPECT_EQ(response->callId(), request.callId());
  EXPECT_EQ(response->cseq()->method, Method::Invite);
  EXPECT_EQ(response->contentLength(), 0u);
  EXPECT_EQ(response->find(HeaderId::Route), nullptr);  // requests' routing stays behind
  EXPECT_TRUE(response->body().empty());
}

TEST(Response, KeepsAnExistingTagAndNeverTagsA100) {
  Message request = parse(sipedge::testing::kInvite);
  auto trying = makeResponse(request, 100, {}, "abc");
  ASSERT_TRUE(trying.has_value());
  EXPECT_EQ(trying->to()->tag, "");

  Message in_dialog =
      parse(crlf("BYE sip:bob@127.0.0.1 SIP/2.0\n"
                 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\n"
                 "From: <sip:alice@example.net>;tag=a\n"
                 "To: <sip:bob@example.com>;tag=b\n"
                 "Call-ID: c1\n"
                 "CSeq: 2 BYE\n"
                 "Content-Length: 0\n\n"));
  auto ok = makeResponse(in_dialog, 200, {}, "other");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->to()->tag, "b");
}

TEST(Response, ReasonPhraseIsSanitisedAndExtrasAndBodyAreAdded) {
  Message request = parse(sipedge::testing::kInvite);
  ExtraHeader extra[] = {{"Retry-After", "5"}};
  std::string text =
      responseText(request, 503, "Bad\r\nInjected: x", "t", extra, "hello", "text/plain");
  auto response = parseMessage(text, ParseOptions{});
  ASSERT_TRUE(response.has_value()) << text;
  EXPECT_EQ(response->reasonPhrase(), "Bad  Injected: x");
  EXPECT_EQ(response->find("Injected"), nullptr);
  ASSERT_NE(response->find(HeaderId::RetryAfter), nullptr);
  EXPECT_EQ(response->body(), "hello");
  EXPECT_EQ(response->contentLength(), 5u);
}

TEST(Response, AddressesA400FromATolerantParse) {
  std::string bad = crlf(
      "OPTIONS sip:edge@127.0.0.1 SIP/2.0\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbad\n"
      "From: <sip:a@example.net>;tag=1\n"
      "To: <sip:edge@127.0.0.1>\n"
      "Call-ID: bad-1\n"
      "CSeq: 1 OPTIONS\n"
      "Expires: soon\n"
      "Contact: <sip:a@127.0.0.1:5070\n"
      "Content-Length: 0\n\n");
  ASSERT_FALSE(parseMessage(bad, ParseOptions{}).has_value());
  Message request = parse(bad, /*tolerant=*/true);
  std::string text = responseText(request, 400, "Bad Contact", "t");
  auto response = parseMessage(text, ParseOptions{});
  ASSERT_TRUE(response.has_value()) << text;
  EXPECT_EQ(response->statusCode(), 400);
  EXPECT_EQ(response->callId(), "bad-1");
  EXPECT_EQ(response->to()->tag, "t");
}

TEST(Response, DefaultReasons) {
  EXPECT_EQ(defaultReason(200), "OK");
  EXPECT_EQ(defaultReason(481), "Call/Transaction Does Not Exist");
  EXPECT_EQ(defaultReason(299), "");
}

}  // namespace
}  // namespace sipedge::sip
