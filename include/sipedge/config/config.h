#pragma once

// The configuration: TOML in, an immutable typed snapshot out (STYLE S28-S30, DESIGN.md
// "Configuration and reload").
//
// - config::parse(text, source_name) is pure; config::load(path) reads the file and its
//   includes. Both return the first error found, positioned (file:line:col and dotted path).
// - Every default is a member initializer below (S30). The config module has its own plain
//   structs: the app maps them onto transport::Limits, transport::TlsSettings, txn::LayerSettings
//   / TimerConfig and dns::ResolverSettings, whose defaults these mirror.
// - Array indexes in paths are 0-based, as in TOML ("listeners[1]" is the second listener).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/config/values.h"

namespace sipedge::config {

// A positioned configuration error (S18, S29). line and column are 1-based; 0 when unknown
// (for example a file that cannot be read).
struct ConfigError {
  std::string file;  // the source name: the path given to load(), or parse()'s source_name
  std::string path;  // dotted path of the offending node, e.g. "listeners[1].address"
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;  // what was expected and what was found
  // "FILE:LINE:COL: PATH: MESSAGE" (the parts that are unknown are left out).
  std::string describe() const;
  bool operator==(const ConfigError&) const = default;
};

enum class Transport : std::uint8_t { Udp, Tcp, Tls };
enum class Side : std::uint8_t { External, Internal };
enum class ClientCertMode : std::uint8_t { None, Request, Require };
enum class FederationMode : std::uint8_t { Closed, Open };

std::string_view toString(Transport transport);

// [server]
struct ServerConfig {
  std::vector<std::string> domains;  // served SIP domains, lower case; at least one
  unsigned workers = 0;              // 0: one per core
  bool operator==(const ServerConfig&) const = default;
};

// [[listeners]]
struct ListenerConfig {
  std::string name;  // default "<transport>:<address>", e.g. "udp:0.0.0.0:5060"; unique
  Transport transport = Transport::Udp;
  SocketAddress address;
  Side side = Side::External;
  std::string tls_profile;      // TLS only (required there): a key of Config::tls
  std::string advertised_host;  // Via/Contact host; empty: the bound address
  // UDP: each worker sends its requests from a port of its own (transport::ListenerSettings::
  // worker_port). Default: on for an internal listener without advertised_host, else off.
  bool worker_port = false;
  bool operator==(const ListenerConfig&) const = default;
};

// [tls.<name>]. Relative paths are resolved against the directory of the file that names them.
struct TlsProfile {
  std::string name;
  std::string certificate;  // PEM leaf then chain; empty: a client-only profile
  std::string key;          // set exactly when certificate is
  std::string ca;           // empty: the system's default CA paths
  ClientCertMode client_certificate = ClientCertMode::Request;
  std::string min_version = "1.2";  // "1.2" or "1.3"
  std::string ciphers;              // TLS 1.2 list, OpenSSL syntax; empty: OpenSSL's default
  std::string ciphersuites;         // TLS 1.3 suites; empty: OpenSSL's default
  std::string groups;               // e.g. "X25519:P-256"; empty: OpenSSL's default
  struct Sni {
    std::string domain;  // lower case
    std::string certificate;
    std::string key;
    bool operator==(const Sni&) const = default;
  };
  std::vector<Sni> sni;  // [[tls.<name>.sni]]
  bool operator==(const TlsProfile&) const = default;
};

// [limits] (transport::Limits, sip::ParseLimits, txn::LayerSettings)
struct LimitsConfig {
  std::uint64_t max_message_bytes = 65535;
  std::uint64_t max_headers = 256;
  std::uint64_t max_connections = 10000;
  std::uint64_t max_connections_per_ip = 100;
  std::uint64_t max_pending_bytes = 1 << 20;
  Duration connect_timeout{5000};
  Duration tls_handshake_timeout{5000};
  Duration idle_timeout{10 * 60 * 1000};
  std::uint64_t max_transactions = 200000;
  std::uint64_t udp_max_request_bytes = 1300;  // larger requests go over TCP; 0: never switch
  bool operator==(const LimitsConfig&) const = default;
};

// [txn] (txn::TimerConfig); t1 >= 1ms, t2 >= t1.
struct TxnConfig {
  Duration t1{500};
  Duration t2{4000};
  Duration t4{5000};
  Duration timer_c{180000};
  Duration timer_d{32000};
  Duration wait_timer{0};  // timers J, L, M; 0: 64*T1
  bool operator==(const TxnConfig&) const = default;
};

// [dns] (dns::ResolverSettings)
struct DnsConfig {
  std::vector<SocketAddress> servers;  // port 53 when not given; empty: resolv.conf's
  Duration timeout{2000};              // per try, per server
  unsigned tries = 2;
  std::uint64_t cache_entries = 10000;
  Duration negative_ttl{30000};  // whole seconds
  Duration max_ttl{3600000};     // whole seconds
  bool ipv6 = true;
  bool prefer_ipv6 = false;
  bool operator==(const DnsConfig&) const = default;
};

enum class PartnerDirection : std::uint8_t { Inbound, Outbound, Both };
enum class TrustHeaders : std::uint8_t { Strip, Keep };
enum class DenyAction : std::uint8_t { Respond, Drop };
enum class RoutingMode : std::uint8_t { B2bua, Redirect };
enum class ForkMode : std::uint8_t { Parallel, Sequential };

// A token bucket: `per_second` tokens refill per second up to `burst`. per_second = 0: no limit.
// TOML: an inline table { per_second = 50, burst = 100 }; burst defaults to max(1, per_second).
struct RateLimitConfig {
  double per_second = 0;
  std::uint32_t burst = 0;
  bool operator==(const RateLimitConfig&) const = default;
};

// [partners.rate_limits] / [federation.default.rate_limits]
struct RateLimitsConfig {
  RateLimitConfig requests;         // out-of-dialog requests per partner (all its sources)
  RateLimitConfig dialogs;          // new dialogs (INVITE, SUBSCRIBE, REFER) per partner
  RateLimitConfig source_requests;  // ... per source IP address
  RateLimitConfig source_dialogs;
  bool operator==(const RateLimitsConfig&) const = default;
};

// What a partner may do: the keys of a [[partners]] entry besides its identification, and of
// [federation.default] (domains that match no partner, open federation only).
struct PartnerPolicy {
  PartnerDirection direction = PartnerDirection::Both;
  std::vector<std::string> methods;  // upper case; empty: every method
  // Inbound: which served-domain users the partner may reach, as "user@domain" or
  // "*@domain" (domain lower case); empty: any user of a served domain.
  std::vector<std::string> internal_targets;
  bool require_mutual_tls = true;  // false: also plain UDP/TCP from `networks`
  std::vector<Cidr> networks;      // allowed source networks; empty: any
  std::vector<Cidr> deny_networks;
  std::vector<std::string> countries;  // allowed (ISO 3166-1 alpha-2, upper case); empty: any
  std::vector<std::string> deny_countries;
  RateLimitsConfig rate_limits;
  std::uint64_t max_message_bytes = 0;  // 0: [limits] max_message_bytes
  // P-Asserted-Identity, P-Preferred-Identity, Privacy, Remote-Party-ID from this partner:
  // stripped (default) or kept (mapped like From).
  TrustHeaders trust_headers = TrustHeaders::Strip;
  DenyAction deny_action = DenyAction::Respond;
  int deny_status = 403;  // 400-699
  DenyAction throttle_action = DenyAction::Respond;
  int throttle_status = 503;            // 400-699, with Retry-After
  Duration throttle_retry_after{5000};  // whole seconds
  // REGISTER from this partner (issue 6): refused by policy (rule "register") unless true.
  bool register_allowed = false;  // TOML key `register`
  // Requests from this partner: relayed, or answered with a redirect; unset: the target
  // domain's [routing] mode.
  std::optional<RoutingMode> mode;
  bool operator==(const PartnerPolicy&) const = default;
};

// [federation]
struct FederationConfig {
  FederationMode mode = FederationMode::Closed;
  std::vector<std::string> blocked_domains;  // lower case; included files may add to it
  // The answer to a domain that is blocked, or unknown in closed federation.
  DenyAction unknown_action = DenyAction::Respond;
  int unknown_status = 403;
  PartnerPolicy default_policy;  // [federation.default]: open federation's unlisted domains
  bool operator==(const FederationConfig&) const = default;
};

// [[partners]]
struct Partner {
  std::string name;                  // unique
  std::vector<std::string> domains;  // lower case; no domain belongs to two partners
  std::string source;                // the file that defined it
  // Where outbound requests to this partner go; unset: RFC 3263 DNS on the target domain.
  bool has_address = false;
  SocketAddress address;
  Transport transport = Transport::Tls;  // with `address`
  PartnerPolicy policy;                  // the policy keys, flat in the [[partners]] table
  std::string path;                      // its dotted path in `source`, e.g. "partners[2]"
  bool operator==(const Partner&) const = default;
};

// [directory]: how identities are mapped (identity::Directory).
enum class DirectoryBackend : std::uint8_t { Static, Ldap };

// [directory.static]. Addresses are "user@host" (host lower case, user as written).
struct StaticDirectoryConfig {
  struct Target {
    std::string uri;  // a sip: or sips: URI
    double q = 1.0;   // 0.0 to 1.0
    bool operator==(const Target&) const = default;
  };
  // [[directory.static.users]]: one external address and its internal identity. `targets`
  // (optional) lists where calls go; empty: "sip:" + internal.
  struct User {
    std::string external;  // "jerry@acme.com"
    std::string internal;  // "js@nyc.acme.com"
    std::vector<Target> targets;
    // Digest credentials for the registrar: HA1 values (lower-case hex; 32 digits MD5, 64
    // SHA-256, at most one of each) for the external address's user and the auth realm.
    std::vector<std::string> ha1;
    bool operator==(const User&) const = default;
  };
  // [[directory.static.rules]]: "{user}@acme.com" <-> "{user}@nyc.acme.com". Exactly one
  // "{user}" on each side, as the whole user part. Users are tried first, then rules in order.
  struct Rule {
    std::string external;
    std::string internal;
    bool operator==(const Rule&) const = default;
  };
  std::vector<User> users;
  std::vector<Rule> rules;
  bool operator==(const StaticDirectoryConfig&) const = default;
};

// [directory.ldap] (OpenLDAP's libldap, asynchronous).
struct LdapDirectoryConfig {
  std::string uri;            // "ldap://host:port" or "ldaps://host:port"; required
  std::string bind_dn;        // empty: anonymous bind
  std::string password_file;  // the bind password, first line; required with bind_dn
  bool starttls = false;      // ldap:// only
  std::string ca;             // CA bundle for ldaps/StartTLS; empty: the system's
  std::string base;           // search base DN; required
  // Search filters; {aor}, {user} and {domain} are replaced with the RFC 4515-escaped values.
  std::string external_filter = "(sipExternalAddress={aor})";  // external -> internal
  std::string internal_filter = "(sipInternalAddress={aor})";  // internal -> external
  std::string external_attribute = "sipExternalAddress";       // "user@host"
  std::string internal_attribute = "sipInternalAddress";       // "user@host"
  std::string target_attribute;  // optional, multi-valued: "sip:uri" or "sip:uri;q=0.5"
  std::string ha1_attribute;     // optional, multi-valued: HA1 hex (digest credentials)
  Duration timeout{2000};        // per search
  Duration reconnect_interval{1000};
  bool operator==(const LdapDirectoryConfig&) const = default;
};

// [directory.cache] (lookups of a backend that waits: LDAP).
struct DirectoryCacheConfig {
  Duration positive_ttl{60000};
  Duration negative_ttl{10000};
  std::uint64_t max_entries = 100000;  // per worker; 0: no cache
  bool operator==(const DirectoryCacheConfig&) const = default;
};

struct DirectoryConfig {
  DirectoryBackend backend = DirectoryBackend::Static;
  StaticDirectoryConfig static_map;  // [directory.static]
  LdapDirectoryConfig ldap;          // [directory.ldap]: required when backend = "ldap"
  DirectoryCacheConfig cache;
  // The answer to a request for a user the directory does not know (or who is not federated):
  // the same either way, so partners cannot enumerate users.
  int not_found_status = 404;
  // Retry-After of the 503 sent while the directory is unavailable (fail closed).
  Duration unavailable_retry_after{30000};
  bool operator==(const DirectoryConfig&) const = default;
};

// [[next_hops]]: the internal proxies inbound requests are relayed to.
struct NextHopConfig {
  std::string name;  // default "<transport>:<address>"; unique
  Transport transport = Transport::Udp;
  SocketAddress address;
  unsigned priority = 1;        // lower first (RFC 2782 style)
  unsigned weight = 1;          // among equal priorities
  std::string tls_server_name;  // TLS: the name its certificate must cover; required for TLS
  bool operator==(const NextHopConfig&) const = default;
};

// [next_hop_health]: OPTIONS pings to every next hop.
struct NextHopHealthConfig {
  Duration interval{5000};  // 0: no pings (every hop always up)
  unsigned failures = 2;    // consecutive failed pings (or relayed requests) that mark a hop down
  unsigned successes = 1;   // consecutive answered pings that mark it up again
  bool operator==(const NextHopHealthConfig&) const = default;
};

// [geoip]: the MaxMind DB (GeoIP2/GeoLite2 Country or City format) for country rules.
struct GeoIpConfig {
  std::string database;  // path; required when any countries / deny_countries are set
  bool operator==(const GeoIpConfig&) const = default;
};

// [decision_log]: every policy decision, one JSON object per line (DESIGN.md, issue 5).
struct DecisionLogConfig {
  std::string path;                          // empty: no decision log
  std::uint64_t max_file_bytes = 100 << 20;  // rotate past this size (>= 4 KiB)
  unsigned keep_files = 10;                  // rotated files kept: PATH.1 (newest) .. PATH.N
  Duration flush_interval{1000};             // at most this much is lost in a crash
  std::uint64_t queue_records = 100000;      // records waiting for the writer; more are dropped
  bool operator==(const DecisionLogConfig&) const = default;
};

enum class LogLevel : std::uint8_t { Error, Warning, Info, Debug };
enum class LogFormat : std::uint8_t { Text, Json };

// [logging]: sipedge's own log (not the decision log).
struct LoggingConfig {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Text;
  std::string file;  // empty: standard error
  bool operator==(const LoggingConfig&) const = default;
};

// [b2bua]
struct B2buaConfig {
  Duration max_dialog_lifetime{12LL * 3600 * 1000};  // every dialog ends by then
  // A call idle this long (no request on either leg) is probed with in-dialog OPTIONS on both
  // legs and ended when a leg no longer has it. 0: off.
  Duration idle_check{0};
  // Headers relayed from one leg to the other besides the defaults (lower-case names), and
  // default ones that are dropped instead. Everything else is dropped.
  std::vector<std::string> pass_headers;
  std::vector<std::string> drop_headers;
  // Per direction, on top of the two lists above: [b2bua.to_inside] applies to what sipedge
  // sends toward the inside, [b2bua.to_partners] to what it sends toward partners.
  struct Direction {
    std::vector<std::string> pass_headers;
    std::vector<std::string> drop_headers;
    bool operator==(const Direction&) const = default;
  };
  Direction to_inside;
  Direction to_partners;
  bool pass_user_agent = false;  // User-Agent and Server
  std::string client_tls;        // the [tls.<name>] profile for outgoing TLS; empty: no client cert
  bool operator==(const B2buaConfig&) const = default;
};

// [registrar]: REGISTER for the served domains (RFC 3261 10) and the location service.
struct RegistrarConfig {
  bool enabled = true;  // false: every REGISTER gets 403
  // Which sides may register: the internal side always (when enabled); partners only those with
  // `register = true` in their [[partners]] entry (a refusal is a logged policy decision).
  std::uint32_t default_expires = 3600;  // seconds, when neither Contact nor Expires says
  std::uint32_t min_expires = 60;        // shorter (but not 0): 423 Interval Too Brief
  std::uint32_t max_expires = 86400;     // longer: shortened to this
  std::uint32_t max_contacts = 10;       // bindings per AOR; more: 403
  // The SQLite database the bindings persist in (WAL mode, written by a thread of its own);
  // empty: memory only (lost on restart).
  std::string database;
  Duration purge_interval{30000};  // expired bindings are removed this often
  // [[registrar.third_party]]: who may register whom (From differs from To). Entries are
  // "user@domain" or "*@domain"; `registrant` is the From, `aors` the To addresses allowed.
  struct ThirdParty {
    std::string registrant;
    std::vector<std::string> aors;
    bool operator==(const ThirdParty&) const = default;
  };
  std::vector<ThirdParty> third_party;
  // [registrar.auth]: digest authentication of REGISTER (RFC 8760 / RFC 7616); off when absent.
  struct Auth {
    bool enabled = false;  // true when [registrar.auth] is present
    std::string realm;     // default: the first served domain
    // "user:realm:HA1" lines (32 hex: MD5, 64 hex: SHA-256); empty: the credentials come from
    // the directory (static users' `ha1`, LDAP's ha1_attribute) for the registrant's address.
    std::string ha1_file;
    std::vector<std::string> algorithms{"SHA-256", "MD5"};  // offered, in this order
    Duration nonce_lifetime{300000};
    bool operator==(const Auth&) const = default;
  };
  Auth auth;
  bool operator==(const RegistrarConfig&) const = default;
};

// [routing]: how requests for served-domain users are handled (and per domain, in
// [[routing.domains]]; per partner, `mode` in [[partners]]).
struct RoutingConfig {
  RoutingMode mode = RoutingMode::B2bua;  // "b2bua" relays, "redirect" answers 3xx
  // Consult the location service for served-domain users before the internal next hops.
  bool use_location = true;
  ForkMode fork = ForkMode::Parallel;  // several bindings: all at once, or by q one by one
  Duration branch_timeout{15000};      // sequential: a branch with no final response by then
  int redirect_status = 302;           // 301, 302 or 380
  // The targets a redirect lists: registered contacts, then the directory's targets.
  bool redirect_location = true;
  bool redirect_directory = true;
  struct Domain {
    std::string domain;  // a served domain, lower case
    RoutingMode mode = RoutingMode::B2bua;
    bool operator==(const Domain&) const = default;
  };
  std::vector<Domain> domains;
  bool operator==(const RoutingConfig&) const = default;
};

// [admin]: the loopback HTTP listener for /metrics.
struct AdminConfig {
  bool enabled = false;  // true when `listen` is given
  SocketAddress listen;
  bool operator==(const AdminConfig&) const = default;
};

// Where each node of the configuration was written: file and dotted path -> line and column.
// For diagnostics found after parsing (config::lint, `sipedge check-config`). Not part of the
// configuration's value: operator== ignores it.
class SourceMap {
 public:
  struct Position {
    std::uint32_t line = 0;  // 1-based; 0: not recorded
    std::uint32_t column = 0;
  };
  void add(std::string_view file, std::string_view path, Position at);
  // {0, 0} when `path` was not written in `file` (a default).
  Position find(std::string_view file, std::string_view path) const;
  // The file given to load() or parse(): where every section but included partners and blocked
  // domains comes from.
  const std::string& mainFile() const { return main_file_; }
  void setMainFile(std::string file) { main_file_ = std::move(file); }
  bool operator==(const SourceMap&) const { return true; }

 private:
  std::string main_file_;
  std::map<std::string, Position, std::less<>> positions_;  // "FILE\nPATH"
};

struct Config {
  ServerConfig server;
  std::vector<ListenerConfig> listeners;  // at least one; (transport, address) unique
  std::vector<TlsProfile> tls;            // sorted by name
  LimitsConfig limits;
  TxnConfig txn;
  DnsConfig dns;
  FederationConfig federation;
  std::vector<Partner> partners;  // in file order, the main file's first, then each include's
  DirectoryConfig directory;
  std::vector<NextHopConfig> next_hops;
  NextHopHealthConfig next_hop_health;
  B2buaConfig b2bua;
  AdminConfig admin;
  GeoIpConfig geoip;
  DecisionLogConfig decision_log;
  LoggingConfig logging;
  RegistrarConfig registrar;
  RoutingConfig routing;
  SourceMap sources;

  // nullptr when no profile has that name.
  const TlsProfile* findTlsProfile(std::string_view name) const;
  bool operator==(const Config&) const = default;
};

// Parses one configuration document. Pure: reads no file. Relative TLS paths are joined to the
// directory part of source_name (absolute when source_name is). A top-level `include` is an
// error here: includes need the file system, so only load() resolves them.
[[nodiscard]] Result<Config, ConfigError> parse(std::string_view text, std::string source_name);

// Reads `path` and the files its `include = ["policies/*.toml", ...]` patterns match (relative
// to the including file's directory, in sorted order per pattern; included files may include
// further files). An included file may hold only [[partners]], [federation] blocked_domains and
// include. A pattern without wildcards must name an existing file; one with wildcards may match
// nothing. A missing file or an include cycle is an error at the include's position.
[[nodiscard]] Result<Config, ConfigError> load(const std::string& path);

}  // namespace sipedge::config
