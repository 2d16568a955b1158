// authenticate(): the registrar's one call (see authenticate.h for the outcome of each case).

#include "sipedge/auth/authenticate.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "sipedge/base/strings.h"
#include "sipedge/sip/uri.h"

namespace sipedge::auth {

namespace {

// An HA1 that matches nothing, hashed in place of an unknown user's so that both cases do the
// same work.
constexpr std::string_view kNoUserHa1 =
    "0000000000000000000000000000000000000000000000000000000000000000";

const std::vector<Algorithm>& offered(const AuthSettings& settings) {
  static const std::vector<Algorithm> kDefault{Algorithm::Sha256, Algorithm::Md5};
  return settings.algorithms.empty() ? kDefault : settings.algorithms;
}

AuthResult challengeResult(const AuthSettings& settings, NonceManager& nonces, std::int64_t now_ms,
                           bool stale, std::string username, std::string detail) {
  AuthResult r;
  r.outcome = AuthOutcome::Challenge;
  r.username = std::move(username);
  r.detail = std::move(detail);
  r.stale = stale;
  const std::string nonce = nonces.mint(now_ms);
  for (Algorithm a : offered(settings)) {
    r.challenges.push_back(challenge(settings.realm, nonce, a, stale));
  }
  return r;
}

AuthResult refusal(AuthOutcome outcome, std::string username, std::string reason,
                   std::string detail) {
  AuthResult r;
  r.outcome = outcome;
  r.username = std::move(username);
  r.reason = std::move(reason);
  r.detail = std::move(detail);
  return r;
}

// The digest-uri names the Request-URI: the same text, or equivalent URIs (RFC 3261 19.1.4:
// scheme and host case-insensitive).
bool uriMatches(std::string_view digest_uri, std::string_view request_uri) {
  if (digest_uri == request_uri) {
    return true;
  }
  const auto a = sip::parseUri(digest_uri);
  const auto b = sip::parseUri(request_uri);
  return a && b && sip::uriEquivalent(*a, *b);
}

}  // namespace

std::string_view outcomeName(AuthOutcome outcome) {
  switch (outcome) {
    case AuthOutcome::Ok: return "ok";
    case AuthOutcome::Challenge: return "challenge";
    case AuthOutcome::BadRequest: return "bad-request";
    case AuthOutcome::Forbidden: return "forbidden";
  }
  return "?";
}

AuthResult authenticate(const sip::Message& request, const AuthSettings& settings,
                        const Ha1Table& table, NonceManager& nonces, std::int64_t now_ms) {
  // The first Digest credentials for our realm; otherwise the first parse error, if any.
  std::optional<Credentials> credentials;
  std::optional<std::string> parse_error;
  for (const sip::Header& h : request.headers()) {
    if (!iequals(h.name, "Authorization") || !isDigestScheme(h.value)) {
      continue;
    }
    auto parsed = parseCredentials(h.value);
    if (!parsed) {
      if (!parse_error) {
        parse_error = std::move(parsed.error());
      }
      continue;
    }
    if (parsed->realm == settings.realm) {
      credentials = std::move(*parsed);
      break;
    }
  }
  if (!credentials) {
    if (parse_error) {
      return refusal(AuthOutcome::BadRequest, {}, "Bad Authorization: " + *parse_error,
                     "unparsable Digest credentials: " + *parse_error);
    }
    return challengeResult(settings, nonces, now_ms, false, {},
                           "no Digest credentials for this realm");
  }
  const Credentials& c = *credentials;
  const auto& algorithms = offered(settings);
  if (std::find(algorithms.begin(), algorithms.end(), c.algorithm) == algorithms.end()) {
    return refusal(AuthOutcome::Forbidden, c.username, "Digest Algorithm Not Allowed",
                   fmt::format("algorithm {} not offered", algorithmName(c.algorithm)));
  }
  if (!uriMatches(c.uri, request.requestUri().text)) {
    return refusal(AuthOutcome::BadRequest, c.username, "Digest URI Does Not Match Request-URI",
                   "digest uri differs from the Request-URI");
  }

  const NonceCheck nonce = nonces.check(c.nonce, now_ms);
  const std::optional<std::string_view> ha1 = table.find(c.username, c.realm, c.algorithm);
  const bool right = verifyResponse(c, request.methodText(),
                                    ha1 ? *ha1 : kNoUserHa1.substr(0, hexLength(c.algorithm)));
  const bool correct = right && ha1.has_value();
  if (!correct) {
    const char* what = ha1 ? "wrong response" : "unknown user (or no HA1 for this algorithm)";
    if (nonce == NonceCheck::Valid) {
      return refusal(AuthOutcome::Forbidden, c.username, "Bad Credentials", what);
    }
    return challengeResult(settings, nonces, now_ms, false, c.username,
                           fmt::format("{}, nonce {}", what, nonceCheckName(nonce)));
  }
  if (nonce != NonceCheck::Valid) {
    return challengeResult(settings, nonces, now_ms, true, c.username,
                           fmt::format("nonce {}", nonceCheckName(nonce)));
  }
  switch (nonces.use(c.nonce, c.nc, c.has_qop, now_ms)) {
    case NonceCheck::Valid: {
      AuthResult r;
      r.outcome = AuthOutcome::Ok;
      r.username = c.username;
      return r;
    }
    case NonceCheck::Replay:
      return challengeResult(settings, nonces, now_ms, true, c.username,
                             c.has_qop ? "nonce count replayed" : "nonce reused without qop");
    case NonceCheck::Stale:
      return challengeResult(settings, nonces, now_ms, true, c.username, "nonce stale");
    case NonceCheck::Invalid: break;
  }
  return challengeResult(settings, nonces, now_ms, false, c.username, "nonce invalid");
}

}  // namespace sipedge::auth
