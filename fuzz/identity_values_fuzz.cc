// Fuzz target: the identity module's parsers of operator and directory data: parseAor (addresses
// of record), parseLdapTarget (target attribute values from LDAP) and the RFC 4515 filter
// escaping. Properties: no crash; an escaped value holds no filter metacharacter unescaped; an
// expanded filter keeps the template's structure (the same number of parentheses); a parsed
// target has a sip/sips URI and a q-value in [0, 1]; a parsed AOR has a lower-case host.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sipedge/identity/directory.h"
#include "sipedge/identity/ldap_directory.h"

namespace {

std::size_t count(std::string_view s, char c) {
  std::size_t n = 0;
  for (char x : s) {
    n += x == c ? 1 : 0;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sipedge::identity;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto aor = parseAor(input)) {
    FUZZ_CHECK(!aor->user.empty() && !aor->host.empty());
    for (char c : aor->host) {
      FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    }
  }

  const std::string escaped = escapeLdapFilterValue(input);
  FUZZ_CHECK(count(escaped, '(') == 0 && count(escaped, ')') == 0 && count(escaped, '*') == 0);
  FUZZ_CHECK(escaped.find('\0') == std::string::npos);

  const std::size_t at = input.rfind('@');
  if (at != std::string_view::npos) {
    const Aor aor{std::string(input.substr(0, at)), std::string(input.substr(at + 1))};
    const std::string filter = expandLdapFilter("(&(objectClass=x)(a={aor})(u={user}))", aor);
    FUZZ_CHECK(count(filter, '(') == 4 && count(filter, ')') == 4);
  }

  if (auto target = parseLdapTarget(input)) {
    std::string scheme = target->uri.substr(0, target->uri.find(':'));
    for (char& c : scheme) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    FUZZ_CHECK(scheme == "sip" || scheme == "sips");
    FUZZ_CHECK(target->uri.size() > scheme.size() + 1);
    FUZZ_CHECK(target->q >= 0.0 && target->q <= 1.0);
  }
  return 0;
}
