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

void B2bua::replyRegister(ServerTransactionId id, const sip::Message& request,
                          const RegistrarReply& reply) {
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
  auto response = sip::makeResponse(request, reply.status, reply.reason,
                                    mintTag(settings_.worker, random_), extra);
  if (response) {
    (void)layer().respond(id, std::move(*response));
  }
}

void B2bua::handleRegister(ServerTransactionId id, const Inbound& in) {
  const sip::Message& m = in.message;
  if (settings_.location == nullptr || !settings_.registrar.enabled) {
    replyRegister(id, m, RegistrarReply{403, "Registration Not Allowed", {}});
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
    replyRegister(id, m, plan.error());
    return;
  }
  if (!settings_.registrar.auth.enabled) {
    applyRegister(id, m, *plan);
    return;
  }
  if (settings_.nonces == nullptr) {
    replyRegister(id, m, RegistrarReply{500, "Authentication Not Configured", {}});
    return;
  }
  if (settings_.ha1 != nullptr) {
    authenticateRegister(id, m, *plan, *settings_.ha1);
    return;
  }
  // The credentials are the registrant's (From), from the directory: they may need waiting.
  auto registrant = identity::parseAor(plan->from_aor);
  if (!registrant) {
    replyRegister(id, m, RegistrarReply{403, "Credentials Do Not Match From", {}});
    return;
  }
  struct Parked {
    ServerTransactionId id;
    sip::Message request;
    RegisterPlan plan;
  };
  auto parked = std::make_shared<Parked>(Parked{id, m.clone(), std::move(*plan)});
  auto withCredentials = [this, parked](const identity::Answer& a) {
    if (a.status == identity::Status::Unavailable) {
      ++stats_.directory_unavailable;
      replyRegister(
          parked->id, parked->request,
          RegistrarReply{
              503, "", {{"Retry-After", std::to_string(settings_.unavailable_retry_after)}}});
      return;
    }
    // Unknown registrant and no credentials look the same to the client (authenticate()
    // answers an unknown user like a wrong password).
    std::string lines;
    const std::string user = parked->plan.from_aor.substr(0, parked->plan.from_aor.rfind('@'));
    for (const std::string& ha1 : a.credentials) {
      lines += user + ":" + settings_.registrar.auth.realm + ":" + ha1 + "\n";
    }
    auto table = auth::Ha1Table::parse(lines);
    authenticateRegister(parked->id, parked->request, parked->plan,
                         table ? *table : auth::Ha1Table{});
  };
  std::weak_ptr<B2bua*> alive = alive_;
  auto answer = directory_.lookup(identity::Direction::ToInternal, *registrant,
                                  [alive, withCredentials](identity::Answer a) {
                                    if (alive.lock()) {
                                      withCredentials(a);
                                    }
                                  });
  if (answer) {
    withCredentials(*answer);
  }
}

void B2bua::authenticateRegister(ServerTransactionId id, const sip::Message& m,
                                 const RegisterPlan& plan, const auth::Ha1Table& table) {
  auth::AuthSettings as;
  as.realm = settings_.registrar.auth.realm;
  as.algorithms = algorithmsOf(settings_.registrar.auth.algorithms);
  auth::AuthResult result = auth::authenticate(m, as, table, *settings_.nonces, unixNowMs());
  switch (result.outcome) {
    case auth::AuthOutcome::Challenge: {
      RegistrarReply reply{401, "", {}};
      for (std::string& c : result.challenges) {
        reply.headers.emplace_back("WWW-Authenticate", std::move(c));
      }
      replyRegister(id, m, reply);
      return;
    }
    case auth::AuthOutcome::BadRequest:
      replyRegister(id, m, RegistrarReply{400, result.reason, {}});
      return;
    case auth::AuthOutcome::Forbidden:
      replyRegister(id, m, RegistrarReply{403, result.reason, {}});
      return;
    case auth::AuthOutcome::Ok: break;
  }
  // The authenticated user is the registrant (From); whom it may register is the third-party
  // rule planRegister applied.
  const std::size_t at = plan.from_aor.rfind('@');
  if (at == std::string::npos || plan.from_aor.compare(0, at, result.username) != 0) {
    replyRegister(id, m, RegistrarReply{403, "Credentials Do Not Match From", {}});
    return;
  }
  applyRegister(id, m, plan);
}

void B2bua::applyRegister(ServerTransactionId id, const sip::Message& m, const RegisterPlan& plan) {
  const location::UnixSeconds now = unixNow();
  RegistrarReply reply;
  settings_.location->update(plan.aor, now, [&](std::vector<location::Binding>& bindings) {
    bool changed = false;
    reply = b2bua::applyRegister(plan, bindings, now, settings_.registrar, changed);
    return changed;
  });
  replyRegister(id, m, reply);
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
