#include "settings.h"

namespace sipedge::app {

transport::Limits transportLimits(const config::Config& c) {
  transport::Limits l;
  l.max_connections = c.limits.max_connections;
  l.max_connections_per_ip = c.limits.max_connections_per_ip;
  l.max_pending_bytes = c.limits.max_pending_bytes;
  l.connect_timeout = c.limits.connect_timeout;
  l.tls_handshake_timeout = c.limits.tls_handshake_timeout;
  l.idle_timeout = c.limits.idle_timeout;
  l.parse.max_message_bytes = c.limits.max_message_bytes;
  l.parse.max_headers = c.limits.max_headers;
  return l;
}

txn::LayerSettings layerSettings(const config::Config& c) {
  txn::LayerSettings s;
  s.timers.t1 = c.txn.t1;
  s.timers.t2 = c.txn.t2;
  s.timers.t4 = c.txn.t4;
  s.timers.timer_c = c.txn.timer_c;
  s.timers.timer_d = c.txn.timer_d;
  s.timers.wait = c.txn.wait_timer;
  s.max_transactions = c.limits.max_transactions;
  s.max_udp_request_bytes = c.limits.udp_max_request_bytes;
  return s;
}

dns::ResolverSettings resolverSettings(const config::Config& c) {
  dns::ResolverSettings s;
  for (const config::SocketAddress& a : c.dns.servers) {
    s.servers.push_back(config::toString(a));
  }
  s.timeout = c.dns.timeout;
  s.tries = static_cast<int>(c.dns.tries);
  s.max_entries = c.dns.cache_entries;
  s.negative_ttl = std::chrono::duration_cast<std::chrono::seconds>(c.dns.negative_ttl);
  s.max_ttl = std::chrono::duration_cast<std::chrono::seconds>(c.dns.max_ttl);
  s.ipv6 = c.dns.ipv6;
  s.prefer_ipv6 = c.dns.prefer_ipv6;
  return s;
}

transport::TlsSettings tlsSettings(const config::TlsProfile& p) {
  transport::TlsSettings s;
  s.certificate_file = p.certificate;
  s.key_file = p.key;
  s.ca_file = p.ca;
  switch (p.client_certificate) {
    case config::ClientCertMode::None: s.client_cert = transport::ClientCertMode::None; break;
    case config::ClientCertMode::Request: s.client_cert = transport::ClientCertMode::Request; break;
    case config::ClientCertMode::Require: s.client_cert = transport::ClientCertMode::Require; break;
  }
  s.min_version = p.min_version;
  s.ciphers = p.ciphers;
  s.ciphersuites = p.ciphersuites;
  s.groups = p.groups;
  for (const auto& sni : p.sni) {
    s.sni.push_back({sni.domain, sni.certificate, sni.key});
  }
  return s;
}

std::vector<transport::ListenerSettings> listenerSettings(const config::Config& c) {
  std::vector<transport::ListenerSettings> out;
  for (const config::ListenerConfig& l : c.listeners) {
    transport::ListenerSettings s;
    auto address = transport::Address::parseIp(l.address.ip, l.address.port);
    if (!address) {
      continue;  // the loader accepted only IP literals: cannot happen
    }
    transport::Transport t = l.transport == config::Transport::Udp   ? transport::Transport::Udp
                             : l.transport == config::Transport::Tcp ? transport::Transport::Tcp
                                                                     : transport::Transport::Tls;
    s.endpoint = transport::Endpoint{*address, t};
    s.side =
        l.side == config::Side::External ? transport::Side::External : transport::Side::Internal;
    if (!l.tls_profile.empty()) {
      s.tls_profile = l.tls_profile;
    }
    s.advertised_host = l.advertised_host;
    s.worker_port = l.worker_port;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace sipedge::app
