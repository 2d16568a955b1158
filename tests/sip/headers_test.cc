#include <gtest/gtest.h>

#include "sipedge/sip/headers.h"

namespace sipedge::sip {
namespace {

TEST(HeaderNamesTest, FullNamesAreCaseInsensitive) {
  EXPECT_EQ(headerIdFromName("Via"), HeaderId::Via);
  EXPECT_EQ(headerIdFromName("vIA"), HeaderId::Via);
  EXPECT_EQ(headerIdFromName("call-id"), HeaderId::CallId);
  EXPECT_EQ(headerIdFromName("P-Asserted-Identity"), HeaderId::PAssertedIdentity);
  EXPECT_EQ(headerIdFromName("Refer-To"), HeaderId::ReferTo);
  EXPECT_EQ(headerIdFromName("X-Custom"), HeaderId::Other);
  EXPECT_EQ(headerIdFromName("C%6Fntact"), HeaderId::Other);  // RFC 4475 esc02
  EXPECT_EQ(headerIdFromName(""), HeaderId::Other);
  // Case folds only letters: bytes that differ from a '-' by the case bit do not match.
  EXPECT_EQ(headerIdFromName("CALL-ID"), HeaderId::CallId);
  EXPECT_EQ(headerIdFromName("Call\rID"), HeaderId::Other);
  EXPECT_EQ(headerIdFromName("Max\rForwards"), HeaderId::Other);
  EXPECT_EQ(headerIdFromName("P-ASSERTED-IDENTITY"), HeaderId::PAssertedIdentity);
  EXPECT_EQ(headerIdFromName("Request-Disposition"), HeaderId::RequestDisposition);
  EXPECT_EQ(headerIdFromName("Request-Dispositio"), HeaderId::Other);
  EXPECT_EQ(canonicalName(HeaderId::CallId), "Call-ID");
  EXPECT_EQ(canonicalName(HeaderId::WwwAuthenticate), "WWW-Authenticate");
  EXPECT_EQ(canonicalName(HeaderId::Other), "");
}

TEST(HeaderNamesTest, EveryCompactForm) {
  const std::pair<char, HeaderId> compact[] = {
      {'i', HeaderId::CallId},
      {'m', HeaderId::Contact},
      {'e', HeaderId::ContentEncoding},
      {'l', HeaderId::ContentLength},
      {'f', HeaderId::From},
      {'t', HeaderId::To},
      {'v', HeaderId::Via},
      {'s', HeaderId::Subject},
      {'k', HeaderId::Supported},
      {'c', HeaderId::ContentType},
      {'o', HeaderId::Event},
      {'u', HeaderId::AllowEvents},
      {'r', HeaderId::ReferTo},
      {'b', HeaderId::ReferredBy},
      {'x', HeaderId::SessionExpires},
      {'y', HeaderId::Identity},
      {'j', HeaderId::RejectContact},
      {'a', HeaderId::AcceptContact},
      {'d', HeaderId::RequestDisposition},
  };
  for (const auto& [letter, id] : compact) {
    const char lower[2] = {letter, 0};
    const char upper[2] = {static_cast<char>(letter - 'a' + 'A'), 0};
    EXPECT_EQ(headerIdFromName(lower), id) << letter;
    EXPECT_EQ(headerIdFromName(upper), id) << letter;
  }
  EXPECT_EQ(headerIdFromName("z"), HeaderId::Other);
}

std::vector<Via> vias(std::string_view value) {
  std::vector<Via> out;
  auto r = parseViaList(value, out);
  EXPECT_TRUE(r.has_value()) << value << ": " << (r ? "" : r.error().describe());
  return out;
}

TEST(ViaTest, AllKnownParameters) {
  const auto v = vias(
      "SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776asdhds;received=127.0.0.9;"
      "rport=5070;maddr=239.255.255.1;ttl=16;x-ext=1;flag");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].protocol_name, "SIP");
  EXPECT_EQ(v[0].protocol_version, "2.0");
  EXPECT_EQ(v[0].transport, "UDP");
  EXPECT_EQ(v[0].host, "pc33.example.com");
  EXPECT_EQ(v[0].host_kind, HostKind::Name);
  EXPECT_EQ(v[0].port, 5066);
  EXPECT_EQ(v[0].branch, "z9hG4bK776asdhds");
  EXPECT_EQ(v[0].received, "127.0.0.9");
  EXPECT_TRUE(v[0].rport);
  EXPECT_EQ(v[0].rport_value, 5070);
  EXPECT_EQ(v[0].maddr, "239.255.255.1");
  EXPECT_EQ(v[0].ttl, 16);
  EXPECT_EQ(v[0].params.get("x-ext"), "1");
  EXPECT_EQ(v[0].params.get("flag"), "");
}

TEST(ViaTest, RportWithoutValueIpv6AndWhitespace) {
  const auto v = vias(
      "SIP / 2.0 / TLS  [2001:db8::1] : 5061 ; branch = z9hG4bKx ; rport ,"
      "SIP/2.0/TCP 127.0.0.1;received=[::1]");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].transport, "TLS");
  EXPECT_EQ(v[0].host, "[2001:db8::1]");
  EXPECT_EQ(v[0].host_kind, HostKind::IPv6);
  EXPECT_EQ(v[0].port, 5061);
  EXPECT_EQ(v[0].branch, "z9hG4bKx");
  EXPECT_TRUE(v[0].rport);
  EXPECT_FALSE(v[0].rport_value.has_value());
  EXPECT_EQ(v[1].host_kind, HostKind::IPv4);
  EXPECT_FALSE(v[1].port.has_value());
  EXPECT_EQ(v[1].received, "[::1]");
}

TEST(ViaTest, Rejections) {
  const char* bad[] = {
      "SIP/2.0/UDP",                          // no sent-by
      "SIP/2.0 UDP host",                     // missing '/'
      "SIP/2.0/UDPhost",                      // no LWS before sent-by
      "SIP/2.0/UDP host;branch",              // branch without value
      "SIP/2.0/UDP host;;branch=z9hG4bK1",    // empty parameter (RFC 4475 badinv01)
      "SIP/2.0/UDP host;ttl=300",             // ttl out of range
      "SIP/2.0/UDP host;rport=70000",         // rport out of range
      "SIP/2.0/UDP host:99999",               // port out of range
      "SIP/2.0/UDP host,,SIP/2.0/UDP other",  // empty list element
      "SIP/2.0/UDP host;x=\"unterminated",
  };
  for (const char* v : bad) {
    std::vector<Via> out;
    auto r = parseViaList(v, out);
    EXPECT_FALSE(r.has_value()) << v;
    if (!r) {
      EXPECT_TRUE(r.error().code == ParseErrorCode::BadVia ||
                  r.error().code == ParseErrorCode::BadQuotedString)
          << v;
    }
  }
}

NameAddr nameAddr(std::string_view value) {
  auto r = parseNameAddr(value);
  EXPECT_TRUE(r.has_value()) << value << ": " << (r ? "" : r.error().describe());
  return r ? *r : NameAddr{};
}

TEST(NameAddrTest, QuotedDisplayNameWithEscapes) {
  const NameAddr na = nameAddr(R"("J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8)");
  EXPECT_EQ(na.display, R"("J Rosenberg \\\"")");
  EXPECT_EQ(na.displayName(), R"(J Rosenberg \")");
  EXPECT_TRUE(na.angle_brackets);
  EXPECT_EQ(na.uri.user, "jdrosen");
  EXPECT_EQ(na.tag, "98asjd8");
}

TEST(NameAddrTest, TokenDisplayNameWithAndWithoutSpace) {
  EXPECT_EQ(nameAddr("Bob Smith <sip:bob@example.com>").displayName(), "Bob Smith");
  // RFC 4475 3.1.1.6: no LWS between display name and '<'.
  EXPECT_EQ(nameAddr("caller<sip:caller@example.com>;tag=323").displayName(), "caller");
}

TEST(NameAddrTest, AddrSpecParametersBelongToTheHeader) {
  const NameAddr na = nameAddr("sip:alice@example.com;tag=1234;expires=60");
  EXPECT_FALSE(na.angle_brackets);
  EXPECT_TRUE(na.uri.params.empty());
  EXPECT_EQ(na.tag, "1234");
  EXPECT_EQ(na.expires(), 60u);
  // Inside angle brackets the parameter belongs to the URI (RFC 4475 3.3.13).
  const NameAddr inside = nameAddr("<sip:alice@example.com;unknownparam>;q=0.7");
  EXPECT_EQ(inside.uri.param("unknownparam"), "");
  EXPECT_EQ(inside.qMilli(), 700);
}

TEST(NameAddrTest, QValuesAndExpires) {
  EXPECT_EQ(nameAddr("<sip:a@example.com>;q=1").qMilli(), 1000);
  EXPECT_EQ(nameAddr("<sip:a@example.com>;q=0.001").qMilli(), 1);
  EXPECT_EQ(nameAddr("<sip:a@example.com>;q=1.0").qMilli(), 1000);
  EXPECT_FALSE(nameAddr("<sip:a@example.com>;q=1.5").qMilli().has_value());
  EXPECT_FALSE(nameAddr("<sip:a@example.com>;q=0.0001").qMilli().has_value());
  EXPECT_FALSE(nameAddr("<sip:a@example.com>").qMilli().has_value());
  // expires above 2^32-1 saturates (RFC 4475 3.1.2.4 says it may be treated as a large value).
  EXPECT_EQ(nameAddr("<sip:a@example.com>;expires=280297596632815").expires(), 0xffffffffu);
}

TEST(NameAddrTest, NonSipUrisAndTel) {
  EXPECT_EQ(nameAddr("<tel:+1-201-555-0123>").uri.scheme, UriScheme::Tel);
  EXPECT_EQ(nameAddr("<isbn:2983792873>").uri.scheme, UriScheme::Other);
  EXPECT_EQ(nameAddr("<http://www.example.com>;tag=1").tag, "1");
}

TEST(NameAddrTest, Rejections) {
  const std::pair<const char*, ParseErrorCode> bad[] = {
      {"", ParseErrorCode::BadNameAddr},
      {"\"unterminated <sip:a@example.com>", ParseErrorCode::BadQuotedString},
      {"\"quoted\" sip:a@example.com", ParseErrorCode::BadNameAddr},         // needs <>
      {"Bell, Alexander <sip:a@example.com>", ParseErrorCode::BadNameAddr},  // RFC 4475 baddn
      {"<sip:a@example.com", ParseErrorCode::BadNameAddr},
      {"< sip:a@example.com >", ParseErrorCode::BadUri},                     // RFC 4475 badaspec
      {"sip:a@example.com?Route=%3Csip:x%3E", ParseErrorCode::BadNameAddr},  // RFC 4475 regbadct
      {"<sip:a@example.com>;", ParseErrorCode::BadNameAddr},
      {"<sip:a@example.com>;;;", ParseErrorCode::BadNameAddr},
      {"<sip:a@example.com> junk", ParseErrorCode::BadNameAddr},
  };
  for (const auto& [value, code] : bad) {
    auto r = parseNameAddr(value);
    ASSERT_FALSE(r.has_value()) << value;
    EXPECT_EQ(r.error().code, code) << value << ": " << r.error().describe();
  }
}

TEST(NameAddrListTest, CommasInsideQuotesAndAnglesDoNotSplit) {
  std::vector<NameAddr> out;
  ASSERT_TRUE(parseNameAddrList(
      R"("Watson, Thomas" <sip:t,watson@example.org>;q=0.5, <sip:b@example.com>, sip:c@example.com)",
      out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].displayName(), "Watson, Thomas");
  EXPECT_EQ(out[0].uri.user, "t,watson");
  EXPECT_EQ(out[0].qMilli(), 500);
  EXPECT_EQ(out[1].uri.user, "b");
  EXPECT_EQ(out[2].uri.user, "c");
}

TEST(NameAddrListTest, RouteSetsReferToAndAssertedIdentity) {
  std::vector<NameAddr> route;
  ASSERT_TRUE(parseNameAddrList("<sip:p1.example.com;lr>,<sip:p2.example.com;lr>", route));
  ASSERT_EQ(route.size(), 2u);
  EXPECT_EQ(route[1].uri.host, "p2.example.com");
  EXPECT_EQ(route[1].uri.param("lr"), "");
  // Refer-To carries URI headers inside the brackets.
  const NameAddr refer = nameAddr("<sip:carol@example.com?Replaces=abc%40x%3Bto-tag%3D1>");
  EXPECT_EQ(refer.uri.headers, "Replaces=abc%40x%3Bto-tag%3D1");
  std::vector<NameAddr> pai;
  ASSERT_TRUE(parseNameAddrList(R"("Alice" <sip:alice@example.com>, <tel:+15551234>)", pai));
  ASSERT_EQ(pai.size(), 2u);
  EXPECT_EQ(pai[1].uri.scheme, UriScheme::Tel);
}

TEST(CSeqTest, FormsAndRanges) {
  auto c = parseCSeq("0009\t\tINVITE");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->number, 9u);
  EXPECT_EQ(c->method, Method::Invite);
  auto ext = parseCSeq("1 NEWMETHOD");
  ASSERT_TRUE(ext);
  EXPECT_EQ(ext->method, Method::Unknown);
  EXPECT_EQ(ext->method_text, "NEWMETHOD");
  EXPECT_TRUE(parseCSeq("2147483647 ACK"));
  const char* bad[] = {"2147483648 ACK", "36893488147419103232 REGISTER",
                       "INVITE",         "1",
                       "1INVITE",        "1 INVITE extra",
                       "-1 INVITE",      "1 IN<VITE"};
  for (const char* v : bad) {
    auto r = parseCSeq(v);
    ASSERT_FALSE(r) << v;
    EXPECT_EQ(r.error().code, ParseErrorCode::BadCSeq) << v;
  }
  EXPECT_STREQ(parseCSeq("2147483648 ACK").error().detail, "sequence number out of range");
}

TEST(ScalarHeadersTest, MaxForwardsContentLengthExpires) {
  EXPECT_EQ(parseMaxForwards(" 0068 ").value(), 68u);
  EXPECT_EQ(parseMaxForwards("255").value(), 255u);
  EXPECT_EQ(parseMaxForwards("300").error().code, ParseErrorCode::BadMaxForwards);
  EXPECT_EQ(parseMaxForwards("-1").error().code, ParseErrorCode::BadMaxForwards);
  EXPECT_EQ(parseContentLength("150").value(), 150u);
  EXPECT_EQ(parseContentLength("-999").error().code, ParseErrorCode::BadContentLength);
  EXPECT_EQ(parseContentLength("9999999999999999999").error().code,
            ParseErrorCode::BadContentLength);
  EXPECT_EQ(parseExpires("3600").value(), 3600u);
  EXPECT_EQ(parseExpires(std::string(100, '9')).value(), 0xffffffffu);
  // Leading zeros do not count towards the size of the value (1*DIGIT): 22 digits, value 5.
  EXPECT_EQ(parseExpires("0000000000000000000005").value(), 5u);
  EXPECT_EQ(parseExpires(" 4294967296 ").value(), 0xffffffffu);
  EXPECT_EQ(parseExpires("36x").error().offset, 2u);  // points at the first non-digit
  EXPECT_FALSE(parseExpires("Thu, 01 Dec 1994 16:00:00 GMT"));
  EXPECT_FALSE(parseExpires(""));
}

TEST(ScalarHeadersTest, CallId) {
  EXPECT_EQ(parseCallId(" f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com ").value(),
            "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com");
  EXPECT_TRUE(parseCallId("a<>:\\\"/[]?{}()@b"));
  EXPECT_FALSE(parseCallId(""));
  EXPECT_FALSE(parseCallId("a b"));
  EXPECT_FALSE(parseCallId("a@b@c"));
  EXPECT_FALSE(parseCallId("@b"));
}

TEST(ContentTypeTest, TypeSubtypeParams) {
  auto ct = parseContentType("multipart/mixed ; boundary=\"7a9cbec02ceef655\"");
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->type, "multipart");
  EXPECT_EQ(ct->subtype, "mixed");
  EXPECT_EQ(ct->params.get("boundary"), "\"7a9cbec02ceef655\"");
  EXPECT_FALSE(parseContentType("application"));
  EXPECT_FALSE(parseContentType("application/"));
  EXPECT_FALSE(parseContentType("application/sdp;"));
}

TEST(TokenListTest, SupportedRequireAllow) {
  auto s = parseTokenList("100rel, timer ,path");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (std::vector<std::string_view>{"100rel", "timer", "path"}));
  EXPECT_TRUE(parseTokenList("")->empty());
  EXPECT_EQ(parseTokenList("INVITE, ACK, CANCEL, OPTIONS, BYE")->size(), 5u);
  EXPECT_FALSE(parseTokenList("100rel, <bad>"));
  EXPECT_FALSE(parseTokenList("a,,b"));
}

TEST(RetryAfterTest, SecondsCommentDuration) {
  auto r = parseRetryAfter("18000;duration=3600");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seconds, 18000u);
  EXPECT_EQ(r->duration(), 3600u);
  auto c = parseRetryAfter("120 (I'm in a (nested) meeting)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->comment, "I'm in a (nested) meeting");
  EXPECT_FALSE(parseRetryAfter("soon"));
  EXPECT_FALSE(parseRetryAfter("5 (unterminated"));
}

TEST(SplitListTest, UnbalancedQuoteIsAnError) {
  EXPECT_FALSE(splitList("\"a, b"));
  EXPECT_FALSE(splitList("<sip:a@b, c"));
  EXPECT_EQ(splitList("a, \"b,c\", <d,e>")->size(), 3u);
}

TEST(UnquoteTest, QuotedPairs) {
  EXPECT_EQ(unquote(R"("a\"b\\c")"), R"(a"b\c)");
  EXPECT_EQ(unquote("token"), "token");
}

}  // namespace
}  // namespace sipedge::sip

namespace sipedge::sip {
namespace {

TEST(TokenListTest, AStrayCarriageReturnIsNotTrimmedAway) {
  EXPECT_FALSE(parseTokenList("a\r, b"));
  EXPECT_EQ(splitList(" a ,\tb\t")->at(1), "b");
}

}  // namespace
}  // namespace sipedge::sip
