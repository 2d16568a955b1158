#pragma once

// The registrar's pure logic (RFC 3261 10.3, RFC 3327 Path, RFC 5626 +sip.instance/reg-id),
// issue 6. Two steps, no clock and no I/O (STYLE S2):
//
//  1. planRegister() checks everything that the request alone can answer, in RFC 3261 10.3's
//     order (authentication, step 3, is the caller's), and turns the request into a plan that
//     owns its text (the message may go away).
//  2. applyRegister() applies the plan to the AOR's current bindings; the caller runs it inside
//     location::Store::update(), under the store's lock, and stores the list when `changed`.
//
// Both answer with a RegistrarReply: an error to send as is, or (applyRegister) the 200.
//
// Reason phrases (empty: the status's default phrase):
//   400 "Not A REGISTER Request", "Missing To", "Missing From", "Missing Call-ID",
//       "Missing CSeq", "Request-URI Must Not Have A User Part",
//       "Wildcard Contact Must Be Alone", "Wildcard Contact Requires Expires: 0",
//       "Invalid Contact Expires", "Invalid Contact q Value", "Invalid +sip.instance",
//       "Invalid reg-id", "Multiple Contacts With reg-id"; a malformed Expires, Require or Path
//       header: the ParseError's reason() ("Malformed header (Expires): expected digits").
//   403 "Third-Party Registration Not Allowed", "Too Many Contacts"
//   404 "Domain Not Served" (Request-URI), "Address-Of-Record Not In Domain" (To of another
//       domain), "Address-Of-Record Must Have A User Part" (To without a user)
//   416 "" (Request-URI neither sip nor sips), "Address-Of-Record Must Be A SIP URI" (To)
//   420 "" with Unsupported: every Require option but "path"
//   423 "" with Min-Expires
//   500 "Out-of-Order CSeq" (RFC 3261 10.3 step 7: same Call-ID, CSeq not higher)

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/config/config.h"
#include "sipedge/location/location.h"
#include "sipedge/sip/message.h"
#include "sipedge/sip/uri.h"

namespace sipedge::b2bua {

// A response sipedge sends to the REGISTER.
struct RegistrarReply {
  int status = 200;
  std::string reason;  // empty: the default phrase; otherwise precise (see above)
  // Extra headers, in order: Contact..., Path..., Date (200); Unsupported (420); Min-Expires (423).
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const RegistrarReply&) const = default;
};

// Where the REGISTER came from; copied into the bindings it writes.
struct RegisterSource {
  std::string received;  // "udp:127.0.0.1:5060"
  bool external = false;
  std::string user_agent;
  bool operator==(const RegisterSource&) const = default;
};

// One Contact of the REGISTER, checked.
struct ContactPlan {
  std::string uri;            // the Contact URI as written, without < > or header parameters
  std::uint32_t expires = 0;  // granted seconds (within [min, max]); 0 removes the binding
  std::uint16_t q = 1000;     // q x 1000; 1000 when absent
  std::string instance;       // +sip.instance without its quotes, or ""
  std::uint32_t reg_id = 0;   // reg-id (1..2^31-1), 0: none (also when there is no instance)
  bool operator==(const ContactPlan&) const = default;
};

// What a REGISTER asks for, independent of the message it came from.
struct RegisterPlan {
  std::string aor;        // the To AOR, "user@host" (host lower case): the store key
  std::string from_aor;   // the From AOR, same form; "" when From is not a SIP URI with a user
  std::string domain;     // the Request-URI host, lower case (a served domain)
  bool wildcard = false;  // Contact: * (with Expires: 0): remove every binding
  std::vector<ContactPlan> contacts;  // in request order; empty and !wildcard: a query
  std::string call_id;
  std::uint32_t cseq = 0;
  std::vector<std::string> path;  // Path values (RFC 3327), first to last, each "<uri>[;params]"
  RegisterSource source;

  bool isQuery() const { return !wildcard && contacts.empty(); }
  bool operator==(const RegisterPlan&) const = default;
};

// Everything that can be checked on the request alone, in RFC 3261 10.3's order (minus step 3,
// authentication, which the caller does):
//  1. Request-URI: sip/sips (416), no user part (400), host a served domain (404);
//  2. Require: only "path" is supported; others -> 420 with Unsupported;
//  5. To: a sip/sips AOR with a user in the Request-URI's domain (416/404);
//  4. third party (From AOR != To AOR): allowed only by config.third_party (403). To's checks
//     come first so that the AOR is known; neither reveals whether a user exists;
//  6. Contact: '*' only alone and with Expires: 0 (400); per contact the expiry is its expires
//     parameter, else the Expires header, else default_expires; nonzero below min_expires -> 423
//     with Min-Expires; above max_expires -> max_expires; malformed values -> 400. More than one
//     Contact with a reg-id and a nonzero expiry -> 400 (RFC 5626 6).
// `served_domains` are lower case.
[[nodiscard]] Result<RegisterPlan, RegistrarReply> planRegister(
    const sip::Message& request, std::span<const std::string> served_domains,
    const config::RegistrarConfig& config, const RegisterSource& source);

// Applies `plan` to the AOR's current bindings (unexpired, in location::sortForUse order; the
// caller holds the store's lock). On success `bindings` becomes the new set (sortForUse order)
// and the reply is the 200; on an error `bindings` is left untouched. `changed` tells whether
// `bindings` differ from what was passed in.
//
// A Contact matches a binding (RFC 5626 6, RFC 3261 10.3 step 7):
//  - with +sip.instance and reg-id: a binding with the same instance and the same reg-id, or
//    with that instance and no reg-id (the device moved to outbound), or with no instance and
//    the same URI (sameUri);
//  - with +sip.instance alone: every binding with that instance (whatever its reg-id: the device
//    stopped using outbound), or with no instance and the same URI;
//  - otherwise: every binding with the same URI (sameUri).
// Instances compare case-insensitively (urn:uuid hex). For every matched binding with the
// request's Call-ID and a CSeq not lower than the request's, the whole update is aborted with
// 500 "Out-of-Order CSeq"; '*' applies the same rule to every binding. Matched bindings are
// replaced by the Contact (a refresh, or a device's new URI); expires 0 only removes them.
// More than config.max_contacts bindings afterwards, when the request adds to the set, is 403
// "Too Many Contacts" and nothing changes (a set already over the limit after a reload can
// still be refreshed and shrunk). A query (no Contact) changes nothing.
// The 200 lists every binding as a Contact (contactValue), echoes the request's Path values as
// Path headers and carries a Date header (RFC 1123, from `now`).
RegistrarReply applyRegister(const RegisterPlan& plan, std::vector<location::Binding>& bindings,
                             location::UnixSeconds now, const config::RegistrarConfig& config,
                             bool& changed);

// The AOR a plan is for ("user@host", host lower case): the store key.
inline const std::string& aorOf(const RegisterPlan& plan) {
  return plan.aor;
}

// A binding as a Contact header value, for the 200 and the redirect server's 3xx:
// "<uri>;q=0.5;expires=N;+sip.instance=\"<urn:...>\";reg-id=1" (q only below 1, expires the
// remaining seconds, never negative; instance and reg-id only when set).
std::string contactValue(const location::Binding& b, location::UnixSeconds now);

// RFC 3261 19.1.4 comparison of Contact URIs for binding matching: scheme and host
// case-insensitive, user and password case-sensitive after unescaping, ports equal (an omitted
// port does not match an explicit default one, as 19.1.4 says), transport/user/method/ttl/maddr
// parameters in both or neither and equal, other parameters ignored, URI headers equal as written.
// Other schemes: sip::uriEquivalent.
bool sameUri(const sip::Uri& a, const sip::Uri& b);
// The same on URI texts; false when either does not parse.
bool sameUri(std::string_view a, std::string_view b);

// The "user@host" key of a sip/sips URI (user's escapes of unreserved characters decoded, other
// escapes upper-cased; host lower case without a trailing dot); "" for other schemes or without a
// user.
std::string aorKey(const sip::Uri& uri);

// An HTTP/SIP date (RFC 1123, as RFC 3261 20.17 requires): "Sat, 13 Nov 2010 23:29:00 GMT".
std::string httpDate(location::UnixSeconds t);

}  // namespace sipedge::b2bua
