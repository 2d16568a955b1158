// Fuzz target: the auth module's parsers of peer and operator data. The input is split at its
// first NUL: the part before is an Authorization value for parseCredentials, and the whole input
// is an HA1 file for Ha1Table::parse (the part after the NUL also seeds the realm and nonce of a
// challenge that must survive the round trip).
//
// Properties:
//  - parsed credentials have a response of the algorithm's hex length, in lower case; a nonempty
//    username, nonce and uri; with qop, a nonempty cnonce and an 8-digit nc;
//  - expectedResponse() of parsed credentials has the same length as their response;
//  - an HA1 table error has a line and a column; a table never holds more entries than lines;
//  - challenge() output for any realm/nonce never crashes the parser, and its realm survives a
//    quote-and-parse round trip (minus control characters);
//  - a nonce parsed from the input is never accepted (Invalid: no MAC forgery by accident); a
//    minted nonce is Valid once per nc and Invalid after any one-byte change;
//  - no crash, UB or leak.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sipedge/auth/digest.h"
#include "sipedge/auth/ha1_table.h"
#include "sipedge/auth/nonce.h"

namespace {

using namespace sipedge::auth;

bool lowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string withoutControls(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) {
      out.push_back(c);
    }
  }
  return out;
}

void checkCredentials(std::string_view value) {
  auto c = parseCredentials(value);
  if (!c) {
    FUZZ_CHECK(!c.error().empty());
    FUZZ_CHECK(c.error().size() < 200);  // short: it goes into a reason phrase
    return;
  }
  FUZZ_CHECK(value.size() <= kMaxCredentialsBytes);
  FUZZ_CHECK(c->response.size() == hexLength(c->algorithm));
  FUZZ_CHECK(lowerHex(c->response));
  FUZZ_CHECK(!c->username.empty() && !c->nonce.empty() && !c->uri.empty());
  if (c->has_qop) {
    FUZZ_CHECK(!c->cnonce.empty());
    FUZZ_CHECK(c->nc_text.size() == 8);
  }
  const std::string expected = expectedResponse(c->algorithm, c->response, *c, "REGISTER");
  FUZZ_CHECK(expected.size() == c->response.size());
  static_cast<void>(verifyResponse(*c, "REGISTER", c->response));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view head = input.substr(0, nul);
  const std::string_view tail =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

  checkCredentials(head);

  if (auto table = Ha1Table::parse(input)) {
    FUZZ_CHECK(table->size() <= input.size() / 34 + 1);
  } else {
    FUZZ_CHECK(table.error().line >= 1 && table.error().column >= 1);
  }
  if (auto table = Ha1Table::parse(head)) {
    // Every line parsed is findable; spot-check through a known-absent key.
    FUZZ_CHECK(!table->find("", "", Algorithm::Md5));
  }

  // A challenge built from arbitrary realm and nonce text parses (as far as it goes) without
  // trouble, and a client echoing its realm gets the same realm back.
  const std::string_view realm = tail.substr(0, tail.size() / 2);
  const std::string_view nonce = tail.substr(tail.size() / 2);
  const std::string ch = challenge(realm, nonce, Algorithm::Sha256, (size & 1) != 0, nonce);
  checkCredentials(ch);
  const std::string echoed = "Digest username=\"u\", realm=" + quoteString(realm) +
                             ", nonce=\"n\", uri=\"sip:x\", response=\"" + std::string(32, '0') +
                             "\"";
  if (echoed.size() <= kMaxCredentialsBytes) {
    auto c = parseCredentials(echoed);
    FUZZ_CHECK(c.has_value());
    FUZZ_CHECK(c->realm == withoutControls(realm));
  }
  // Nonces: input text is never ours; ours survive exactly one use per nonce count.
  // The secret is the whole input: a fixed secret would let libFuzzer replay a nonce minted in an
  // earlier run (its comparison hooks see every minted value), which is no forgery.
  NonceManager nonces(std::string(input), sipedge::Duration(1000), 4);
  const std::string minted = nonces.mint(1000);
  if (head != minted) {
    FUZZ_CHECK(nonces.check(head, 1000) == NonceCheck::Invalid);
    FUZZ_CHECK(nonces.use(head, 1, true, 1000) == NonceCheck::Invalid);
  }
  FUZZ_CHECK(nonces.use(minted, 1, true, 1000) == NonceCheck::Valid);
  FUZZ_CHECK(nonces.use(minted, 1, true, 1000) == NonceCheck::Replay);
  if (!tail.empty()) {
    std::string changed = minted;
    const std::size_t at = static_cast<unsigned char>(tail[0]) % changed.size();
    changed[at] = changed[at] == 'A' ? 'B' : 'A';
    FUZZ_CHECK(nonces.check(changed, 1000) == NonceCheck::Invalid);
  }
  return 0;
}
