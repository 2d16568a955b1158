#include "sipedge/auth/digest.h"

#include <string>

#include <gtest/gtest.h>

namespace sipedge::auth {
namespace {

// RFC 7616 3.9.1.
constexpr const char* kRfc7616Md5 =
    R"(Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", )"
    R"(algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, )"
    R"(cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, )"
    R"(response="8ca523f5e9506fed4657c9700eebdbec", )"
    R"(opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")";
constexpr const char* kRfc7616Sha256 =
    R"(Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", )"
    R"(algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, )"
    R"(cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, )"
    R"(response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", )"
    R"(opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")";

const std::string kMinimal = R"(Digest username="alice", realm="acme.test", nonce="n", )"
                             R"(uri="sip:acme.test", response="0123456789abcdef0123456789abcdef")";

std::string parseError(std::string_view value) {
  auto c = parseCredentials(value);
  EXPECT_FALSE(c.has_value()) << value;
  return c ? std::string() : c.error();
}

TEST(AlgorithmTest, NamesAndParsing) {
  EXPECT_EQ(algorithmName(Algorithm::Md5), "MD5");
  EXPECT_EQ(algorithmName(Algorithm::Sha256), "SHA-256");
  EXPECT_EQ(parseAlgorithm("md5").value(), Algorithm::Md5);
  EXPECT_EQ(parseAlgorithm("sha-256").value(), Algorithm::Sha256);
  EXPECT_EQ(parseAlgorithm("SHA-256-sess").error(),
            "algorithm SHA-256-sess is not supported (no -sess variants; use MD5 or SHA-256)");
  EXPECT_EQ(parseAlgorithm("md5-SESS").error(),
            "algorithm md5-SESS is not supported (no -sess variants; use MD5 or SHA-256)");
  EXPECT_EQ(parseAlgorithm("SHA-512-256").error(),
            "algorithm 'SHA-512-256' is not supported (use MD5 or SHA-256)");
  EXPECT_EQ(hexLength(Algorithm::Md5), 32u);
  EXPECT_EQ(hexLength(Algorithm::Sha256), 64u);
}

TEST(DigestTest, Rfc7616Md5Example) {
  auto c = parseCredentials(kRfc7616Md5);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->username, "Mufasa");
  EXPECT_EQ(c->realm, "http-auth@example.org");
  EXPECT_EQ(c->algorithm, Algorithm::Md5);
  EXPECT_TRUE(c->has_qop);
  EXPECT_EQ(c->nc, 1u);
  EXPECT_EQ(c->opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  const std::string h = ha1(Algorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(expectedResponse(Algorithm::Md5, h, *c, "GET"), "8ca523f5e9506fed4657c9700eebdbec");
  EXPECT_TRUE(verifyResponse(*c, "GET", h));
  EXPECT_FALSE(verifyResponse(*c, "POST", h));
  EXPECT_FALSE(verifyResponse(
      *c, "GET", ha1(Algorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of life")));
}

TEST(DigestTest, Rfc7616Sha256Example) {
  auto c = parseCredentials(kRfc7616Sha256);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->algorithm, Algorithm::Sha256);
  const std::string h = ha1(Algorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(expectedResponse(Algorithm::Sha256, h, *c, "GET"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  EXPECT_TRUE(verifyResponse(*c, "GET", h));
  // HA1 in upper case works too.
  std::string upper = h;
  for (char& ch : upper) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  EXPECT_TRUE(verifyResponse(*c, "GET", upper));
}

TEST(DigestTest, Rfc2617Example) {
  auto c = parseCredentials(
      R"(Digest username="Mufasa", realm="testrealm@host.com", )"
      R"(nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, )"
      R"(nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", )"
      R"(opaque="5ccc069c403ebaf9f0171e9517f40e41")");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->has_algorithm);
  EXPECT_EQ(c->algorithm, Algorithm::Md5);
  const std::string h = ha1(Algorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  EXPECT_EQ(h, "939e7578ed9e3c518a452acee763bce9");
  EXPECT_TRUE(verifyResponse(*c, "GET", h));
}

TEST(DigestTest, Rfc2069FormWithoutQop) {
  // RFC 2069 2.4's inputs; the response was computed independently (Python hashlib): the value
  // printed in RFC 2069 does not match its own inputs.
  auto c = parseCredentials(R"(Digest username="Mufasa", realm="testrealm@host.com", )"
                            R"(nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", )"
                            R"(response="1949323746fe6a43ef61f9606e7febea")");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->has_qop);
  const std::string h = ha1(Algorithm::Md5, "Mufasa", "testrealm@host.com", "CircleOfLife");
  EXPECT_EQ(expectedResponse(Algorithm::Md5, h, *c, "GET"), "1949323746fe6a43ef61f9606e7febea");
  EXPECT_TRUE(verifyResponse(*c, "GET", h));
}

TEST(DigestTest, Ha1MatchesStandardTools) {
  // printf '%s' 'alice:acme.test:secret' | sha256sum (and md5sum).
  EXPECT_EQ(ha1(Algorithm::Sha256, "alice", "acme.test", "secret"),
            "660bb2dd53164aeb58e31a5f6518ffaae189eca4254ce438de78979ddfe02fb7");
  EXPECT_EQ(ha1(Algorithm::Md5, "alice", "acme.test", "secret"),
            "62abbcaad5230b08a2a615ebafe2832c");
}

TEST(ParseCredentialsTest, QuotedPairsSpacesAndCase) {
  auto c = parseCredentials(
      "  dIgEsT\tUserName = \"al\\\"ice\\\\\" ,REALM=\"acme.test\",nonce=\"a b\" , "
      "Uri=\"sip:acme.test\",  RESPONSE=\"0123456789ABCDEF0123456789abcdef\",qop=\"auth\","
      "NC=0000000a,cnonce=xyz, future-ext=\"ignored\"  ");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->username, "al\"ice\\");
  EXPECT_EQ(c->realm, "acme.test");
  EXPECT_EQ(c->nonce, "a b");
  EXPECT_EQ(c->uri, "sip:acme.test");
  EXPECT_EQ(c->response, "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(c->has_qop);
  EXPECT_EQ(c->qop, "auth");
  EXPECT_EQ(c->nc, 10u);
  EXPECT_EQ(c->nc_text, "0000000a");
  EXPECT_EQ(c->cnonce, "xyz");
  EXPECT_FALSE(c->has_opaque);
}

TEST(ParseCredentialsTest, EmptyRealmAndTokenValues) {
  auto c = parseCredentials(
      R"(Digest username=alice, realm="", nonce=abc, uri="*", response="0123456789abcdef0123456789abcdef", opaque="")");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->realm, "");
  EXPECT_TRUE(c->has_opaque);
}

TEST(ParseCredentialsTest, SchemeErrors) {
  EXPECT_EQ(parseError(""), "expected the Digest scheme at offset 0");
  EXPECT_EQ(parseError("Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
            "unsupported authentication scheme 'Basic' (expected Digest)");
  EXPECT_EQ(parseError("Digest"), "no Digest parameters");
  EXPECT_EQ(parseError("Digest   "), "no Digest parameters");
  EXPECT_EQ(parseError("Digestusername=\"a\""),
            "unsupported authentication scheme 'Digestusername' (expected Digest)");
  EXPECT_TRUE(isDigestScheme(" digest x=y"));
  EXPECT_FALSE(isDigestScheme("Basic abc"));
  EXPECT_FALSE(isDigestScheme("Digestive x"));
}

TEST(ParseCredentialsTest, SyntaxErrorsSayWhere) {
  EXPECT_EQ(parseError(R"(Digest username="alice)"),
            "unterminated quoted-string in the value of 'username' (opened at offset 16)");
  EXPECT_EQ(parseError(R"(Digest username="al\)"),
            "unterminated quoted-string in the value of 'username' (opened at offset 16)");
  EXPECT_EQ(parseError("Digest username=\"a\rb\""),
            "control character in the value of 'username' at offset 18");
  EXPECT_EQ(parseError("Digest username=\"a\\\nb\""),
            "control character escaped in the value of 'username' at offset 19");
  EXPECT_EQ(parseError(R"(Digest username "alice")"),
            "expected '=' after parameter 'username' at offset 16");
  EXPECT_EQ(parseError(R"(Digest username=, realm="x")"),
            "expected a token or quoted-string for 'username' at offset 16");
  EXPECT_EQ(parseError(R"(Digest username="a" realm="x")"),
            "expected ',' after the value of 'username' at offset 20");
  EXPECT_EQ(parseError(R"(Digest username="a",, realm="x")"),
            "expected a parameter name at offset 20");
  EXPECT_EQ(parseError(R"(Digest username="a",)"), "expected a parameter name at offset 20");
  EXPECT_EQ(parseError(R"(Digest =x)"), "expected a parameter name at offset 7");
}

TEST(ParseCredentialsTest, DuplicatesRejectedCaseInsensitively) {
  EXPECT_EQ(parseError(kMinimal + R"(, Realm="other")"),
            "duplicate parameter 'Realm' at offset " + std::to_string(kMinimal.size() + 2));
  EXPECT_EQ(parseError(kMinimal + ", x=1, X=2"),
            "duplicate parameter 'X' at offset " + std::to_string(kMinimal.size() + 7));
}

TEST(ParseCredentialsTest, MissingAndEmptyParams) {
  const char* names[] = {"username", "realm", "nonce", "uri", "response"};
  for (const char* name : names) {
    // Rename the parameter so that it is missing.
    std::string value = kMinimal;
    const std::size_t at = value.find(std::string(" ") + name + "=");
    ASSERT_NE(at, std::string::npos);
    value.insert(at + 1, "x-");
    EXPECT_EQ(parseError(value), std::string("missing parameter '") + name + "'");
  }
  EXPECT_EQ(
      parseError(
          R"(Digest username="", realm="r", nonce="n", uri="u", response="0123456789abcdef0123456789abcdef")"),
      "parameter 'username' is empty");
  EXPECT_EQ(
      parseError(
          R"(Digest username="a", realm="r", nonce="", uri="u", response="0123456789abcdef0123456789abcdef")"),
      "parameter 'nonce' is empty");
  EXPECT_EQ(
      parseError(
          R"(Digest username="a", realm="r", nonce="n", uri="", response="0123456789abcdef0123456789abcdef")"),
      "parameter 'uri' is empty");
}

TEST(ParseCredentialsTest, ResponseHexLength) {
  const std::string base = R"(Digest username="a", realm="r", nonce="n", uri="u", )";
  EXPECT_EQ(parseError(base + R"(response="0123456789abcdef0123456789abcde")"),
            "parameter 'response' must be 32 hex digits for MD5");
  EXPECT_EQ(parseError(base + R"(response="0123456789abcdef0123456789abcdeg")"),
            "parameter 'response' must be 32 hex digits for MD5");
  EXPECT_EQ(parseError(base + R"(algorithm=SHA-256, response="0123456789abcdef0123456789abcdef")"),
            "parameter 'response' must be 64 hex digits for SHA-256");
  EXPECT_TRUE(
      parseCredentials(base + R"(algorithm=sha-256, response=")" + std::string(64, 'A') + "\""));
}

TEST(ParseCredentialsTest, QopNcCnonce) {
  EXPECT_EQ(parseError(kMinimal + ", qop=auth, nc=00000001"),
            "qop=auth requires a non-empty 'cnonce'");
  EXPECT_EQ(parseError(kMinimal + ", qop=auth, nc=00000001, cnonce=\"\""),
            "qop=auth requires a non-empty 'cnonce'");
  EXPECT_EQ(parseError(kMinimal + ", qop=auth, cnonce=c"), "qop=auth requires 'nc'");
  EXPECT_EQ(parseError(kMinimal + ", qop=auth, cnonce=c, nc=1"),
            "parameter 'nc' must be 8 hex digits");
  EXPECT_EQ(parseError(kMinimal + ", qop=auth, cnonce=c, nc=0000000g"),
            "parameter 'nc' must be 8 hex digits");
  EXPECT_EQ(parseError(kMinimal + ", qop=auth-int, cnonce=c, nc=00000001"),
            "qop=auth-int is not supported (only qop=auth)");
  EXPECT_EQ(parseError(kMinimal + ", qop=\"auth,auth-int\", cnonce=c, nc=00000001"),
            "qop 'auth,auth-int' is not supported (only qop=auth)");
  auto c = parseCredentials(kMinimal + ", qop=AUTH, cnonce=c, nc=FFFFFFFF");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->nc, 0xFFFFFFFFu);
  EXPECT_EQ(c->qop, "AUTH");
}

TEST(ParseCredentialsTest, UnsupportedFeatures) {
  EXPECT_EQ(parseError(kMinimal + ", algorithm=MD5-sess"),
            "algorithm MD5-sess is not supported (no -sess variants; use MD5 or SHA-256)");
  EXPECT_EQ(parseError(kMinimal + ", userhash=true"), "userhash=true is not supported");
  EXPECT_TRUE(parseCredentials(kMinimal + ", userhash=false"));
  EXPECT_EQ(parseError(kMinimal + ", username*=UTF-8''J%C3%A4s"),
            "parameter 'username*' (RFC 7616 extended notation) is not supported");
}

TEST(ParseCredentialsTest, BoundedAndSanitized) {
  std::string big = kMinimal + ", pad=\"" + std::string(kMaxCredentialsBytes, 'x') + "\"";
  EXPECT_EQ(parseError(big),
            "Digest credentials too long (" + std::to_string(big.size()) + " bytes, limit 4096)");
  std::string many = kMinimal;
  for (int i = 0; i < 40; ++i) {
    many += ", p" + std::to_string(i) + "=1";
  }
  EXPECT_EQ(parseError(many), "more than 32 Digest parameters");
  // Long or odd names are cut and cleaned in the message.
  const std::string err = parseError("Digest " + std::string(100, 'n') + "\"");
  EXPECT_EQ(err, "expected '=' after parameter '" + std::string(24, 'n') + "...' at offset 107");
  EXPECT_EQ(parseError(kMinimal + ", algorithm=" + std::string(50, 'Z')),
            "algorithm '" + std::string(16, 'Z') + "...' is not supported (use MD5 or SHA-256)");
}

TEST(ChallengeTest, Format) {
  EXPECT_EQ(challenge("acme.test", "abc", Algorithm::Sha256, false),
            R"(Digest realm="acme.test", nonce="abc", algorithm=SHA-256, qop="auth")");
  EXPECT_EQ(challenge("acme.test", "abc", Algorithm::Md5, true, "op"),
            R"(Digest realm="acme.test", nonce="abc", algorithm=MD5, qop="auth", stale=true, )"
            R"(opaque="op")");
  EXPECT_EQ(challenge("a\"b\\c\r\nd", "n", Algorithm::Md5, false),
            R"(Digest realm="a\"b\\cd", nonce="n", algorithm=MD5, qop="auth")");
}

TEST(ChallengeTest, RealmRoundTripsThroughTheParser) {
  // A client echoes the realm as it read it: the quoting survives a parse.
  const std::string realm = "we \"quote\" \\ this";
  const std::string value = "Digest username=\"u\", realm=" + quoteString(realm) +
                            ", nonce=\"n\", uri=\"sip:x\", response=\"" + std::string(32, '0') +
                            "\"";
  auto c = parseCredentials(value);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->realm, realm);
}

}  // namespace
}  // namespace sipedge::auth
