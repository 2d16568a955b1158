#include "sipedge/config/values.h"

#include <gtest/gtest.h>

namespace sipedge::config {
namespace {

using std::chrono::milliseconds;

TEST(Duration, Units) {
  EXPECT_EQ(parseDuration("500ms").value(), milliseconds(500));
  EXPECT_EQ(parseDuration("30s").value(), milliseconds(30000));
  EXPECT_EQ(parseDuration("10m").value(), milliseconds(600000));
  EXPECT_EQ(parseDuration("1h").value(), milliseconds(3600000));
  EXPECT_EQ(parseDuration("0s").value(), milliseconds(0));
}

TEST(Duration, Rejects) {
  for (const char* bad : {"", "ten", "30", "s", "1.5s", " 30s", "30s ", "-1s", "30sec", "30S", "1d",
                          "9999999999999h"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
  }
  EXPECT_EQ(parseDuration("ten").error().message,
            R"(expected a duration like "30s", "500ms" or "10m", got "ten")");
}

TEST(Size, Units) {
  EXPECT_EQ(parseSize("512").value(), 512u);
  EXPECT_EQ(parseSize("512B").value(), 512u);
  EXPECT_EQ(parseSize("64KiB").value(), 65536u);
  EXPECT_EQ(parseSize("1MiB").value(), 1048576u);
  EXPECT_EQ(parseSize("2GiB").value(), 2147483648u);
}

TEST(Size, Rejects) {
  for (const char* bad :
       {"", "KiB", "64KB", "64kib", "1.5MiB", "-1", "1 MiB", "999999999999999GiB"}) {
    EXPECT_FALSE(parseSize(bad).has_value()) << bad;
  }
  EXPECT_EQ(parseSize("64KB").error().message,
            R"(expected a size like "512", "64KiB" or "1MiB", got "64KB")");
}

TEST(SocketAddress, V4AndV6) {
  EXPECT_EQ(parseSocketAddress("192.0.2.1:5060").value(),
            (SocketAddress{"192.0.2.1", 5060, false}));
  EXPECT_EQ(parseSocketAddress("[2001:DB8::1]:5061").value(),
            (SocketAddress{"2001:db8::1", 5061, true}));
  EXPECT_EQ(parseSocketAddress("0.0.0.0:0").value().port, 0);
  EXPECT_EQ(toString(SocketAddress{"2001:db8::1", 5061, true}), "[2001:db8::1]:5061");
  EXPECT_EQ(toString(SocketAddress{"192.0.2.1", 5060, false}), "192.0.2.1:5060");
}

TEST(SocketAddress, Rejects) {
  for (const char* bad : {"", "192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.256:5060",
                          "example.com:5060", "2001:db8::1:5060", "[2001:db8::1]", "[192.0.2.1]:5",
                          "[2001:db8::1]5060", "192.0.2.1:50a", ":5060"}) {
    EXPECT_FALSE(parseSocketAddress(bad).has_value()) << bad;
  }
  EXPECT_EQ(parseSocketAddress("192.0.2.1:70000").error().message,
            R"(expected a port from 0 to 65535 in "192.0.2.1:70000")");
  EXPECT_EQ(
      parseSocketAddress("2001:db8::1:5060").error().message,
      R"(expected an address like "192.0.2.1:5060" or "[2001:db8::1]:5061" (IPv6 addresses in brackets), got "2001:db8::1:5060")");
}

TEST(ServerAddress, OptionalPort) {
  EXPECT_EQ(parseServerAddress("192.0.2.53", 53).value(), (SocketAddress{"192.0.2.53", 53, false}));
  EXPECT_EQ(parseServerAddress("192.0.2.53:5353", 53).value().port, 5353);
  EXPECT_EQ(parseServerAddress("2001:db8::53", 53).value(),
            (SocketAddress{"2001:db8::53", 53, true}));
  EXPECT_EQ(parseServerAddress("[2001:db8::53]:5353", 53).value().port, 5353);
  EXPECT_FALSE(parseServerAddress("ns.example.com", 53).has_value());
  EXPECT_FALSE(parseServerAddress("[2001:db8::53]", 53).has_value());
}

TEST(Cidr, Parses) {
  auto v4 = parseCidr("192.0.2.0/24").value();
  EXPECT_FALSE(v4.ipv6);
  EXPECT_EQ(v4.prefix, 24u);
  EXPECT_EQ(v4.address[0], 192);
  EXPECT_EQ(parseCidr("2001:db8::/32").value().prefix, 32u);
  EXPECT_EQ(parseCidr("192.0.2.7").value().prefix, 32u);
  EXPECT_EQ(parseCidr("::1").value().prefix, 128u);
  EXPECT_EQ(parseCidr("0.0.0.0/0").value().prefix, 0u);
}

TEST(Cidr, Rejects) {
  for (const char* bad : {"", "/24", "192.0.2.0/33", "192.0.2.0/", "192.0.2.0/-1", "2001:db8::/129",
                          "example.com/24", "192.0.2.0/24/1"}) {
    EXPECT_FALSE(parseCidr(bad).has_value()) << bad;
  }
  EXPECT_EQ(parseCidr("10.0.0.1/8").error().message,
            R"("10.0.0.1/8" has bits set past the prefix; did you mean "10.0.0.0/8"?)");
  EXPECT_EQ(parseCidr("192.0.2.0/33").error().message,
            R"(expected a prefix length from 0 to 32 in "192.0.2.0/33")");
}

TEST(CountryCode, Shape) {
  EXPECT_EQ(parseCountryCode("DE").value(), "DE");
  EXPECT_EQ(parseCountryCode("us").value(), "US");
  for (const char* bad : {"", "D", "DEU", "D1", "1D", "D-"}) {
    EXPECT_FALSE(parseCountryCode(bad).has_value()) << bad;
  }
  EXPECT_EQ(parseCountryCode("DEU").error().message,
            R"(expected an ISO 3166 alpha-2 country code like "DE" or "US", got "DEU")");
}

TEST(DomainName, Parses) {
  EXPECT_EQ(parseDomainName("Example.COM").value(), "example.com");
  EXPECT_EQ(parseDomainName("example.com.").value(), "example.com");
  EXPECT_EQ(parseDomainName("localhost").value(), "localhost");
  EXPECT_EQ(parseDomainName("a-b.c1.example").value(), "a-b.c1.example");
  for (const char* bad : {"", ".", "a..b", "-a.com", "a-.com", "a_b.com", "192.0.2.1", "a b.com",
                          "*.example.com", "example.com..", "\"x\""}) {
    EXPECT_FALSE(parseDomainName(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parseDomainName(std::string(64, 'a') + ".com").has_value());
  EXPECT_TRUE(parseDomainName(std::string(63, 'a') + ".com").has_value());
  EXPECT_EQ(parseDomainName("a_b.com").error().message,
            R"(expected a domain name like "example.com", got "a_b.com")");
  EXPECT_EQ(parseDomainName(std::string("a\nb")).error().message,
            R"(expected a domain name like "example.com", got "a\x0ab")");
}

}  // namespace
}  // namespace sipedge::config
