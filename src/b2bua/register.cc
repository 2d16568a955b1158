// The registrar (RFC 3261 10.3, with digest authentication) and the redirect server (issue 6),
// on top of the pure pieces: b2bua/registrar.h plans and applies a REGISTER, auth/ checks the
// credentials, location::Store keeps the bindings (shared by the workers).

#include <fmt/format.h>

#include <chrono>

#include "sipedge/auth/authenticate.h"
#include "sipedge/b2bua/b2bua.h"
#include "sipedge/b2bua/ids.h"
#include "sipedge/b2bua/registrar.h"
#include "sipedge/base/strings.h"
#include "sipedge/sip/response.h"
#include "state.h"

namespace sipedge::b2bua {

using namespace detail;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace {

std::vector<auth::Algorithm> algorithmsOf(const std::vector<std::string>& names) {
  std::vector<auth::Algorithm> out;
  for (const std::string& name : names) {
    if (auto a = auth::parseAlgorithm(name)) {
      out.push_back(*a);
    }
  }
  return out;
}

// "<sip:x@y>;q=0.5" for a directory target (q only below 1).
std::string targetContact(const identity::Target& t) {
  if (t.q >= 1.0) {
    return fmt::format("<{}>", t.uri);
  }
  return fmt::format("<{}>;q={:.3g}", t.uri, t.q);
}

}  // namespace

std::int64_t B2bua::unixNowMs() const {
  if (settings_.unix_now_ms) {
    return settings_.unix_now_ms();
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void B2bua::handleRegister(ServerTransactionId id, const Inbound& in) {
  const sip::Message& m = in.message;
  const std::string tag = mintTag(settings_.worker, random_);
  auto send = [&](const RegistrarReply& reply) {
    std::vector<sip::ExtraHeader> extra;
    extra.reserve(reply.headers.size());
    for (const auto& [name, value] : reply.headers) {
      extra.push_back(sip::ExtraHeader{name, value});
    }
    if (reply.status >= 200 && reply.status < 300) {
      ++stats_.registrations;
    } else {
      ++stats_.registrations_failed;
    }
    if (auto response = sip::makeResponse(m, reply.status, reply.reason, tag, extra)) {
      (void)layer().respond(id, std::move(*response));
    }
  };
  if (settings_.location == nullptr || !settings_.registrar.enabled) {
    send(RegistrarReply{403, "Registration Not Allowed", {}});
    return;
  }
  RegisterSource source;
  source.received =
      toLower(transport::transportName(in.source.transport)) + ":" + in.source.address.toString();
  source.external = in.side == Side::External;
  if (const sip::Header* ua = m.find("User-Agent")) {
    source.user_agent = std::string(ua->value.substr(0, 128));
  }
  auto plan = planRegister(m, settings_.served_domains, settings_.registrar, source);
  if (!plan) {
    send(plan.error());
    return;
  }
  if (settings_.registrar.auth.enabled) {
    if (settings_.ha1 == nullptr || settings_.nonces == nullptr) {
      send(RegistrarReply{500, "Authentication Not Configured", {}});
      return;
    }
    auth::AuthSettings as;
    as.realm = settings_.registrar.auth.realm;
    as.algorithms = algorithmsOf(settings_.registrar.auth.algorithms);
    auth::AuthResult result =
        auth::authenticate(m, as, *settings_.ha1, *settings_.nonces, unixNowMs());
    switch (result.outcome) {
      case auth::AuthOutcome::Challenge: {
        RegistrarReply reply{401, "", {}};
        for (std::string& c : result.challenges) {
          reply.headers.emplace_back("WWW-Authenticate", std::move(c));
        }
        send(reply);
        return;
      }
      case auth::AuthOutcome::BadRequest: send(RegistrarReply{400, result.reason, {}}); return;
      case auth::AuthOutcome::Forbidden: send(RegistrarReply{403, result.reason, {}}); return;
      case auth::AuthOutcome::Ok: break;
    }
    // The authenticated user is the registrant (From); whom it may register is the third-party
    // rule planRegister applied.
    const std::size_t at = plan->from_aor.rfind('@');
    if (at == std::string::npos || plan->from_aor.compare(0, at, result.username) != 0) {
      send(RegistrarReply{403, "Credentials Do Not Match From", {}});
      return;
    }
  }
  const location::UnixSeconds now = unixNow();
  RegistrarReply reply;
  settings_.location->update(plan->aor, now, [&](std::vector<location::Binding>& bindings) {
    bool changed = false;
    reply = applyRegister(*plan, bindings, now, settings_.registrar, changed);
    return changed;
  });
  send(reply);
}

config::RoutingMode B2bua::modeFor(std::string_view domain, bool from_external,
                                   std::string_view partner_domain) const {
  if (from_external && policy_) {
    if (const config::Partner* p = policy_->partnerFor(partner_domain); p && p->policy.mode) {
      return *p->policy.mode;
    }
  }
  for (const config::RoutingConfig::Domain& d : settings_.routing.domains) {
    if (d.domain == domain) {
      return d.mode;
    }
  }
  return settings_.routing.mode;
}

std::vector<location::Binding> B2bua::bindingsFor(const Relay& relay, const identity::Answer& a) {
  if (settings_.location == nullptr) {
    return {};
  }
  const location::UnixSeconds now = unixNow();
  std::vector<location::Binding> found = settings_.location->lookup(a.identity.str(), now);
  if (found.empty()) {
    if (auto aor = aorOf(relay.request.requestUri()); aor && aor->str() != a.identity.str()) {
      found = settings_.location->lookup(aor->str(), now);
    }
  }
  return found;
}

void B2bua::redirect(Relay& relay, const identity::Answer& a) {
  std::vector<std::string> contacts;
  if (settings_.routing.redirect_location) {
    const location::UnixSeconds now = unixNow();
    for (const location::Binding& b : bindingsFor(relay, a)) {
      contacts.push_back(contactValue(b, now));
    }
  }
  if (settings_.routing.redirect_directory) {
    for (const identity::Target& t : a.targets) {
      contacts.push_back(targetContact(t));
    }
  }
  const int status = contacts.empty() ? 480 : settings_.routing.redirect_status;
  if (relay.decision) {
    relay.decision->mapped = a.identity.str();
    if (!contacts.empty()) {
      relay.decision->verdict = std::string(policy::verdictName(policy::Verdict::Redirect));
      relay.decision->status = status;
      relay.decision->reason = std::string(sip::defaultReason(status));
      relay.decision->rule = "routing.redirect";
    }
    emit(relay.decision);
  }
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(contacts.size());
  for (std::string& c : contacts) {
    headers.emplace_back("Contact", std::move(c));
  }
  if (!contacts.empty()) {
    ++stats_.redirects;
  }
  answer(relay, status, {}, std::move(headers));
  dropRelay(relay, true);
}

}  // namespace sipedge::b2bua
