#include "sipedge/auth/authenticate.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace sipedge::auth {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr const char* kRealm = "acme.test";

sip::Message registerRequest(const std::string& auth_headers,
                             const std::string& ruri = "sip:acme.test") {
  const std::string text = "REGISTER " + ruri +
                           " SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
                           "Max-Forwards: 70\r\n"
                           "From: <sip:alice@acme.test>;tag=1928301774\r\n"
                           "To: <sip:alice@acme.test>\r\n"
                           "Call-ID: a84b4c76e66710\r\n"
                           "CSeq: 1 REGISTER\r\n"
                           "Contact: <sip:alice@192.0.2.1>\r\n" +
                           auth_headers + "Content-Length: 0\r\n\r\n";
  auto m = sip::parseMessage(text);
  EXPECT_TRUE(m) << text;
  return std::move(*m);
}

std::string nonceOf(const std::string& challenge_value) {
  const std::string key = "nonce=\"";
  const std::size_t b = challenge_value.find(key) + key.size();
  return challenge_value.substr(b, challenge_value.find('"', b) - b);
}

struct Client {
  Algorithm algorithm = Algorithm::Sha256;
  std::string user = "alice";
  std::string password = "secret";
  std::string realm = kRealm;
  std::string uri = "sip:acme.test";
  std::string method = "REGISTER";
  bool qop = true;

  std::string header(const std::string& nonce, std::uint32_t nc) const {
    Credentials c;
    c.username = user;
    c.realm = realm;
    c.nonce = nonce;
    c.uri = uri;
    c.algorithm = algorithm;
    c.has_qop = qop;
    c.qop = "auth";
    c.cnonce = "0a4f113b";
    char nc_text[9];
    std::snprintf(nc_text, sizeof nc_text, "%08x", nc);
    c.nc_text = nc_text;
    const std::string response =
        expectedResponse(algorithm, ha1(algorithm, user, realm, password), c, method);
    std::string h = "Authorization: Digest username=\"" + user + "\", realm=\"" + realm +
                    "\", nonce=\"" + nonce + "\", uri=\"" + uri + "\", response=\"" + response +
                    "\", algorithm=" + std::string(algorithmName(algorithm));
    if (qop) {
      h += ", qop=auth, nc=" + std::string(nc_text) + ", cnonce=\"0a4f113b\"";
    }
    return h + "\r\n";
  }
};

class AuthenticateTest : public ::testing::Test {
 protected:
  AuthenticateTest() : nonces_(std::string(32, 's'), Duration(300'000), 100) {
    settings_.realm = kRealm;
    auto t = Ha1Table::parse(
        "alice:acme.test:" + ha1(Algorithm::Sha256, "alice", kRealm, "secret") + "\n" +
        "alice:acme.test:" + ha1(Algorithm::Md5, "alice", kRealm, "secret") + "\n" +
        "bob:acme.test:" + ha1(Algorithm::Sha256, "bob", kRealm, "hunter2") + "\n");
    EXPECT_TRUE(t);
    table_ = std::move(*t);
  }

  AuthResult run(const std::string& headers, std::int64_t now = kT0,
                 const std::string& ruri = "sip:acme.test") {
    return authenticate(registerRequest(headers, ruri), settings_, table_, nonces_, now);
  }

  std::string freshNonce() {
    const AuthResult r = run("");
    EXPECT_EQ(r.outcome, AuthOutcome::Challenge);
    return nonceOf(r.challenges.at(0));
  }

  AuthSettings settings_;
  Ha1Table table_;
  NonceManager nonces_;
};

TEST_F(AuthenticateTest, NoHeaderChallengesOncePerAlgorithmSha256First) {
  const AuthResult r = run("");
  EXPECT_EQ(r.outcome, AuthOutcome::Challenge);
  EXPECT_FALSE(r.stale);
  ASSERT_EQ(r.challenges.size(), 2u);
  const std::string nonce = nonceOf(r.challenges[0]);
  EXPECT_EQ(nonces_.check(nonce, kT0), NonceCheck::Valid);
  EXPECT_EQ(r.challenges[0],
            "Digest realm=\"acme.test\", nonce=\"" + nonce + "\", algorithm=SHA-256, qop=\"auth\"");
  EXPECT_EQ(r.challenges[1],
            "Digest realm=\"acme.test\", nonce=\"" + nonce + "\", algorithm=MD5, qop=\"auth\"");
  EXPECT_EQ(r.detail, "no Digest credentials for this realm");
}

TEST_F(AuthenticateTest, OfferedAlgorithmsFollowTheSettings) {
  settings_.algorithms = {Algorithm::Md5};
  AuthResult r = run("");
  ASSERT_EQ(r.challenges.size(), 1u);
  EXPECT_NE(r.challenges[0].find("algorithm=MD5"), std::string::npos);
  settings_.algorithms.clear();  // empty: the default pair
  r = run("");
  EXPECT_EQ(r.challenges.size(), 2u);
}

TEST_F(AuthenticateTest, CorrectSha256ResponseIsOk) {
  Client client;
  const AuthResult r = run(client.header(freshNonce(), 1));
  EXPECT_EQ(r.outcome, AuthOutcome::Ok) << r.detail << r.reason;
  EXPECT_EQ(r.username, "alice");
  EXPECT_TRUE(r.challenges.empty());
}

TEST_F(AuthenticateTest, CorrectMd5ResponseIsOk) {
  Client client;
  client.algorithm = Algorithm::Md5;
  const std::string nonce = freshNonce();
  EXPECT_EQ(run(client.header(nonce, 1)).outcome, AuthOutcome::Ok);
  EXPECT_EQ(run(client.header(nonce, 2)).outcome, AuthOutcome::Ok);  // nc increases: reuse is ok
}

TEST_F(AuthenticateTest, WithoutQopTheNonceWorksOnce) {
  Client client;
  client.qop = false;
  const std::string nonce = freshNonce();
  EXPECT_EQ(run(client.header(nonce, 0)).outcome, AuthOutcome::Ok);
  const AuthResult again = run(client.header(nonce, 0));
  EXPECT_EQ(again.outcome, AuthOutcome::Challenge);
  EXPECT_TRUE(again.stale);
  EXPECT_EQ(again.detail, "nonce reused without qop");
}

TEST_F(AuthenticateTest, WrongPasswordIsForbidden) {
  Client client;
  client.password = "wrong";
  const AuthResult r = run(client.header(freshNonce(), 1));
  EXPECT_EQ(r.outcome, AuthOutcome::Forbidden);
  EXPECT_EQ(r.reason, "Bad Credentials");
  EXPECT_EQ(r.detail, "wrong response");
  EXPECT_EQ(r.username, "alice");
  EXPECT_TRUE(r.challenges.empty());
}

TEST_F(AuthenticateTest, UnknownUserLooksLikeAWrongPassword) {
  Client client;
  client.user = "mallory";
  const AuthResult r = run(client.header(freshNonce(), 1));
  EXPECT_EQ(r.outcome, AuthOutcome::Forbidden);
  EXPECT_EQ(r.reason, "Bad Credentials");
  EXPECT_EQ(r.detail, "unknown user (or no HA1 for this algorithm)");
  // bob has no MD5 line.
  Client bob;
  bob.user = "bob";
  bob.password = "hunter2";
  bob.algorithm = Algorithm::Md5;
  EXPECT_EQ(run(bob.header(freshNonce(), 1)).reason, "Bad Credentials");
  bob.algorithm = Algorithm::Sha256;
  EXPECT_EQ(run(bob.header(freshNonce(), 1)).outcome, AuthOutcome::Ok);
}

TEST_F(AuthenticateTest, StaleNonceWithRightPasswordChallengesWithStale) {
  Client client;
  const std::string nonce = freshNonce();
  const AuthResult r = run(client.header(nonce, 1), kT0 + 300'001);
  EXPECT_EQ(r.outcome, AuthOutcome::Challenge);
  EXPECT_TRUE(r.stale);
  ASSERT_EQ(r.challenges.size(), 2u);
  EXPECT_NE(r.challenges[0].find(", stale=true"), std::string::npos);
  EXPECT_NE(nonceOf(r.challenges[0]), nonce);
  EXPECT_EQ(r.detail, "nonce stale");
  // The client retries with the fresh nonce and gets in.
  EXPECT_EQ(run(client.header(nonceOf(r.challenges[0]), 1), kT0 + 300'001).outcome,
            AuthOutcome::Ok);
}

TEST_F(AuthenticateTest, StaleNonceWithWrongPasswordChallengesWithoutStale) {
  Client client;
  client.password = "wrong";
  const AuthResult r = run(client.header(freshNonce(), 1), kT0 + 300'001);
  EXPECT_EQ(r.outcome, AuthOutcome::Challenge);
  EXPECT_FALSE(r.stale);
  EXPECT_EQ(r.challenges[0].find("stale"), std::string::npos);
}

TEST_F(AuthenticateTest, ForeignNonceWithRightPasswordIsStale) {
  // E.g. a nonce minted before a restart (another secret).
  NonceManager before(std::string(32, 'o'), Duration(300'000), 10);
  Client client;
  const AuthResult r = run(client.header(before.mint(kT0), 1));
  EXPECT_EQ(r.outcome, AuthOutcome::Challenge);
  EXPECT_TRUE(r.stale);
  EXPECT_EQ(r.detail, "nonce invalid");
}

TEST_F(AuthenticateTest, ReplayedNonceCountChallenges) {
  Client client;
  const std::string nonce = freshNonce();
  const std::string header = client.header(nonce, 1);
  EXPECT_EQ(run(header).outcome, AuthOutcome::Ok);
  const AuthResult r = run(header);
  EXPECT_EQ(r.outcome, AuthOutcome::Challenge);
  EXPECT_TRUE(r.stale);
  EXPECT_EQ(r.detail, "nonce count replayed");
  EXPECT_NE(nonceOf(r.challenges[0]), nonce);
}

TEST_F(AuthenticateTest, UriMismatchIsBadRequest) {
  Client client;
  client.uri = "sip:other.test";
  const AuthResult r = run(client.header(freshNonce(), 1));
  EXPECT_EQ(r.outcome, AuthOutcome::BadRequest);
  EXPECT_EQ(r.reason, "Digest URI Does Not Match Request-URI");
}

TEST_F(AuthenticateTest, UriMatchToleratesCaseInSchemeAndHost) {
  Client client;
  client.uri = "SIP:ACME.Test";
  EXPECT_EQ(run(client.header(freshNonce(), 1)).outcome, AuthOutcome::Ok);
  client.uri = "sip:acme.test;transport=tcp";
  EXPECT_EQ(run(client.header(freshNonce(), 1), kT0, "sip:acme.test;TRANSPORT=TCP").outcome,
            AuthOutcome::Ok);
}

TEST_F(AuthenticateTest, UnparsableCredentialsAreBadRequest) {
  const AuthResult r = run("Authorization: Digest username=\"alice\", realm=\"acme.test\"\r\n");
  EXPECT_EQ(r.outcome, AuthOutcome::BadRequest);
  EXPECT_EQ(r.reason, "Bad Authorization: missing parameter 'nonce'");
}

TEST_F(AuthenticateTest, AlgorithmNotOfferedIsForbidden) {
  settings_.algorithms = {Algorithm::Sha256};
  Client client;
  client.algorithm = Algorithm::Md5;
  const AuthResult r = run(client.header(freshNonce(), 1));
  EXPECT_EQ(r.outcome, AuthOutcome::Forbidden);
  EXPECT_EQ(r.reason, "Digest Algorithm Not Allowed");
}

TEST_F(AuthenticateTest, PicksTheHeaderForOurRealm) {
  Client ours;
  Client theirs;
  theirs.realm = "elsewhere.test";
  const std::string nonce = freshNonce();
  const AuthResult r = run("Authorization: Basic YWxpY2U6c2VjcmV0\r\n" + theirs.header("n", 1) +
                           ours.header(nonce, 1));
  EXPECT_EQ(r.outcome, AuthOutcome::Ok) << r.detail;
  // Only another realm's credentials: challenge.
  const AuthResult other = run(theirs.header(nonce, 2));
  EXPECT_EQ(other.outcome, AuthOutcome::Challenge);
  EXPECT_FALSE(other.stale);
  // A broken header does not hide a good one for our realm.
  EXPECT_EQ(run("Authorization: Digest garbage\r\n" + ours.header(nonce, 2)).outcome,
            AuthOutcome::Ok);
}

TEST_F(AuthenticateTest, OutcomeNames) {
  EXPECT_EQ(outcomeName(AuthOutcome::Ok), "ok");
  EXPECT_EQ(outcomeName(AuthOutcome::Challenge), "challenge");
  EXPECT_EQ(outcomeName(AuthOutcome::BadRequest), "bad-request");
  EXPECT_EQ(outcomeName(AuthOutcome::Forbidden), "forbidden");
}

}  // namespace
}  // namespace sipedge::auth
