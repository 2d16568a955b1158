// Fuzz target: sip::parseUri and the URI helpers, plus the single-value header parsers run over
// the same bytes.
//
// Properties, for every URI that parses:
//  - uriEquivalent is reflexive;
//  - toString(u) parses and is equivalent to u (both ways);
//  - for sip, sips and tel: withUriParam(u, "transport", "tcp") parses and carries
//    transport=tcp; withUriParam(u, "lr", nullopt) carries a valueless lr; withoutUriParam(u,
//    "lr") parses, carries no lr and is still equivalent to u (lr is not one of the parameters
//    RFC 3261 19.1.4 requires in both URIs).
// And for the header parsers: no crash; a name-addr's URI reparses on its own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "sipedge/sip/headers.h"
#include "sipedge/sip/uri.h"

namespace {

namespace sip = sipedge::sip;

void touchParams(const sip::ParamList& params) {
  for (const sip::Param& p : params) {
    (void)p.name.size();
    (void)p.value.size();
  }
  (void)params.empty();
}

void checkUri(std::string_view input) {
  auto parsed = sip::parseUri(input);
  if (!parsed) {
    (void)parsed.error().describe();
    return;
  }
  const sip::Uri& u = *parsed;
  touchParams(u.params);
  FUZZ_CHECK(u.text == input);
  FUZZ_CHECK(sip::uriEquivalent(u, u));

  const std::string canonical = sip::toString(u);
  auto again = sip::parseUri(canonical);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->scheme == u.scheme);
  FUZZ_CHECK(sip::uriEquivalent(u, *again));
  FUZZ_CHECK(sip::uriEquivalent(*again, u));
  FUZZ_CHECK(sip::toString(*again) == canonical);

  if (u.scheme == sip::UriScheme::Other) {
    return;  // opaque: no parameter model
  }

  const std::string with = sip::withUriParam(u, "transport", "tcp");
  auto w = sip::parseUri(with);
  FUZZ_CHECK(w.has_value());
  FUZZ_CHECK(w->scheme == u.scheme);
  FUZZ_CHECK(w->param("transport") == std::optional<std::string_view>("tcp"));

  const std::string lr = sip::withUriParam(u, "lr", std::nullopt);
  auto l = sip::parseUri(lr);
  FUZZ_CHECK(l.has_value());
  FUZZ_CHECK(l->param("lr") == std::optional<std::string_view>(""));

  const std::string without = sip::withoutUriParam(u, "lr");
  auto wo = sip::parseUri(without);
  FUZZ_CHECK(wo.has_value());
  FUZZ_CHECK(!wo->params.has("lr"));
  FUZZ_CHECK(sip::uriEquivalent(u, *wo));
}

void checkHeaderParsers(std::string_view input) {
  if (auto na = sip::parseNameAddr(input)) {
    (void)na->displayName();
    (void)na->qMilli();
    (void)na->expires();
    touchParams(na->params);
    // The URI of a name-addr is a URI in its own right.
    auto uri = sip::parseUri(na->uri.text);
    FUZZ_CHECK(uri.has_value());
  }
  {
    std::vector<sip::Via> vias;
    if (sip::parseViaList(input, vias)) {
      for (const sip::Via& v : vias) {
        touchParams(v.params);
      }
    }
  }
  {
    std::vector<sip::NameAddr> list;
    (void)sip::parseNameAddrList(input, list);
  }
  (void)sip::parseCSeq(input);
  if (auto ct = sip::parseContentType(input)) {
    touchParams(ct->params);
  }
  if (auto ra = sip::parseRetryAfter(input)) {
    (void)ra->duration();
  }
  (void)sip::parseTokenList(input);
  (void)sip::splitList(input);
  (void)sip::parseMaxForwards(input);
  (void)sip::parseContentLength(input);
  (void)sip::parseCallId(input);
  (void)sip::parseExpires(input);
  (void)sip::unquote(input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkUri(input);
  checkHeaderParsers(input);
  return 0;
}
