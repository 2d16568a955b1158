// (being written)

// Found by the fuzz target fuzz/transport_received_fuzz.cc: each test names its input in
// fuzz/corpus/transport_received/.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "sipedge/sip/message.h"
#include "sipedge/transport/endpoint.h"
#include "sipedge/transport/received.h"

namespace sipedge::transport {
namespace {

TEST(AddressRegressionTest, TextWithANulIsNotAnAddress) {
  // regress-nul-in-via-host: inet_pton reads up to the NUL, so a Via sent-by "[::\0...]" once
  // parsed as "::" (and matched a source of ::, leaving the Via unstamped).
  EXPECT_FALSE(Address::parseIp(std::string_view("192.0.2.1\0junk", 14), 5060).has_value());
  EXPECT_FALSE(Address::parseIp(std::string_view("[::\0]", 5), 5060).has_value());
  EXPECT_FALSE(Address::parseHostPort(std::string_view("[::1\0x]:5060", 12)).has_value());
  EXPECT_TRUE(Address::parseIp("192.0.2.1", 5060).has_value());
  EXPECT_TRUE(Address::parseIp("[::1]", 5060).has_value());
}

TEST(StampReceivedRegressionTest, AMalformedFirstViaHeaderIsLeftAlone) {
  // regress-tolerant-bad-first-via: in a tolerant parse (the one a 400 is built from) the top Via
  // comes from the second Via header. Its stamped copy once replaced the malformed first header,
  // so the 400 carried the client's Via twice.
  const std::string text =
      "INVITE sip:bob@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP host.example.org;branch=\r\n"
      "Via: SIP/2.0/UDP h2.example.org;branch=z9hG4bK10;rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:alice@example.org>;tag=a1\r\n"
      "To: <sip:bob@example.com>\r\n"
      "Call-ID: c1@example.org\r\n"
      "CSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  sip::ParseOptions options;
  options.tolerant = true;
  auto m = sip::parseMessage(text, options);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->vias().size(), 1u);
  auto stamped = stampReceived(*m, *Address::parseIp("192.0.2.9", 5062));
  ASSERT_TRUE(stamped.has_value()) << stamped.error().describe();
  EXPECT_TRUE(*stamped);
  const std::string out = m->serialize();
  EXPECT_NE(out.find("Via: SIP/2.0/UDP host.example.org;branch=\r\n"
                     "Via: SIP/2.0/UDP h2.example.org;branch=z9hG4bK10;rport=5062;"
                     "received=192.0.2.9\r\n"
                     "Max-Forwards: 70\r\n"),
            std::string::npos)
      << out;
}

TEST(AddressTest, FormatsTheIpAsInetNtopDoes) {
  for (const char* ip :
       {"0.0.0.0", "255.255.255.255", "10.0.0.1", "127.0.0.10", "192.168.100.20", "1.22.133.4"}) {
    auto a = Address::parseIp(ip, 5060);
    ASSERT_TRUE(a.has_value()) << ip;
    EXPECT_EQ(a->ip(), ip);
    EXPECT_EQ(a->ipForUri(), ip);
    EXPECT_EQ(a->toString(), std::string(ip) + ":5060");
  }
  auto v6 = Address::parseIp("[2001:db8::1]", 5061);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->ip(), "2001:db8::1");
  EXPECT_EQ(v6->ipForUri(), "[2001:db8::1]");
}

}  // namespace
}  // namespace sipedge::transport
