// The sections of issue 6: [registrar] (with third_party and auth), [routing] (with domains),
// and the partner keys `register` and `mode`.
#include <gtest/gtest.h>

#include <string>

#include "sipedge/config/config.h"

namespace sipedge::config {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMinimal = R"([server]
domains = ["acme.test", "nyc.acme.test"]

[[listeners]]
transport = "udp"
address = "127.0.0.1:5060"
)";

Result<Config, ConfigError> parsed(const std::string& extra) {
  return parse(std::string(kMinimal) + extra, "/etc/sipedge/t.toml");
}

std::string errorOf(const std::string& extra) {
  auto result = parsed(extra);
  return result ? "(parsed)" : result.error().describe();
}

TEST(RegistrarSections, Defaults) {
  auto c = parsed("");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->registrar, RegistrarConfig{});
  EXPECT_TRUE(c->registrar.enabled);
  EXPECT_EQ(c->registrar.default_expires, 3600u);
  EXPECT_EQ(c->registrar.min_expires, 60u);
  EXPECT_EQ(c->registrar.max_expires, 86400u);
  EXPECT_TRUE(c->registrar.database.empty());
  EXPECT_FALSE(c->registrar.auth.enabled);
  EXPECT_EQ(c->routing, RoutingConfig{});
  EXPECT_EQ(c->routing.mode, RoutingMode::B2bua);
  EXPECT_EQ(c->routing.fork, ForkMode::Parallel);
  EXPECT_EQ(c->routing.redirect_status, 302);
  EXPECT_TRUE(c->routing.use_location);
}

TEST(RegistrarSections, FullParse) {
  auto c = parsed(R"(
[registrar]
enabled = true
default_expires = 1800
min_expires = 30
max_expires = 7200
max_contacts = 3
database = "../var/location.sqlite"
purge_interval = "10s"
third_party = [{ registrant = "admin@acme.test", aors = ["*@acme.test", "js@nyc.acme.test"] }]

[registrar.auth]
realm = "sip.acme.test"
ha1_file = "ha1.txt"
algorithms = ["md5"]
nonce_lifetime = "60s"

[routing]
mode = "redirect"
use_location = false
fork = "sequential"
branch_timeout = "4s"
redirect_status = 380
redirect_directory = false
domains = [{ domain = "NYC.acme.test", mode = "b2bua" }]

[[partners]]
name = "p"
domains = ["partner.test"]
register = true
mode = "redirect"
)");
  ASSERT_TRUE(c) << c.error().describe();
  const RegistrarConfig& g = c->registrar;
  EXPECT_EQ(g.default_expires, 1800u);
  EXPECT_EQ(g.min_expires, 30u);
  EXPECT_EQ(g.max_expires, 7200u);
  EXPECT_EQ(g.max_contacts, 3u);
  EXPECT_EQ(g.database, "/etc/var/location.sqlite");
  EXPECT_EQ(g.purge_interval, milliseconds(10000));
  ASSERT_EQ(g.third_party.size(), 1u);
  EXPECT_EQ(g.third_party[0].registrant, "admin@acme.test");
  EXPECT_EQ(g.third_party[0].aors, (std::vector<std::string>{"*@acme.test", "js@nyc.acme.test"}));
  EXPECT_TRUE(g.auth.enabled);
  EXPECT_EQ(g.auth.realm, "sip.acme.test");
  EXPECT_EQ(g.auth.ha1_file, "/etc/sipedge/ha1.txt");
  EXPECT_EQ(g.auth.algorithms, std::vector<std::string>{"MD5"});
  EXPECT_EQ(g.auth.nonce_lifetime, milliseconds(60000));
  const RoutingConfig& r = c->routing;
  EXPECT_EQ(r.mode, RoutingMode::Redirect);
  EXPECT_FALSE(r.use_location);
  EXPECT_EQ(r.fork, ForkMode::Sequential);
  EXPECT_EQ(r.branch_timeout, milliseconds(4000));
  EXPECT_EQ(r.redirect_status, 380);
  EXPECT_TRUE(r.redirect_location);
  EXPECT_FALSE(r.redirect_directory);
  ASSERT_EQ(r.domains.size(), 1u);
  EXPECT_EQ(r.domains[0].domain, "nyc.acme.test");
  EXPECT_EQ(r.domains[0].mode, RoutingMode::B2bua);
  ASSERT_EQ(c->partners.size(), 1u);
  EXPECT_TRUE(c->partners[0].policy.register_allowed);
  EXPECT_EQ(c->partners[0].policy.mode, RoutingMode::Redirect);
}

TEST(RegistrarSections, DirectoryCredentials) {
  auto c = parsed(R"(
[registrar.auth]
realm = "acme.test"

[[directory.static.users]]
external = "alice@acme.test"
internal = "alice@nyc.acme.test"
ha1 = ["0123456789ABCDEF0123456789ABCDEF"]

[directory.ldap]
uri = "ldap://127.0.0.1:3890"
base = "dc=acme,dc=test"
ha1_attribute = "sipHA1"
)");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_TRUE(c->registrar.auth.enabled);
  EXPECT_TRUE(c->registrar.auth.ha1_file.empty());  // the directory's credentials
  EXPECT_EQ(c->directory.static_map.users[0].ha1,
            std::vector<std::string>{"0123456789abcdef0123456789abcdef"});
  EXPECT_EQ(c->directory.ldap.ha1_attribute, "sipHA1");
}

TEST(RegistrarSections, AuthDefaults) {
  auto c = parsed("[registrar.auth]\nha1_file = \"/x/ha1\"\n");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_TRUE(c->registrar.auth.enabled);
  EXPECT_EQ(c->registrar.auth.realm, "acme.test");  // the first served domain
  EXPECT_EQ(c->registrar.auth.algorithms, (std::vector<std::string>{"SHA-256", "MD5"}));
  auto p = parsed("[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\n");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->partners[0].policy.register_allowed);
  EXPECT_FALSE(p->partners[0].policy.mode.has_value());
}

TEST(RegistrarSections, Errors) {
  struct Case {
    const char* toml;
    const char* error;
  } cases[] = {
      {"[registrar]\nmin_expires = 0\n",
       "t.toml:8:15: registrar.min_expires: expected an integer from 1 to 31536000, got 0"},
      {"[registrar]\nmin_expires = 600\nmax_expires = 300\n",
       "t.toml:9:15: registrar.max_expires: expected max_expires (300) to be at least "
       "min_expires (600)"},
      {"[registrar]\ndefault_expires = 10\n",
       "t.toml:8:19: registrar.default_expires: expected default_expires from min_expires (60) "
       "to max_expires (86400), got 10"},
      {"[registrar]\nmax_contact = 3\n",
       "t.toml:8:1: registrar.max_contact: unknown key (did you mean \"max_contacts\"?)"},
      {"[registrar]\nthird_party = [{ registrant = \"admin@other.test\", aors = [\"*@acme.test\"] "
       "}]\n",
       "t.toml:8:31: registrar.third_party[0].registrant: \"other.test\" is not a served domain "
       "(server.domains): \"admin@other.test\" could never match"},
      {"[registrar]\nthird_party = [{ registrant = \"admin@acme.test\" }]\n",
       "t.toml:8:16: registrar.third_party[0].aors: missing: expected the addresses it may "
       "register, like [\"*@example.com\"]"},
      {"[registrar]\nthird_party = [{ registrant = \"admin@acme.test\", aors = [] }]\n",
       "t.toml:8:57: registrar.third_party[0].aors: expected at least one address like "
       "\"jerry@example.com\" or \"*@example.com\" (leave aors out to allow any)"},
      {"[[directory.static.users]]\nexternal = \"a@acme.test\"\ninternal = \"a@acme.test\"\n"
       "ha1 = [\"abc\"]\n",
       "t.toml:10:8: directory.static.users[0].ha1[0]: expected an HA1 value of 32 (MD5) or 64 "
       "(SHA-256) hex digits, got 3 characters"},
      {"[[directory.static.users]]\nexternal = \"a@acme.test\"\ninternal = \"a@acme.test\"\n"
       "ha1 = [\"0123456789abcdef0123456789abcdef\", \"0123456789ABCDEF0123456789abcdef\"]\n",
       "t.toml:10:44: directory.static.users[0].ha1[1]: a second HA1 of 32 digits: at most one per "
       "algorithm"},
      {"[registrar.auth]\nha1_file = \"h\"\nalgorithms = [\"SHA-512\"]\n",
       "t.toml:9:15: registrar.auth.algorithms[0]: expected \"SHA-256\" or \"MD5\", got "
       "\"SHA-512\""},
      {"[registrar.auth]\nha1_file = \"h\"\nrealm = \"a\\\"b\"\n",
       "t.toml:9:9: registrar.auth.realm: expected a realm like \"example.com\" (no quotes or "
       "line breaks), got \"a\"b\""},
      {"[routing]\nmode = \"proxy\"\n",
       "t.toml:8:8: routing.mode: expected \"b2bua\" or \"redirect\", got \"proxy\""},
      {"[routing]\nredirect_status = 303\n",
       "t.toml:8:19: routing.redirect_status: expected 301, 302 or 380, got 303"},
      {"[routing]\nfork = \"random\"\n",
       "t.toml:8:8: routing.fork: expected \"parallel\" or \"sequential\", got \"random\""},
      {"[routing]\nredirect_location = false\nredirect_directory = false\n",
       "t.toml:8:21: routing.redirect_location: a redirect needs targets: set redirect_location "
       "or redirect_directory to true"},
      {"[routing]\ndomains = [{ domain = \"other.test\", mode = \"redirect\" }]\n",
       "t.toml:8:23: routing.domains[0].domain: \"other.test\" is not a served domain "
       "(server.domains)"},
      {"[routing]\ndomains = [{ domain = \"acme.test\", mode = \"redirect\" }, { domain = "
       "\"acme.test\", mode = \"b2bua\" }]\n",
       "t.toml:8:68: routing.domains[1].domain: duplicate domain \"acme.test\""},
      {"[[partners]]\nname = \"p\"\ndomains = [\"p.test\"]\nregister = \"yes\"\n",
       "t.toml:10:12: partners[0].register: expected a boolean (true or false), got a string"},
  };
  for (const Case& c : cases) {
    std::string got = errorOf(c.toml);
    const std::string prefix = "/etc/sipedge/";
    if (got.starts_with(prefix)) {
      got = got.substr(prefix.size());
    }
    EXPECT_EQ(got, c.error) << c.toml;
  }
}

}  // namespace
}  // namespace sipedge::config
