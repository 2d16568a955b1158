#include "sipedge/base/strings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace sipedge {
namespace {

TEST(AppendNumberTest, Decimal) {
  std::string out = "CSeq: ";
  appendDecimal(out, 0);
  out += ' ';
  appendDecimal(out, 4294967295u);
  out += ' ';
  appendDecimal(out, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(out, "CSeq: 0 4294967295 18446744073709551615");
}

TEST(AppendNumberTest, HexPadsToTheMinimumAndNeverTruncates) {
  std::string out;
  appendHex(out, 0);
  out += '-';
  appendHex(out, 0xab, 8);
  out += '-';
  appendHex(out, 0xdeadbeef, 4);
  out += '-';
  appendHex(out, std::numeric_limits<std::uint64_t>::max(), 20);  // 16 digits at most
  EXPECT_EQ(out, "0-000000ab-deadbeef-ffffffffffffffff");
}

}  // namespace
}  // namespace sipedge
