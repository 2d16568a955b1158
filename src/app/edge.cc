#include "edge.h"

#include "settings.h"
#include "sipedge/dns/cares_resolver.h"
#include "sipedge/identity/caching_directory.h"
#include "sipedge/identity/ldap_directory.h"
#include "sipedge/identity/static_directory.h"

namespace sipedge::app {

namespace {

transport::Transport transportOf(config::Transport t) {
  switch (t) {
    case config::Transport::Udp: return transport::Transport::Udp;
    case config::Transport::Tcp: return transport::Transport::Tcp;
    case config::Transport::Tls: return transport::Transport::Tls;
  }
  return transport::Transport::Udp;
}

}  // namespace

b2bua::Settings b2buaSettings(const config::Config& c, unsigned worker) {
  b2bua::Settings s;
  s.worker = worker;
  s.served_domains = c.server.domains;
  auto rules = [&](const config::B2buaConfig::Direction& d) {
    std::vector<std::string> pass = c.b2bua.pass_headers;
    pass.insert(pass.end(), d.pass_headers.begin(), d.pass_headers.end());
    std::vector<std::string> drop = c.b2bua.drop_headers;
    drop.insert(drop.end(), d.drop_headers.begin(), d.drop_headers.end());
    return b2bua::HeaderRules(pass, drop, c.b2bua.pass_user_agent);
  };
  s.to_inside = rules(c.b2bua.to_inside);
  s.to_partners = rules(c.b2bua.to_partners);
  s.max_dialog_lifetime = c.b2bua.max_dialog_lifetime;
  s.idle_check = c.b2bua.idle_check;
  s.not_found_status = c.directory.not_found_status;
  s.unavailable_retry_after =
      static_cast<std::uint32_t>(c.directory.unavailable_retry_after.count() / 1000);
  for (const config::NextHopConfig& h : c.next_hops) {
    auto address = transport::Address::parseIp(h.address.ip, h.address.port);
    if (!address) {
      continue;  // the loader accepts IP literals only
    }
    b2bua::NextHop hop;
    hop.name = h.name;
    hop.destination.endpoint = transport::Endpoint{*address, transportOf(h.transport)};
    hop.destination.side = transport::Side::Internal;
    hop.destination.tls_server_name = h.tls_server_name;
    hop.priority = h.priority;
    hop.weight = h.weight;
    s.next_hops.push_back(std::move(hop));
  }
  s.health.failures = c.next_hop_health.failures;
  s.health.successes = c.next_hop_health.successes;
  s.health_interval = c.next_hop_health.interval;
  for (const config::Partner& p : c.partners) {
    if (!p.has_address) {
      continue;
    }
    auto address = transport::Address::parseIp(p.address.ip, p.address.port);
    if (!address) {
      continue;
    }
    for (const std::string& domain : p.domains) {
      s.partner_routes.push_back(
          b2bua::PartnerRoute{domain, transport::Endpoint{*address, transportOf(p.transport)}});
    }
  }
  return s;
}

Result<std::unique_ptr<Edge>, std::string> Edge::create(const config::Config& config, Node& node,
                                                        Federation& federation) {
  std::unique_ptr<Edge> edge(new Edge());
  switch (config.directory.backend) {
    case config::DirectoryBackend::Static:
      edge->directory_ = std::make_unique<identity::StaticDirectory>(config.directory.static_map);
      break;
    case config::DirectoryBackend::Ldap: {
      // Before the worker's loop runs, nothing else touches it: creating here is as on its thread.
      auto ldap = identity::LdapDirectory::create(config.directory.ldap, node.worker());
      if (!ldap) {
        return fail(ldap.error());
      }
      edge->directory_ = std::make_unique<identity::CachingDirectory>(
          std::move(*ldap), config.directory.cache, node.worker());
      break;
    }
  }
  auto resolver =
      dns::CaresResolver::create(node.worker(), resolverSettings(config), node.random());
  if (!resolver) {
    return fail("DNS: " + resolver.error().message);
  }
  edge->resolver_ = std::move(*resolver);
  Node* n = &node;
  b2bua::Settings settings = b2buaSettings(config, node.index());
  federation.configure(settings);
  edge->b2bua_ = std::make_unique<b2bua::B2bua>(
      std::move(settings), [n]() -> txn::Layer& { return n->layer(); }, node.transport(),
      node.worker(), node.worker(), node.random(), *edge->directory_, edge->resolver_.get());
  return edge;
}

}  // namespace sipedge::app
