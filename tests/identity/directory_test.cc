#include "sipedge/identity/directory.h"

#include <gtest/gtest.h>

namespace sipedge::identity {
namespace {

TEST(ParseAor, SplitsAtTheLastAtAndLowersTheHost) {
  EXPECT_EQ(parseAor("Jerry@ACME.test"), (Aor{"Jerry", "acme.test"}));
  EXPECT_EQ(parseAor("a@b@c.test"), (Aor{"a@b", "c.test"}));
  EXPECT_EQ(parseAor("jerry"), std::nullopt);
  EXPECT_EQ(parseAor("@acme.test"), std::nullopt);
  EXPECT_EQ(parseAor("jerry@"), std::nullopt);
  EXPECT_EQ((Aor{"js", "nyc.acme.test"}).str(), "js@nyc.acme.test");
}

}  // namespace
}  // namespace sipedge::identity
