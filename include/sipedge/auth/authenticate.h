#pragma once

// The one call the registrar makes: authenticate a request against the HA1 table, minting
// challenges as needed (RFC 3261 22.4, RFC 7616, RFC 8760).
//
// Outcomes, in the order they are decided:
//  - no Digest Authorization header for our realm: Challenge (fresh nonce). A non-Digest header
//    (Basic, Bearer) is skipped. If a Digest header failed to parse and none is for our realm:
//    BadRequest with the parse error as reason.
//  - algorithm not among AuthSettings::algorithms: Forbidden "Digest Algorithm Not Allowed".
//  - digest uri not the Request-URI (same text, or RFC 3261 19.1.4-equivalent URIs):
//    BadRequest "Digest URI Does Not Match Request-URI".
//  - wrong response, or unknown user / no HA1 for that algorithm (treated alike, with the same
//    work, so that the answer does not tell which users exist):
//      nonce ours and fresh: Forbidden "Bad Credentials" (a 401 would make some UAs loop);
//      nonce stale or not ours: Challenge, stale=false (RFC 7616 3.3: the client must get new
//      credentials).
//  - right response, nonce stale, not ours (e.g. minted before a restart), forgotten, or a
//    replayed nc: Challenge with stale=true (the client retries with the fresh nonce without
//    re-prompting; RFC 7616 3.3 allows stale=true only when the response was valid).
//  - right response, fresh nonce, nc above the last one: Ok with the username.
// Challenges carry one WWW-Authenticate value per offered algorithm in the settings' order
// (SHA-256 first by default, RFC 8760 2.4), all with the same fresh nonce.

#include <cstdint>
#include <string>
#include <vector>

#include "sipedge/auth/digest.h"
#include "sipedge/auth/ha1_table.h"
#include "sipedge/auth/nonce.h"
#include "sipedge/sip/message.h"

namespace sipedge::auth {

struct AuthSettings {
  std::string realm;
  // Offered, in order of preference. Empty: SHA-256 then MD5.
  std::vector<Algorithm> algorithms{Algorithm::Sha256, Algorithm::Md5};
};

enum class AuthOutcome : std::uint8_t { Ok, Challenge, BadRequest, Forbidden };

std::string_view outcomeName(AuthOutcome outcome);

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::Challenge;
  // Ok: the authenticated user. Otherwise the claimed user, when credentials were parsed (for
  // logs only).
  std::string username;
  // BadRequest / Forbidden: the reason phrase for the 400 / 403. It never says whether a user
  // exists.
  std::string reason;
  // For logs, never for the wire: what exactly happened ("unknown user", "wrong response",
  // "nonce stale", "nonce count replayed", ...).
  std::string detail;
  // Challenge: the WWW-Authenticate values for the 401, one per offered algorithm.
  std::vector<std::string> challenges;
  bool stale = false;  // Challenge: whether the challenges carry stale=true
};

AuthResult authenticate(const sip::Message& request, const AuthSettings& settings,
                        const Ha1Table& table, NonceManager& nonces, std::int64_t now_ms);

}  // namespace sipedge::auth
