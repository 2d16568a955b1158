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
  // Bytes that could end a header or a name-addr in what sipedge writes.
  EXPECT_EQ(parseAor("js@nyc.acme.test\r\nX-Evil: 1"), std::nullopt);
  EXPECT_EQ(parseAor("js @nyc.acme.test"), std::nullopt);
  EXPECT_EQ(parseAor("js>@nyc.acme.test"), std::nullopt);
  EXPECT_EQ(parseAor("\"js\"@nyc.acme.test"), std::nullopt);
  EXPECT_EQ((Aor{"js", "nyc.acme.test"}).str(), "js@nyc.acme.test");
}

TEST(HeaderSafe, RefusesWhatCouldEndAHeaderOrANameAddr) {
  EXPECT_TRUE(headerSafe("sip:js@nyc.acme.test;transport=tcp"));
  for (std::string_view bad : {"a b", "a\tb", "a\r\nb", "a<b", "a>b", "a\"b", "a\x7f", "a\x01"}) {
    EXPECT_FALSE(headerSafe(bad)) << bad;
  }
}

}  // namespace
}  // namespace sipedge::identity
