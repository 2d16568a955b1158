// config::lint: risky or dead settings in a configuration that parses (issue 5's
// `sipedge check-config` warnings). Pure.

#include "sipedge/config/lint.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string_view>

namespace sipedge::config {

std::string ConfigWarning::describe() const {
  std::string out = file;
  if (line != 0) {
    out += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  out += ": warning: ";
  if (!path.empty()) {
    out += path + ": ";
  }
  return out + message;
}

namespace {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string text(const Cidr& c) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(c.ipv6 ? AF_INET6 : AF_INET, c.address.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(c.prefix);
}

// Whether every address of `inner` is in `outer`.
bool covers(const Cidr& outer, const Cidr& inner) {
  if (outer.ipv6 != inner.ipv6 || outer.prefix > inner.prefix) {
    return false;
  }
  for (unsigned bit = 0; bit < outer.prefix; ++bit) {
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if ((outer.address[bit / 8] & mask) != (inner.address[bit / 8] & mask)) {
      return false;
    }
  }
  return true;
}

bool overlaps(const Cidr& a, const Cidr& b) {
  return covers(a, b) || covers(b, a);
}

template <class T>
bool contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

class Linter {
 public:
  explicit Linter(const Config& config) : config_(config) {}

  std::vector<ConfigWarning> run() {
    federation();
    for (const Partner& p : config_.partners) {
      partner(p);
    }
    return std::move(warnings_);
  }

 private:
  // A warning at `path` in `file`; when that node was not written (a default), at the nearest
  // enclosing node that was.
  void warn(const std::string& file, const std::string& path, std::string message) {
    std::string at = path;
    SourceMap::Position pos = config_.sources.find(file, at);
    while (pos.line == 0 && !at.empty()) {
      const std::size_t cut = at.find_last_of(".[");
      at = cut == std::string::npos ? "" : at.substr(0, cut);
      pos = at.empty() ? SourceMap::Position{} : config_.sources.find(file, at);
    }
    warnings_.push_back(ConfigWarning{file, path, pos.line, pos.column, std::move(message)});
  }

  void federation() {
    const std::string& main = config_.sources.mainFile();
    const FederationConfig& f = config_.federation;
    if (f.mode == FederationMode::Open) {
      if (f.blocked_domains.empty()) {
        warn(main, "federation.mode",
             "open federation with no blocked_domains: any domain whose certificate and DNS "
             "check out may send; list the domains to refuse in federation.blocked_domains");
      }
      rules(main, "federation.default", "[federation.default]", f.default_policy);
    } else if (config_.sources.find(main, "federation.default").line != 0) {
      warn(main, "federation.default",
           "[federation.default] applies only to open federation (mode = \"open\"): here it has "
           "no effect");
    }
  }

  bool mutualTlsListener() const {
    for (const ListenerConfig& l : config_.listeners) {
      if (l.side != Side::External || l.transport != Transport::Tls) {
        continue;
      }
      const TlsProfile* profile = config_.findTlsProfile(l.tls_profile);
      if (profile != nullptr && profile->client_certificate != ClientCertMode::None) {
        return true;
      }
    }
    return false;
  }

  bool plainExternalListener() const {
    return std::any_of(config_.listeners.begin(), config_.listeners.end(),
                       [](const ListenerConfig& l) {
                         return l.side == Side::External && l.transport != Transport::Tls;
                       });
  }

  void partner(const Partner& p) {
    const std::string& file = p.source;
    const std::string who = "partner \"" + p.name + "\"";
    std::size_t blocked = 0;
    for (std::size_t i = 0; i < p.domains.size(); ++i) {
      const std::string path = indexed(join(p.path, "domains"), i);
      if (contains(config_.federation.blocked_domains, p.domains[i])) {
        ++blocked;
        warn(file, path,
             "\"" + p.domains[i] +
                 "\" is also in federation.blocked_domains, which wins: its requests never reach "
                 "this partner's rules");
      }
      if (contains(config_.server.domains, p.domains[i])) {
        warn(file, path,
             "\"" + p.domains[i] +
                 "\" is one of server.domains: this partner could send as the served domain's "
                 "own users");
      }
    }
    if (blocked == p.domains.size()) {
      warn(file, p.path, who + " can never match: all its domains are blocked");
    }
    const PartnerPolicy& policy = p.policy;
    const bool inbound = policy.direction != PartnerDirection::Outbound;
    if (inbound && policy.require_mutual_tls && !mutualTlsListener()) {
      warn(file, join(p.path, "require_mutual_tls"),
           who +
               " can never send inbound: it requires mutual TLS, but no external TLS listener "
               "asks for a client certificate (client_certificate = \"request\" or \"require\")");
    }
    if (inbound && !policy.require_mutual_tls && policy.networks.empty() &&
        plainExternalListener()) {
      warn(file, join(p.path, "require_mutual_tls"),
           "require_mutual_tls = false without networks: any host can claim " + who +
               "'s domains over plain UDP or TCP; list the partner's source networks");
    }
    if (!inbound && !policy.internal_targets.empty()) {
      warn(file, join(p.path, "internal_targets"),
           "internal_targets apply to inbound requests, and direction = \"outbound\": they have "
           "no effect");
    }
    rules(file, p.path, who, policy);
  }

  // The shadowed and dead entries of one policy's lists.
  void rules(const std::string& file, const std::string& base, const std::string& who,
             const PartnerPolicy& policy) {
    for (auto [key, list] :
         {std::pair<std::string_view, const std::vector<Cidr>*>{"networks", &policy.networks},
          {"deny_networks", &policy.deny_networks}}) {
      const std::string path = join(base, key);
      for (std::size_t i = 0; i < list->size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (covers((*list)[j], (*list)[i])) {
            warn(file, indexed(path, i),
                 text((*list)[i]) + " is already covered by " + indexed(std::string(key), j) +
                     " (" + text((*list)[j]) + ")");
            break;
          }
        }
      }
    }
    const bool inbound = policy.direction != PartnerDirection::Outbound;
    std::size_t denied = 0;
    for (std::size_t i = 0; i < policy.networks.size(); ++i) {
      for (std::size_t j = 0; j < policy.deny_networks.size(); ++j) {
        if (covers(policy.deny_networks[j], policy.networks[i])) {
          ++denied;
          warn(file, indexed(join(base, "networks"), i),
               text(policy.networks[i]) + " is inside deny_networks[" + std::to_string(j) + "] (" +
                   text(policy.deny_networks[j]) + "), which wins: it allows nothing");
          break;
        }
      }
    }
    if (inbound && !policy.networks.empty() && denied == policy.networks.size()) {
      warn(file, join(base, "networks"),
           who + " can never match: every network in networks is inside deny_networks");
    }
    if (!policy.networks.empty()) {
      for (std::size_t j = 0; j < policy.deny_networks.size(); ++j) {
        const Cidr& deny = policy.deny_networks[j];
        if (std::none_of(policy.networks.begin(), policy.networks.end(),
                         [&](const Cidr& allow) { return overlaps(allow, deny); })) {
          warn(file, indexed(join(base, "deny_networks"), j),
               text(deny) + " is outside every networks entry: it has no effect");
        }
      }
    }
    denied = 0;
    for (std::size_t i = 0; i < policy.countries.size(); ++i) {
      if (contains(policy.deny_countries, policy.countries[i])) {
        ++denied;
        warn(file, indexed(join(base, "countries"), i),
             "\"" + policy.countries[i] + "\" is also in deny_countries, which wins");
      }
    }
    if (inbound && !policy.countries.empty() && denied == policy.countries.size()) {
      warn(file, join(base, "countries"),
           who + " can never match: every country in countries is in deny_countries");
    }
    if (!policy.countries.empty()) {
      for (std::size_t j = 0; j < policy.deny_countries.size(); ++j) {
        if (!contains(policy.countries, policy.deny_countries[j])) {
          warn(file, indexed(join(base, "deny_countries"), j),
               "\"" + policy.deny_countries[j] +
                   "\" is not in countries, so it is refused anyway: this entry has no effect");
        }
      }
    }
    const auto& targets = policy.internal_targets;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].starts_with("*@")) {
        continue;
      }
      const std::string any = "*" + targets[i].substr(targets[i].rfind('@'));
      const auto it = std::find(targets.begin(), targets.end(), any);
      if (it != targets.end()) {
        warn(file, indexed(join(base, "internal_targets"), i),
             "\"" + targets[i] + "\" is already covered by internal_targets[" +
                 std::to_string(it - targets.begin()) + "] (\"" + any + "\")");
      }
    }
  }

  const Config& config_;
  std::vector<ConfigWarning> warnings_;
};

}  // namespace

std::vector<ConfigWarning> lint(const Config& config) {
  return Linter(config).run();
}

}  // namespace sipedge::config
