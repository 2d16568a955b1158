#include "sipedge/auth/ha1_table.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace sipedge::auth {
namespace {

const std::string kMd5(32, 'a');
const std::string kSha(64, 'b');

Ha1Error parseError(const std::string& text) {
  auto t = Ha1Table::parse(text);
  EXPECT_FALSE(t.has_value()) << text;
  return t ? Ha1Error{} : t.error();
}

TEST(Ha1TableTest, ParsesLinesCommentsAndBothAlgorithms) {
  const std::string text = "# users\n\nalice:acme.test:" + kMd5 + "\n  alice:acme.test:" + kSha +
                           "  \r\nbob:other realm:0123456789ABCDEF0123456789abcdef\n   # x\n";
  auto t = Ha1Table::parse(text);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->size(), 3u);
  EXPECT_EQ(t->find("alice", "acme.test", Algorithm::Md5), kMd5);
  EXPECT_EQ(t->find("alice", "acme.test", Algorithm::Sha256), kSha);
  EXPECT_EQ(t->find("bob", "other realm", Algorithm::Md5), "0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(t->find("bob", "other realm", Algorithm::Sha256));
  EXPECT_FALSE(t->find("Alice", "acme.test", Algorithm::Md5));  // users compare exactly
  EXPECT_FALSE(t->find("alice", "ACME.test", Algorithm::Md5));  // realms too
  EXPECT_FALSE(t->find("alice", "acme.tes", Algorithm::Md5));
  EXPECT_FALSE(t->find("alic", "eacme.test", Algorithm::Md5));
}

TEST(Ha1TableTest, EmptyFile) {
  auto t = Ha1Table::parse("");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(Ha1Table::parse("\n# only a comment\n")->size(), 0u);
}

TEST(Ha1TableTest, ErrorsHaveLineAndColumn) {
  EXPECT_EQ(parseError("alice"),
            (Ha1Error{1, 6, "expected ':' after the user name (user:realm:HA1)"}));
  EXPECT_EQ(parseError("# c\nalice:acme"),
            (Ha1Error{2, 11, "expected ':' after the realm (user:realm:HA1)"}));
  EXPECT_EQ(parseError(":acme:" + kMd5), (Ha1Error{1, 1, "expected a user name before ':'"}));
  EXPECT_EQ(parseError("  alice::" + kMd5),
            (Ha1Error{1, 9, "expected a realm between the two ':'"}));
  EXPECT_EQ(parseError("alice:acme:"),
            (Ha1Error{1, 12, "expected the HA1 after ':': 32 hex digits (MD5) or 64 (SHA-256)"}));
  EXPECT_EQ(parseError("alice:acme:0123456789abcdefg123456789abcdef"),
            (Ha1Error{1, 28, "expected a hex digit (HA1: 32 hex digits for MD5, 64 for SHA-256)"}));
  EXPECT_EQ(parseError("alice:acme:" + kMd5 + ":extra"),
            (Ha1Error{1, 44, "expected a hex digit (HA1: 32 hex digits for MD5, 64 for SHA-256)"}));
  EXPECT_EQ(parseError("alice:acme:abc"),
            (Ha1Error{1, 12, "expected 32 hex digits (MD5) or 64 (SHA-256), got 3"}));
  EXPECT_EQ(parseError("al\x01ice:acme:" + kMd5),
            (Ha1Error{1, 3, "unexpected control character in the user name"}));
  EXPECT_EQ(parseError("alice:ac\x7Fme:" + kMd5),
            (Ha1Error{1, 9, "unexpected control character in the realm"}));
}

TEST(Ha1TableTest, DuplicateIsAnErrorAtItsLine) {
  const std::string text = "alice:acme:" + kMd5 + "\nalice:acme:" + kSha +
                           "\n\n alice:acme:" + std::string(32, 'C') + "\n";
  EXPECT_EQ(
      parseError(text),
      (Ha1Error{4, 2, "duplicate MD5 entry for user 'alice' in realm 'acme' (first on line 1)"}));
}

TEST(Ha1TableTest, LoadPrefixesThePath) {
  const std::string path = ::testing::TempDir() + "/ha1_table_test.txt";
  {
    std::ofstream out(path);
    out << "alice:acme:" << kMd5 << "\nbob:acme:xyz\n";
  }
  auto t = Ha1Table::load(path);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), path +
                           ":2:10: expected a hex digit (HA1: 32 hex digits for MD5, 64 for "
                           "SHA-256)");
  {
    std::ofstream out(path);
    out << "alice:acme:" << kSha << "\n";
  }
  t = Ha1Table::load(path);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->find("alice", "acme", Algorithm::Sha256), kSha);
  std::remove(path.c_str());
  t = Ha1Table::load(path);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), path + ": cannot open: No such file or directory");
  EXPECT_EQ(toString(Ha1Error{3, 4, "x"}, "f.txt"), "f.txt:3:4: x");
}

}  // namespace
}  // namespace sipedge::auth
