#include "sipedge/identity/static_directory.h"

#include <gtest/gtest.h>

namespace sipedge::identity {
namespace {

config::StaticDirectoryConfig sample() {
  config::StaticDirectoryConfig c;
  c.users.push_back({"jerry@acme.test", "js@nyc.acme.test", {}, {std::string(32, 'a')}});
  c.users.push_back({"kim@acme.test",
                     "kl@nyc.acme.test",
                     {{"sip:kl-mobile@nyc.acme.test", 0.5}, {"sip:kl-desk@nyc.acme.test", 0.9}},
                     {}});
  c.rules.push_back({"{user}@acme.test", "{user}@nyc.acme.test"});
  c.rules.push_back({"{user}@sub.acme.test", "{user}@lab.acme.test"});
  return c;
}

TEST(StaticDirectory, ExactUserFirst) {
  StaticDirectory d(sample());
  auto a = d.lookup(Direction::ToInternal, {"jerry", "acme.test"}, nullptr);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, Status::Found);
  EXPECT_EQ(a->identity, (Aor{"js", "nyc.acme.test"}));
  EXPECT_EQ(a->targets, (std::vector<Target>{{"sip:js@nyc.acme.test", 1.0}}));
  EXPECT_EQ(d.stats().lookups, 1u);
}

TEST(StaticDirectory, CredentialsOnlyInward) {
  StaticDirectory d(sample());
  EXPECT_EQ(d.map(Direction::ToInternal, {"jerry", "acme.test"}).credentials,
            std::vector<std::string>{std::string(32, 'a')});
  EXPECT_TRUE(d.map(Direction::ToExternal, {"js", "nyc.acme.test"}).credentials.empty());
  EXPECT_TRUE(d.map(Direction::ToInternal, {"bob", "acme.test"}).credentials.empty());  // a rule
}

TEST(StaticDirectory, TargetsByQ) {
  StaticDirectory d(sample());
  Answer a = d.map(Direction::ToInternal, {"kim", "acme.test"});
  EXPECT_EQ(a.identity, (Aor{"kl", "nyc.acme.test"}));
  EXPECT_EQ(a.targets, (std::vector<Target>{{"sip:kl-desk@nyc.acme.test", 0.9},
                                            {"sip:kl-mobile@nyc.acme.test", 0.5}}));
}

TEST(StaticDirectory, RulesMapTheDomain) {
  StaticDirectory d(sample());
  Answer a = d.map(Direction::ToInternal, {"bob", "acme.test"});
  EXPECT_EQ(a.status, Status::Found);
  EXPECT_EQ(a.identity, (Aor{"bob", "nyc.acme.test"}));
  EXPECT_EQ(a.targets, (std::vector<Target>{{"sip:bob@nyc.acme.test", 1.0}}));
  EXPECT_EQ(d.map(Direction::ToInternal, {"bob", "sub.acme.test"}).identity,
            (Aor{"bob", "lab.acme.test"}));
}

TEST(StaticDirectory, Reverse) {
  StaticDirectory d(sample());
  Answer a = d.map(Direction::ToExternal, {"js", "nyc.acme.test"});
  EXPECT_EQ(a.status, Status::Found);
  EXPECT_EQ(a.identity, (Aor{"jerry", "acme.test"}));
  EXPECT_TRUE(a.targets.empty());
  EXPECT_EQ(d.map(Direction::ToExternal, {"bob", "nyc.acme.test"}).identity,
            (Aor{"bob", "acme.test"}));
  // An external address is not an internal one.
  EXPECT_EQ(d.map(Direction::ToExternal, {"jerry", "acme.test"}).status, Status::NotFound);
}

TEST(StaticDirectory, UnknownIsNotFound) {
  StaticDirectory d(sample());
  EXPECT_EQ(d.map(Direction::ToInternal, {"eve", "evil.test"}).status, Status::NotFound);
  // Users compare exactly (RFC 3261 19.1.4); only the host is case-insensitive.
  EXPECT_EQ(d.map(Direction::ToInternal, {"Jerry", "acme.test"}).identity,
            (Aor{"Jerry", "nyc.acme.test"}));
  EXPECT_EQ(d.map(Direction::ToInternal, {"x", "nyc.acme.test"}).status, Status::NotFound);
}

}  // namespace
}  // namespace sipedge::identity
