#include <gtest/gtest.h>

#include "sipedge/sip/uri.h"

namespace sipedge::sip {
namespace {

Uri parseOk(std::string_view text) {
  auto u = parseUri(text);
  EXPECT_TRUE(u.has_value()) << text << ": " << (u ? "" : u.error().describe());
  return u ? *u : Uri{};
}

TEST(UriTest, SipWithUserHostPortParamsHeaders) {
  const Uri u = parseOk(
      "sip:alice:secret@Atlanta.example.com:5061;transport=tcp;lr?subject=hi&priority=urgent");
  EXPECT_EQ(u.scheme, UriScheme::Sip);
  EXPECT_EQ(u.user, "alice");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.password, "secret");
  EXPECT_EQ(u.host, "Atlanta.example.com");
  EXPECT_EQ(u.host_kind, HostKind::Name);
  EXPECT_EQ(u.port, 5061);
  EXPECT_EQ(u.param("transport"), "tcp");
  EXPECT_EQ(u.param("LR"), "");  // valueless, case-insensitive name
  EXPECT_FALSE(u.param("maddr").has_value());
  EXPECT_EQ(u.headers, "subject=hi&priority=urgent");
}

TEST(UriTest, SipsIpv4AndIpv6Hosts) {
  const Uri v4 = parseOk("sips:127.0.0.1:5061");
  EXPECT_EQ(v4.scheme, UriScheme::Sips);
  EXPECT_EQ(v4.host_kind, HostKind::IPv4);
  EXPECT_TRUE(v4.user.empty());
  const Uri v6 = parseOk("sip:bob@[2001:db8::10]:5070;maddr=[::1]");
  EXPECT_EQ(v6.host, "[2001:db8::10]");
  EXPECT_EQ(v6.host_kind, HostKind::IPv6);
  EXPECT_EQ(v6.port, 5070);
  EXPECT_EQ(v6.param("maddr"), "[::1]");
}

TEST(UriTest, UserWithEscapesAndUserUnreservedCharacters) {
  // RFC 4475 3.1.1.9: the ';' before '@' belongs to the user part.
  const Uri u = parseOk("sip:user;par=u%40example.net@example.com");
  EXPECT_EQ(u.user, "user;par=u%40example.net");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_TRUE(u.params.empty());
  // Telephone-subscriber in the user part.
  const Uri t = parseOk("sip:+1-212-555-1212:1234@gateway.example.com;user=phone");
  EXPECT_EQ(t.user, "+1-212-555-1212");
  EXPECT_EQ(t.password, "1234");
  EXPECT_EQ(t.param("user"), "phone");
}

TEST(UriTest, TelUri) {
  const Uri u = parseOk("tel:+1-201-555-0123;phone-context=example.com");
  EXPECT_EQ(u.scheme, UriScheme::Tel);
  EXPECT_EQ(u.user, "+1-201-555-0123");
  EXPECT_EQ(u.param("phone-context"), "example.com");
  EXPECT_FALSE(parseUri("tel:").has_value());
  EXPECT_FALSE(parseUri("tel:+").has_value());
}

TEST(UriTest, UnknownSchemesAreKeptAsAbsoluteUris) {
  const Uri u = parseOk("nobodyKnowsThisScheme:totallyopaquecontent");
  EXPECT_EQ(u.scheme, UriScheme::Other);
  EXPECT_EQ(u.scheme_text, "nobodyKnowsThisScheme");
  EXPECT_EQ(u.opaque, "totallyopaquecontent");
  EXPECT_EQ(parseOk("soap.beep://192.0.2.103:3002").opaque, "//192.0.2.103:3002");
  EXPECT_EQ(parseOk("urn:service:sos").scheme, UriScheme::Other);
}

struct BadUri {
  const char* text;
  const char* detail;
};

class BadUriTest : public testing::TestWithParam<BadUri> {};

TEST_P(BadUriTest, IsRejectedWithReason) {
  auto u = parseUri(GetParam().text);
  ASSERT_FALSE(u.has_value()) << GetParam().text;
  EXPECT_EQ(u.error().code, ParseErrorCode::BadUri);
  EXPECT_STREQ(u.error().detail, GetParam().detail) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Forms, BadUriTest,
    testing::Values(BadUri{"example.com", "missing scheme"}, BadUri{":x", "missing scheme"},
                    BadUri{"<sip:a@example.com>", "bad scheme"}, BadUri{"sip:", "missing host"},
                    BadUri{"sip:@example.com", "empty user"},
                    BadUri{"sip:a@b@example.com", "unexpected character in URI"},
                    BadUri{"sip:al ice@example.com", "bad character in user part"},
                    BadUri{"sip:a%4@example.com", "bad escape in user"},
                    BadUri{"sip:a@example.com:99999", "bad port"},
                    BadUri{"sip:a@example.com:", "bad port"},
                    BadUri{"sip:a@[::1", "unterminated IPv6 reference"},
                    BadUri{"sip:a@[zz::1]", "bad IPv6 reference"},
                    BadUri{"sip:a@-bad.example.com", "bad host name"},
                    BadUri{"sip:a@1.2.3.256", "bad IPv4 address"},
                    BadUri{"sip:a@example.com;", "empty parameter name"},
                    BadUri{"sip:a@example.com;x=", "empty parameter value"},
                    BadUri{"sip:a@example.com;x=%zz", "bad escape in parameter"},
                    BadUri{"sip:a@example.com?", "bad header name in URI"},
                    BadUri{"sip:a@example.com?x", "expected '=' in URI header"},
                    BadUri{"sip:a@example.com>", "unexpected character in URI"},
                    BadUri{"x:a b", "bad character in URI"}));

TEST(UriTest, ErrorOffsetPointsAtTheProblem) {
  auto u = parseUri("sip:alice@example.com:70000");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().offset, 22u);
}

// RFC 3261 19.1.4: the equivalent and non-equivalent examples of the RFC.
TEST(UriTest, ComparisonEquivalentExamples) {
  const std::pair<const char*, const char*> equal[] = {
      {"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
      {"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"},
      {"sip:carol@chicago.com", "sip:carol@chicago.com;security=on"},
      {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
      {"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
       "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
      {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
       "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
  };
  for (const auto& [a, b] : equal) {
    EXPECT_TRUE(uriEquivalent(parseOk(a), parseOk(b))) << a << " vs " << b;
    EXPECT_TRUE(uriEquivalent(parseOk(b), parseOk(a))) << b << " vs " << a;
  }
}

TEST(UriTest, ComparisonNonEquivalentExamples) {
  const std::pair<const char*, const char*> differ[] = {
      {"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
      {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
      {"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},
      {"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},
      {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},
      {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
      {"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"},
      {"sip:alice@example.com", "sips:alice@example.com"},
      {"sip:alice:pw@example.com", "sip:alice@example.com"},
  };
  for (const auto& [a, b] : differ) {
    EXPECT_FALSE(uriEquivalent(parseOk(a), parseOk(b))) << a << " vs " << b;
  }
}

TEST(UriTest, TelAndOtherComparison) {
  EXPECT_TRUE(uriEquivalent(parseOk("tel:+1-201-555-0123"), parseOk("tel:+1.201.555.0123")));
  EXPECT_FALSE(uriEquivalent(parseOk("tel:+1-201-555-0123"), parseOk("tel:+1-201-555-0124")));
  EXPECT_TRUE(uriEquivalent(parseOk("URN:a%62c"), parseOk("urn:abc")));
  EXPECT_FALSE(uriEquivalent(parseOk("urn:abc"), parseOk("urn:abd")));
}

TEST(UriTest, ParamHelpersRewriteOnlyTheParameter) {
  const Uri u = parseOk("SIP:bob@example.com:5070;transport=udp;lr?x=1");
  EXPECT_EQ(toString(u), "sip:bob@example.com:5070;transport=udp;lr?x=1");
  EXPECT_EQ(withUriParam(u, "transport", "tcp"), "sip:bob@example.com:5070;transport=tcp;lr?x=1");
  EXPECT_EQ(withUriParam(u, "ob", std::nullopt),
            "sip:bob@example.com:5070;transport=udp;lr;ob?x=1");
  EXPECT_EQ(withoutUriParam(u, "LR"), "sip:bob@example.com:5070;transport=udp?x=1");
  EXPECT_EQ(withoutUriParam(parseOk("tel:+123;phone-context=x"), "phone-context"), "tel:+123");
  const std::string rewritten = withUriParam(u, "maddr", "127.0.0.1");
  EXPECT_TRUE(parseUri(rewritten).has_value());
}

TEST(ParamListTest, IteratesWithWhitespaceAndQuotedValues) {
  const ParamList p(" ; a = 1 ;b; c=\"x;y\"");
  std::vector<Param> seen(p.begin(), p.end());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (Param{"a", "1", true}));
  EXPECT_EQ(seen[1], (Param{"b", "", false}));
  EXPECT_EQ(seen[2], (Param{"c", "\"x;y\"", true}));
  EXPECT_TRUE(ParamList().empty());
}

}  // namespace
}  // namespace sipedge::sip

namespace sipedge::sip {
namespace {

// Found by sip_uri_fuzz (fuzz/corpus/sip_uri/regress-uri-equivalent-duplicate-param): a repeated
// parameter made a URI differ from itself.
TEST(UriTest, RepeatedParameterComparesByFirstOccurrence) {
  const Uri u = parseOk("sip:a@example.com;lr;lr=1");
  EXPECT_TRUE(uriEquivalent(u, u));
  EXPECT_TRUE(uriEquivalent(u, parseOk("sip:a@example.com;lr")));
  EXPECT_TRUE(uriEquivalent(parseOk("sip:a@example.com;lr"), u));
  EXPECT_FALSE(uriEquivalent(u, parseOk("sip:a@example.com;lr=2")));
}

}  // namespace
}  // namespace sipedge::sip
