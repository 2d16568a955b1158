// The sections issue 5's policy reads: the partner policy keys (flat in [[partners]] and in
// [federation.default]), [federation] unknown_action / unknown_status, [geoip], [decision_log]
// and [logging].
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "sipedge/config/config.h"

namespace sipedge::config {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMinimal = R"([server]
domains = ["acme.test", "other.test"]

[[listeners]]
transport = "udp"
address = "127.0.0.1:5060"
)";

// Partner lines start at line 9 (kMinimal is 6 lines, then [geoip] and a blank one).
constexpr const char* kGeoip = "[geoip]\ndatabase = \"geo.mmdb\"\n";

std::string errorOf(const std::string& extra) {
  auto result = parse(std::string(kMinimal) + extra, "t.toml");
  return result ? "(parsed)" : result.error().describe();
}

// The error of a partner whose table holds `keys` (the partner header is line 9, the first of
// `keys` line 12).
std::string partnerError(const std::string& keys) {
  return errorOf(std::string(kGeoip) + "[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n" +
                 keys);
}

Cidr cidr(const char* text) {
  auto c = parseCidr(text);
  EXPECT_TRUE(c) << text;
  return c ? *c : Cidr{};
}

TEST(PolicySections, Defaults) {
  auto c = parse(std::string(kMinimal) + "[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n",
                 "t.toml");
  ASSERT_TRUE(c) << c.error().describe();
  ASSERT_EQ(c->partners.size(), 1u);
  const PartnerPolicy& p = c->partners[0].policy;
  EXPECT_EQ(p, PartnerPolicy{});
  EXPECT_EQ(p.direction, PartnerDirection::Both);
  EXPECT_TRUE(p.methods.empty());
  EXPECT_TRUE(p.internal_targets.empty());
  EXPECT_TRUE(p.require_mutual_tls);
  EXPECT_TRUE(p.networks.empty());
  EXPECT_TRUE(p.deny_networks.empty());
  EXPECT_TRUE(p.countries.empty());
  EXPECT_TRUE(p.deny_countries.empty());
  EXPECT_EQ(p.rate_limits, RateLimitsConfig{});
  EXPECT_EQ(p.rate_limits.requests.per_second, 0.0);
  EXPECT_EQ(p.max_message_bytes, 0u);
  EXPECT_EQ(p.trust_headers, TrustHeaders::Strip);
  EXPECT_EQ(p.deny_action, DenyAction::Respond);
  EXPECT_EQ(p.deny_status, 403);
  EXPECT_EQ(p.throttle_action, DenyAction::Respond);
  EXPECT_EQ(p.throttle_status, 503);
  EXPECT_EQ(p.throttle_retry_after, milliseconds(5000));
  EXPECT_EQ(c->partners[0].path, "partners[0]");
  EXPECT_EQ(c->federation.unknown_action, DenyAction::Respond);
  EXPECT_EQ(c->federation.unknown_status, 403);
  EXPECT_EQ(c->federation.default_policy, PartnerPolicy{});
  EXPECT_EQ(c->geoip, GeoIpConfig{});
  EXPECT_EQ(c->geoip.database, "");
  EXPECT_EQ(c->decision_log, DecisionLogConfig{});
  EXPECT_EQ(c->decision_log.path, "");
  EXPECT_EQ(c->decision_log.max_file_bytes, 100u << 20);
  EXPECT_EQ(c->decision_log.keep_files, 10u);
  EXPECT_EQ(c->decision_log.flush_interval, milliseconds(1000));
  EXPECT_EQ(c->decision_log.queue_records, 100000u);
  EXPECT_EQ(c->logging, LoggingConfig{});
  EXPECT_EQ(c->logging.level, LogLevel::Info);
  EXPECT_EQ(c->logging.format, LogFormat::Text);
  EXPECT_EQ(c->logging.file, "");
}

TEST(PolicySections, EveryKeyParsed) {
  auto c = parse(std::string(kMinimal) + R"(
[limits]
max_message_bytes = "32KiB"

[geoip]
database = "geo/GeoLite2-Country.mmdb"

[decision_log]
path = "../var/decisions.log"
max_file_bytes = "10MiB"
keep_files = 3
flush_interval = "250ms"
queue_records = 5000

[logging]
level = "debug"
format = "json"
file = "/var/log/sipedge.log"

[federation]
mode = "open"
blocked_domains = ["spam.test"]
unknown_action = "drop"
unknown_status = 404

[federation.default]
direction = "inbound"
methods = ["options", "MESSAGE"]
require_mutual_tls = true
deny_countries = ["kp"]
deny_status = 488

[federation.default.rate_limits]
requests = { per_second = 2 }

[[partners]]
name = "globex"
domains = ["globex.test"]
direction = "outbound"
methods = ["INVITE", "ack", "BYE", "X-Custom.1"]
internal_targets = ["jerry@ACME.test", "*@other.test"]
require_mutual_tls = false
networks = ["192.0.2.0/24", "2001:db8::/32"]
deny_networks = ["192.0.2.128/25"]
countries = ["us", "DE"]
deny_countries = ["RU"]
max_message_bytes = 8192
trust_headers = "keep"
deny_action = "drop"
deny_status = 404
throttle_action = "drop"
throttle_status = 486
throttle_retry_after = "2m"

[partners.rate_limits]
requests = { per_second = 50, burst = 100 }
dialogs = { per_second = 0.5 }
source_requests = { per_second = 10, burst = 1 }
source_dialogs = { per_second = 2.5, burst = 7 }
)",
                 "/etc/sipedge/sipedge.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->geoip.database, "/etc/sipedge/geo/GeoLite2-Country.mmdb");
  const DecisionLogConfig& d = c->decision_log;
  EXPECT_EQ(d.path, "/etc/var/decisions.log");
  EXPECT_EQ(d.max_file_bytes, 10u << 20);
  EXPECT_EQ(d.keep_files, 3u);
  EXPECT_EQ(d.flush_interval, milliseconds(250));
  EXPECT_EQ(d.queue_records, 5000u);
  EXPECT_EQ(c->logging.level, LogLevel::Debug);
  EXPECT_EQ(c->logging.format, LogFormat::Json);
  EXPECT_EQ(c->logging.file, "/var/log/sipedge.log");

  const FederationConfig& f = c->federation;
  EXPECT_EQ(f.unknown_action, DenyAction::Drop);
  EXPECT_EQ(f.unknown_status, 404);
  EXPECT_EQ(f.default_policy.direction, PartnerDirection::Inbound);
  EXPECT_EQ(f.default_policy.methods, (std::vector<std::string>{"OPTIONS", "MESSAGE"}));
  EXPECT_EQ(f.default_policy.deny_countries, std::vector<std::string>{"KP"});
  EXPECT_EQ(f.default_policy.deny_status, 488);
  EXPECT_EQ(f.default_policy.rate_limits.requests, (RateLimitConfig{2, 2}));

  ASSERT_EQ(c->partners.size(), 1u);
  const PartnerPolicy& p = c->partners[0].policy;
  EXPECT_EQ(p.direction, PartnerDirection::Outbound);
  EXPECT_EQ(p.methods, (std::vector<std::string>{"INVITE", "ACK", "BYE", "X-CUSTOM.1"}));
  EXPECT_EQ(p.internal_targets, (std::vector<std::string>{"jerry@acme.test", "*@other.test"}));
  EXPECT_FALSE(p.require_mutual_tls);
  EXPECT_EQ(p.networks, (std::vector<Cidr>{cidr("192.0.2.0/24"), cidr("2001:db8::/32")}));
  EXPECT_EQ(p.deny_networks, std::vector<Cidr>{cidr("192.0.2.128/25")});
  EXPECT_EQ(p.countries, (std::vector<std::string>{"US", "DE"}));
  EXPECT_EQ(p.deny_countries, std::vector<std::string>{"RU"});
  EXPECT_EQ(p.max_message_bytes, 8192u);
  EXPECT_EQ(p.trust_headers, TrustHeaders::Keep);
  EXPECT_EQ(p.deny_action, DenyAction::Drop);
  EXPECT_EQ(p.deny_status, 404);
  EXPECT_EQ(p.throttle_action, DenyAction::Drop);
  EXPECT_EQ(p.throttle_status, 486);
  EXPECT_EQ(p.throttle_retry_after, milliseconds(120000));
  EXPECT_EQ(p.rate_limits.requests, (RateLimitConfig{50, 100}));
  EXPECT_EQ(p.rate_limits.dialogs, (RateLimitConfig{0.5, 1}));  // burst: max(1, per_second)
  EXPECT_EQ(p.rate_limits.source_requests, (RateLimitConfig{10, 1}));
  EXPECT_EQ(p.rate_limits.source_dialogs, (RateLimitConfig{2.5, 7}));
}

TEST(PolicySections, SourcePositions) {
  auto c = parse(std::string(kMinimal) +
                     "[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                     "networks = [\"192.0.2.0/24\", \"198.51.100.0/24\"]\n",
                 "t.toml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->sources.mainFile(), "t.toml");
  const auto at = c->sources.find("t.toml", "partners[0].networks[1]");
  EXPECT_EQ(at.line, 10u);
  EXPECT_EQ(at.column, 29u);
  EXPECT_EQ(c->sources.find("t.toml", "partners[0]").line, 7u);
  EXPECT_EQ(c->sources.find("t.toml", "partners[0].methods").line, 0u);
  EXPECT_EQ(c->sources.find("other.toml", "partners[0]").line, 0u);
  // Positions are not part of the value.
  auto moved = parse(std::string(kMinimal) +
                         "\n\n[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n"
                         "networks = [\"192.0.2.0/24\",   \"198.51.100.0/24\"]\n",
                     "t.toml");
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, *c);
}

TEST(PolicySections, PartnerKeyErrors) {
  EXPECT_EQ(
      partnerError("direction = \"in\"\n"),
      R"(t.toml:12:13: partners[0].direction: expected "inbound" or "outbound" or "both", got "in")");
  EXPECT_EQ(partnerError("methods = \"INVITE\"\n"),
            "t.toml:12:11: partners[0].methods: expected an array, got a string");
  EXPECT_EQ(partnerError("methods = []\n"),
            "t.toml:12:11: partners[0].methods: expected at least one SIP method (leave methods "
            "out to allow any)");
  EXPECT_EQ(
      partnerError("methods = [\"INVITE\", \"IN VITE\"]\n"),
      R"(t.toml:12:22: partners[0].methods[1]: expected a SIP method like "INVITE", got "IN VITE")");
  EXPECT_EQ(partnerError("methods = [\"INVITE\", 5]\n"),
            "t.toml:12:22: partners[0].methods[1]: expected a SIP method, got an integer (5)");
  EXPECT_EQ(
      partnerError("methods = [\"INVITE\", \"BYE\", \"invite\"]\n"),
      R"(t.toml:12:29: partners[0].methods[2]: duplicate method "INVITE" (also partners[0].methods[0]))");
  EXPECT_EQ(
      partnerError("internal_targets = [\"jerry\"]\n"),
      R"(t.toml:12:21: partners[0].internal_targets[0]: expected a target like "jerry@example.com" or "*@example.com", got "jerry")");
  EXPECT_EQ(
      partnerError("internal_targets = [\"j*@acme.test\"]\n"),
      R"(t.toml:12:21: partners[0].internal_targets[0]: expected a target like "jerry@example.com" or "*@example.com", got "j*@acme.test")");
  EXPECT_EQ(
      partnerError("internal_targets = [\"*@elsewhere.test\"]\n"),
      R"(t.toml:12:21: partners[0].internal_targets[0]: "elsewhere.test" is not a served domain (server.domains): "*@elsewhere.test" could never match)");
  EXPECT_EQ(
      partnerError("internal_targets = [\"a@acme.test\", \"a@ACME.test\"]\n"),
      R"(t.toml:12:36: partners[0].internal_targets[1]: duplicate target "a@acme.test" (also partners[0].internal_targets[0]))");
  EXPECT_EQ(
      partnerError("internal_targets = [\"a@acme..test\"]\n"),
      R"(t.toml:12:21: partners[0].internal_targets[0]: bad domain in "a@acme..test": expected a domain name like "example.com", got "acme..test")");
  EXPECT_EQ(partnerError("require_mutual_tls = \"no\"\n"),
            "t.toml:12:22: partners[0].require_mutual_tls: expected a boolean (true or false), got "
            "a string");
  EXPECT_EQ(
      partnerError("networks = [\"10.0.0.1/8\"]\n"),
      R"(t.toml:12:13: partners[0].networks[0]: "10.0.0.1/8" has bits set past the prefix; did you mean "10.0.0.0/8"?)");
  EXPECT_EQ(partnerError("networks = []\n"),
            "t.toml:12:12: partners[0].networks: expected at least one network (leave networks "
            "out to allow any)");
  EXPECT_EQ(
      partnerError("deny_networks = [\"10.0.0.0/8\", \"example.com\"]\n"),
      R"(t.toml:12:32: partners[0].deny_networks[1]: expected a network like "192.0.2.0/24" or "2001:db8::/32", got "example.com")");
  EXPECT_EQ(
      partnerError("countries = [\"USA\"]\n"),
      R"(t.toml:12:14: partners[0].countries[0]: expected an ISO 3166 alpha-2 country code like "DE" or "US", got "USA")");
  EXPECT_EQ(
      partnerError("deny_countries = [\"RU\", \"ru\"]\n"),
      R"(t.toml:12:25: partners[0].deny_countries[1]: duplicate country "RU" (also partners[0].deny_countries[0]))");
  EXPECT_EQ(partnerError("max_message_bytes = \"1MiB\"\n"),
            "t.toml:12:21: partners[0].max_message_bytes: 1048576 is above [limits] "
            "max_message_bytes (65535): a partner's limit can only be lower");
  EXPECT_EQ(partnerError("max_message_bytes = 100\n"),
            "t.toml:12:21: partners[0].max_message_bytes: expected a size from 1024 to 16777216 "
            "bytes, got 100");
  EXPECT_EQ(partnerError("trust_headers = \"pass\"\n"),
            R"(t.toml:12:17: partners[0].trust_headers: expected "strip" or "keep", got "pass")");
  EXPECT_EQ(partnerError("deny_action = \"reject\"\n"),
            R"(t.toml:12:15: partners[0].deny_action: expected "respond" or "drop", got "reject")");
  EXPECT_EQ(partnerError("deny_status = 200\n"),
            "t.toml:12:15: partners[0].deny_status: expected an integer from 400 to 699, got 200");
  EXPECT_EQ(
      partnerError("throttle_action = 1\n"),
      R"(t.toml:12:19: partners[0].throttle_action: expected "respond" or "drop", got an integer (1))");
  EXPECT_EQ(
      partnerError("throttle_status = 700\n"),
      "t.toml:12:19: partners[0].throttle_status: expected an integer from 400 to 699, got 700");
  EXPECT_EQ(partnerError("throttle_retry_after = \"1500ms\"\n"),
            "t.toml:12:24: partners[0].throttle_retry_after: expected a whole number of seconds "
            "(Retry-After), got 1500ms");
  EXPECT_EQ(
      partnerError("throttle_retry_after = 5\n"),
      R"(t.toml:12:24: partners[0].throttle_retry_after: expected a duration like "30s", "500ms" or "10m", got an integer (5))");
  EXPECT_EQ(partnerError("method = [\"INVITE\"]\n"),
            R"(t.toml:12:1: partners[0].method: unknown key (did you mean "methods"?))");
}

TEST(PolicySections, RateLimitErrors) {
  EXPECT_EQ(partnerError("rate_limits = 5\n"),
            "t.toml:12:15: partners[0].rate_limits: expected a table, got an integer (5)");
  EXPECT_EQ(
      partnerError("[partners.rate_limits]\nrequest = { per_second = 1 }\n"),
      R"(t.toml:13:1: partners[0].rate_limits.request: unknown key (did you mean "requests"?))");
  EXPECT_EQ(
      partnerError("[partners.rate_limits]\nrequests = 5\n"),
      "t.toml:13:12: partners[0].rate_limits.requests: expected a rate like { per_second = 50, "
      "burst = 100 }, got an integer (5)");
  EXPECT_EQ(partnerError("[partners.rate_limits]\ndialogs = { burst = 5 }\n"),
            "t.toml:13:11: partners[0].rate_limits.dialogs.per_second: missing: expected a number "
            "of requests per second above 0");
  EXPECT_EQ(partnerError("[partners.rate_limits]\nsource_requests = { per_second = 0 }\n"),
            "t.toml:13:34: partners[0].rate_limits.source_requests.per_second: expected a number "
            "of requests per second above 0 (at most 1e9), got 0");
  EXPECT_EQ(partnerError("[partners.rate_limits]\nsource_requests = { per_second = -1.5 }\n"),
            "t.toml:13:34: partners[0].rate_limits.source_requests.per_second: expected a number "
            "of requests per second above 0 (at most 1e9), got -1.5");
  EXPECT_EQ(partnerError("[partners.rate_limits]\nsource_dialogs = { per_second = \"5\" }\n"),
            "t.toml:13:33: partners[0].rate_limits.source_dialogs.per_second: expected a number "
            "of requests per second above 0 (at most 1e9), got a string");
  EXPECT_EQ(partnerError("[partners.rate_limits]\nrequests = { per_second = 5, burst = 0 }\n"),
            "t.toml:13:38: partners[0].rate_limits.requests.burst: expected an integer from 1 to "
            "1000000000, got 0");
  EXPECT_EQ(
      partnerError("[partners.rate_limits]\nrequests = { per_second = 5, bust = 1 }\n"),
      R"(t.toml:13:30: partners[0].rate_limits.requests.bust: unknown key (did you mean "burst"?))");
}

TEST(PolicySections, CountriesNeedGeoip) {
  EXPECT_EQ(errorOf("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\ncountries = [\"DE\"]\n"),
            "t.toml:10:13: partners[0].countries: country rules need [geoip] database (the "
            "MaxMind DB that maps addresses to countries)");
  EXPECT_EQ(errorOf("[federation.default]\ndeny_countries = [\"DE\"]\n"),
            "t.toml:8:18: federation.default.deny_countries: country rules need [geoip] database "
            "(the MaxMind DB that maps addresses to countries)");
  EXPECT_EQ(
      errorOf("[geoip]\n"),
      R"(t.toml:7:1: geoip.database: missing: expected the MaxMind DB file like "GeoLite2-Country.mmdb")");
  EXPECT_EQ(errorOf("[geoip]\ndatabase = \"\"\n"),
            "t.toml:8:12: geoip.database: expected a file path, got an empty string");
  EXPECT_EQ(errorOf("[geoip]\ndb = \"x\"\n"), "t.toml:8:1: geoip.db: unknown key");
}

TEST(PolicySections, FederationErrors) {
  EXPECT_EQ(
      errorOf("[federation]\nunknown_action = \"ignore\"\n"),
      R"(t.toml:8:18: federation.unknown_action: expected "respond" or "drop", got "ignore")");
  EXPECT_EQ(errorOf("[federation]\nunknown_status = 399\n"),
            "t.toml:8:18: federation.unknown_status: expected an integer from 400 to 699, got 399");
  EXPECT_EQ(errorOf("[federation.default]\nname = \"x\"\n"),
            "t.toml:8:1: federation.default.name: unknown key");
  EXPECT_EQ(
      errorOf("[federation.default]\nmethods = [\"INVITE\", \"INVITE\"]\n"),
      R"(t.toml:8:22: federation.default.methods[1]: duplicate method "INVITE" (also federation.default.methods[0]))");
  EXPECT_EQ(
      errorOf("[federation.default]\ninternal_targets = [\"*@p.test\"]\n"),
      R"(t.toml:8:21: federation.default.internal_targets[0]: "p.test" is not a served domain (server.domains): "*@p.test" could never match)");
  EXPECT_EQ(
      errorOf("[federation.default.rate_limits]\ndialogs = { per_second = 1, burst = 1.5 }\n"),
      "t.toml:8:37: federation.default.rate_limits.dialogs.burst: expected an integer from 1 "
      "to 1000000000, got a floating-point number");
  EXPECT_EQ(errorOf("[federation]\ndefault = 1\n"),
            "t.toml:8:11: federation.default: expected a table, got an integer (1)");
}

TEST(PolicySections, DecisionLogAndLoggingErrors) {
  EXPECT_EQ(errorOf("[decision_log]\npath = \"\"\n"),
            "t.toml:8:8: decision_log.path: expected a file path, got an empty string");
  EXPECT_EQ(errorOf("[decision_log]\nmax_file_bytes = \"1KiB\"\n"),
            "t.toml:8:18: decision_log.max_file_bytes: expected a size from 4096 to "
            "1099511627776 bytes, got 1024");
  EXPECT_EQ(errorOf("[decision_log]\nkeep_files = 1001\n"),
            "t.toml:8:14: decision_log.keep_files: expected an integer from 0 to 1000, got 1001");
  EXPECT_EQ(errorOf("[decision_log]\nflush_interval = \"5ms\"\n"),
            "t.toml:8:18: decision_log.flush_interval: expected a duration from 10ms to 60000ms, "
            "got \"5ms\"");
  EXPECT_EQ(errorOf("[decision_log]\nflush_interval = \"2m\"\n"),
            "t.toml:8:18: decision_log.flush_interval: expected a duration from 10ms to 60000ms, "
            "got \"2m\"");
  EXPECT_EQ(errorOf("[decision_log]\nqueue_records = 0\n"),
            "t.toml:8:17: decision_log.queue_records: expected an integer from 1 to 100000000, "
            "got 0");
  EXPECT_EQ(errorOf("[decision_log]\nfile = \"x\"\n"),
            "t.toml:8:1: decision_log.file: unknown key");
  EXPECT_EQ(
      errorOf("[logging]\nlevel = \"warn\"\n"),
      R"(t.toml:8:9: logging.level: expected "error" or "warning" or "info" or "debug", got "warn")");
  EXPECT_EQ(errorOf("[logging]\nformat = \"xml\"\n"),
            R"(t.toml:8:10: logging.format: expected "text" or "json", got "xml")");
  EXPECT_EQ(errorOf("[logging]\nfile = 3\n"),
            "t.toml:8:8: logging.file: expected a file path, got an integer (3)");
  EXPECT_EQ(errorOf("[loging]\n"), R"(t.toml:7:2: loging: unknown key (did you mean "logging"?))");
}

// Included files carry the partner policy keys; their errors name the included file.
class PolicyIncludeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sipedge-policy-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/policies");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(PolicyIncludeTest, IncludedPartnersCarryPolicy) {
  write("sipedge.toml", "include = [\"policies/*.toml\"]\n" + std::string(kMinimal) + kGeoip);
  write("policies/globex.toml",
        "[[partners]]\nname = \"globex\"\ndomains = [\"globex.test\"]\n"
        "methods = [\"MESSAGE\"]\ninternal_targets = [\"*@acme.test\"]\n"
        "require_mutual_tls = false\nnetworks = [\"192.0.2.0/24\"]\ncountries = [\"DE\"]\n"
        "[partners.rate_limits]\nrequests = { per_second = 5 }\n");
  auto c = load(dir_ + "/sipedge.toml");
  ASSERT_TRUE(c) << c.error().describe();
  ASSERT_EQ(c->partners.size(), 1u);
  const Partner& p = c->partners[0];
  EXPECT_EQ(p.source, dir_ + "/policies/globex.toml");
  EXPECT_EQ(p.path, "partners[0]");
  EXPECT_EQ(p.policy.methods, std::vector<std::string>{"MESSAGE"});
  EXPECT_EQ(p.policy.internal_targets, std::vector<std::string>{"*@acme.test"});
  EXPECT_FALSE(p.policy.require_mutual_tls);
  EXPECT_EQ(p.policy.networks, std::vector<Cidr>{cidr("192.0.2.0/24")});
  EXPECT_EQ(p.policy.countries, std::vector<std::string>{"DE"});
  EXPECT_EQ(p.policy.rate_limits.requests, (RateLimitConfig{5, 5}));
  EXPECT_EQ(c->sources.mainFile(), dir_ + "/sipedge.toml");
  EXPECT_EQ(c->sources.find(p.source, "partners[0].networks[0]").line, 7u);
}

TEST_F(PolicyIncludeTest, IncludedPartnerErrorsNameTheIncludedFile) {
  write("sipedge.toml", "include = [\"policies/*.toml\"]\n" + std::string(kMinimal));
  write("policies/a.toml",
        "[[partners]]\nname = \"a\"\ndomains = [\"a.test\"]\n"
        "internal_targets = [\"*@nowhere.test\"]\n");
  auto c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(
      c.error().describe(),
      dir_ +
          R"(/policies/a.toml:4:21: partners[0].internal_targets[0]: "nowhere.test" is not a served domain (server.domains): "*@nowhere.test" could never match)");
  // Country rules in an included file need the main file's [geoip].
  write("policies/a.toml",
        "[[partners]]\nname = \"a\"\ndomains = [\"a.test\"]\ndeny_countries = [\"DE\"]\n");
  c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(),
            dir_ +
                "/policies/a.toml:4:18: partners[0].deny_countries: country rules need [geoip] "
                "database (the MaxMind DB that maps addresses to countries)");
  // An included file still may not hold [federation.default] or the other sections.
  write("policies/a.toml", "[federation.default]\nmethods = [\"INVITE\"]\n");
  c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().describe(),
            dir_ +
                "/policies/a.toml:1:13: federation.default: unknown key (an included file may "
                "set only federation.blocked_domains)");
  write("policies/a.toml", "[decision_log]\npath = \"x\"\n");
  c = load(dir_ + "/sipedge.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, "decision_log");
}

}  // namespace
}  // namespace sipedge::config
