// --listen TRANSPORT:ADDRESS:PORT[/SIDE]: accepted forms and the errors for bad ones.

#include "../../src/app/listen_spec.h"

#include <gtest/gtest.h>

namespace sipedge::app {
namespace {

TEST(ListenSpecTest, AcceptsEachTransportFamilySideAndPortZero) {
  auto udp = parseListenSpec("udp:127.0.0.1:5060");
  ASSERT_TRUE(udp.has_value()) << udp.error();
  EXPECT_EQ(udp->endpoint.toString(), "UDP 127.0.0.1:5060");
  EXPECT_EQ(udp->side, transport::Side::External);

  auto tls = parseListenSpec("TLS:[::1]:0/internal");
  ASSERT_TRUE(tls.has_value()) << tls.error();
  EXPECT_EQ(tls->endpoint.toString(), "TLS [::1]:0");
  EXPECT_EQ(tls->side, transport::Side::Internal);

  auto any = parseListenSpec("tcp:0.0.0.0:0/external");
  ASSERT_TRUE(any.has_value()) << any.error();
  EXPECT_TRUE(any->endpoint.address.isUnspecified());
}

TEST(ListenSpecTest, BadSpecsSayWhatIsWrongAndWhatIsExpected) {
  struct Case {
    const char* spec;
    const char* says;
  };
  for (const Case& c :
       {Case{"127.0.0.1:5060", "unknown transport '127.0.0.1'"}, Case{"udp", "missing transport"},
        Case{"sctp:127.0.0.1:5060", "unknown transport 'sctp'"},
        Case{"udp:127.0.0.1:5060/dmz", "unknown side 'dmz'"},
        Case{"udp:127.0.0.1", "udp:127.0.0.1"}, Case{"udp:localhost:5060", "localhost"},
        Case{"udp:::1:5060", "::1:5060"}, Case{"udp:127.0.0.1:65536", "65536"},
        Case{"udp:127.0.0.1:x", "127.0.0.1:x"}}) {
    auto r = parseListenSpec(c.spec);
    ASSERT_FALSE(r.has_value()) << c.spec;
    EXPECT_NE(r.error().find(std::string("--listen '") + c.spec + "': "), std::string::npos)
        << r.error();
    EXPECT_NE(r.error().find(c.says), std::string::npos) << c.spec << ": " << r.error();
    EXPECT_NE(r.error().find("expected TRANSPORT:ADDRESS:PORT"), std::string::npos) << r.error();
  }
}

}  // namespace
}  // namespace sipedge::app
