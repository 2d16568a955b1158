// CaresResolver on a real loop::Worker against a real dnsmasq on 127.0.0.1 (and, for answers
// dnsmasq cannot be made to give, a scripted UDP server on 127.0.0.1). Query counts come from
// dnsmasq's own log. Cache expiry runs on a manual clock; the only real-time bounds are the
// guards that stop a test which would otherwise hang, and the timeout test's upper bound.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "../support/dnsmasq.h"
#include "../support/fake_random.h"
#include "sipedge/dns/cares_resolver.h"
#include "sipedge/loop/worker.h"

namespace sipedge::dns {
namespace {

using sipedge::testing::Dnsmasq;
using sipedge::testing::DnsmasqConfig;
using sipedge::testing::FakeRandom;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ManualClock final : public Clock {
 public:
  MonoTime now() const override { return now_; }
  void advance(std::chrono::seconds d) { now_ += d; }

 private:
  MonoTime now_ = MonoTime() + std::chrono::hours(1);
};

Query sip(std::string host) {
  Query q;
  q.host = std::move(host);
  return q;
}

Query sips(std::string host) {
  Query q = sip(std::move(host));
  q.sips = true;
  return q;
}

Target target(std::string ip, std::uint16_t port, Transport t, std::string srv, std::string host) {
  return Target{std::move(ip), port, t, std::move(srv), std::move(host)};
}

bool hasLine(const std::vector<std::string>& trace, const std::string& line) {
  return std::find(trace.begin(), trace.end(), line) != trace.end();
}

std::string joined(const std::vector<std::string>& trace) {
  std::string out;
  for (const std::string& l : trace) {
    out += "  " + l + "\n";
  }
  return out;
}

// A UDP socket on 127.0.0.1 that never answers: a dead DNS server.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd_); }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A UDP DNS server on 127.0.0.1 that answers each query with what `respond` builds from it, on a
// thread of its own. For answers dnsmasq will not give: SOA-carrying negatives, malformed data.
class ScriptedServer {
 public:
  using Responder = std::function<std::vector<std::uint8_t>(const std::vector<std::uint8_t>&)>;

  explicit ScriptedServer(Responder respond) : respond_(std::move(respond)) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) != 1) {
        continue;
      }
      std::uint8_t buf[1500];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) {
        continue;
      }
      ++queries_;
      const std::vector<std::uint8_t> reply = respond_(std::vector<std::uint8_t>(buf, buf + n));
      if (!reply.empty()) {
        sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }

  Responder respond_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

// DNS message building for the scripted server.
void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

void putName(std::vector<std::uint8_t>& out, std::string_view name) {
  while (!name.empty()) {
    const auto dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back(0);
}

// The reply header and question for `query` (one question assumed), with the given rcode and
// section counts; the caller appends the records.
std::vector<std::uint8_t> replyHead(const std::vector<std::uint8_t>& query, int rcode,
                                    std::uint16_t an, std::uint16_t ns) {
  std::vector<std::uint8_t> out(query.begin(), query.begin() + 2);  // the id
  put16(out, static_cast<std::uint16_t>(0x8180 | rcode));           // QR RD RA
  put16(out, 1);
  put16(out, an);
  put16(out, ns);
  put16(out, 0);
  std::size_t end = 12;
  while (end < query.size() && query[end] != 0) {
    end += 1u + query[end];
  }
  out.insert(out.end(), query.begin() + 12, query.begin() + static_cast<std::ptrdiff_t>(end + 5));
  return out;
}

std::uint16_t questionType(const std::vector<std::uint8_t>& query) {
  std::size_t end = 12;
  while (end < query.size() && query[end] != 0) {
    end += 1u + query[end];
  }
  return static_cast<std::uint16_t>((query[end + 1] << 8) | query[end + 2]);
}

// A record owned by the question name (a compression pointer to offset 12).
void putRecord(std::vector<std::uint8_t>& out, std::uint16_t type, std::uint32_t ttl,
               const std::vector<std::uint8_t>& rdata, std::optional<std::uint16_t> rdlength = {}) {
  put16(out, 0xC00C);
  put16(out, type);
  put16(out, 1);
  put32(out, ttl);
  put16(out, rdlength.value_or(static_cast<std::uint16_t>(rdata.size())));
  out.insert(out.end(), rdata.begin(), rdata.end());
}

std::vector<std::uint8_t> soaData(std::uint32_t minimum) {
  std::vector<std::uint8_t> d;
  putName(d, "ns.scripted.test");
  putName(d, "hostmaster.scripted.test");
  for (std::uint32_t v : {1u, 3600u, 600u, 86400u, minimum}) {
    put32(d, v);
  }
  return d;
}

class CaresResolverTest : public ::testing::Test {
 protected:
  ResolverSettings settingsFor(const std::string& server) {
    ResolverSettings s;
    s.servers = {server};
    s.timeout = milliseconds(1000);
    s.tries = 2;
    return s;
  }

  CaresResolverPtr make(ResolverSettings settings, Random& random) {
    Result<CaresResolverPtr> r =
        CaresResolver::create(worker_, std::move(settings), random, clock_);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? std::move(*r) : nullptr;
  }
  CaresResolverPtr make(ResolverSettings settings) { return make(std::move(settings), random_); }
  CaresResolverPtr make(const Dnsmasq& dns) { return make(settingsFor(dns.server())); }

  // Starts one resolution and runs the loop until its callback, at most `limit`.
  ResolveResult wait(const std::function<PendingQueryPtr(ResolveCallback)>& start,
                     milliseconds limit = milliseconds(10000)) {
    std::optional<ResolveResult> out;
    int calls = 0;
    PendingQueryPtr q = start([&](ResolveResult r) {
      ++calls;
      out = std::move(r);
      worker_.exit();
    });
    EXPECT_FALSE(out.has_value()) << "the callback fired inside resolve()";
    TimerPtr guard = worker_.createTimer([&] { worker_.exit(); });
    guard->enable(limit);
    worker_.run();
    EXPECT_EQ(calls, 1);
    if (!out) {
      ADD_FAILURE() << "no answer within " << limit.count() << " ms";
      return fail(DnsError{DnsErrorKind::Other, "", "test: no answer", {}});
    }
    return std::move(*out);
  }

  ResolveResult resolve(Resolver& r, const Query& q) {
    return wait([&](ResolveCallback cb) { return r.resolve(q, std::move(cb)); });
  }
  ResolveResult federation(Resolver& r, const std::string& domain) {
    return wait([&](ResolveCallback cb) { return r.resolveFederation(domain, std::move(cb)); });
  }

  // Runs the loop until everything posted so far (and whatever that posts first) has run.
  void runPosted() {
    worker_.post([this] { worker_.exit(); });
    worker_.run();
  }

  loop::Worker worker_{"dns-test"};
  FakeRandom random_;
  ManualClock clock_;
};

DnsmasqConfig partnerZone() {
  return DnsmasqConfig()
      .naptr("partner.test", 10, 50, "S", "SIPS+D2T", "_sips._tcp.partner.test")
      .srv("_sips._tcp.partner.test", "edge1.partner.test", 5061, 10, 60)
      .host("edge1.partner.test", {"127.0.0.1", "::1"});
}

TEST_F(CaresResolverTest, NaptrSrvAddressFullPath) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);
  ASSERT_TRUE(resolver);

  ResolveResult r = resolve(*resolver, sip("partner.test"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(
      r->targets,
      (std::vector<Target>{
          target("127.0.0.1", 5061, Transport::Tls, "_sips._tcp.partner.test",
                 "edge1.partner.test"),
          target("::1", 5061, Transport::Tls, "_sips._tcp.partner.test", "edge1.partner.test"),
      }));
  const std::vector<std::string> expected_trace = {
      "NAPTR partner.test: order 10 pref 50 S SIPS+D2T -> _sips._tcp.partner.test (ttl 300)",
      "SRV names to try: _sips._tcp.partner.test (TLS)",
      "SRV _sips._tcp.partner.test: 10 60 5061 edge1.partner.test (ttl 300)",
      "SRV _sips._tcp.partner.test: try edge1.partner.test:5061",
      "A edge1.partner.test: 127.0.0.1 (ttl 300)",
      "AAAA edge1.partner.test: ::1 (ttl 300)",
  };
  EXPECT_EQ(r->trace, expected_trace) << joined(r->trace);
  EXPECT_EQ(dns.queries("NAPTR", "partner.test"), 1);
  EXPECT_EQ(dns.queries("SRV", "_sips._tcp.partner.test"), 1);
  EXPECT_EQ(dns.queries("A", "edge1.partner.test"), 1);
  EXPECT_EQ(dns.queries("AAAA", "edge1.partner.test"), 1);
  EXPECT_EQ(dns.totalQueries(), 4) << dns.log();

  const ResolverStats stats = resolver->stats();
  EXPECT_EQ(stats.queries_sent, 4u);
  EXPECT_EQ(stats.cache_misses, 4u);
  EXPECT_EQ(stats.cache_hits, 0u);
  EXPECT_EQ(stats.cache_entries, 4u);
  EXPECT_EQ(stats.resolutions, 1u);
  EXPECT_EQ(stats.resolution_failures, 0u);
  EXPECT_EQ(stats.lookups_in_flight, 0u);
}

TEST_F(CaresResolverTest, NaptrOrderThenPreferenceChoosesTheTransport) {
  Dnsmasq dns(DnsmasqConfig()
                  // Same order: the lower preference (TLS) wins.
                  .naptr("pref.test", 10, 20, "S", "SIP+D2T", "_sip._tcp.pref.test")
                  .naptr("pref.test", 10, 10, "S", "SIPS+D2T", "_sips._tcp.pref.test")
                  .srv("_sip._tcp.pref.test", "tcp.pref.test", 5060, 10, 10)
                  .srv("_sips._tcp.pref.test", "tls.pref.test", 5061, 10, 10)
                  .host("tcp.pref.test", {"127.0.0.2"})
                  .host("tls.pref.test", {"127.0.0.3"})
                  // A lower order wins over any preference (TCP here).
                  .naptr("order.test", 5, 90, "S", "SIP+D2T", "_sip._tcp.order.test")
                  .naptr("order.test", 10, 10, "S", "SIPS+D2T", "_sips._tcp.order.test")
                  .srv("_sip._tcp.order.test", "tcp.order.test", 5070, 10, 10)
                  .srv("_sips._tcp.order.test", "tls.order.test", 5071, 10, 10)
                  .host("tcp.order.test", {"127.0.0.4"})
                  .host("tls.order.test", {"127.0.0.5"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  ResolveResult pref = resolve(*resolver, sip("pref.test"));
  ASSERT_TRUE(pref.has_value()) << pref.error().describe();
  EXPECT_EQ(pref->targets, (std::vector<Target>{target("127.0.0.3", 5061, Transport::Tls,
                                                       "_sips._tcp.pref.test", "tls.pref.test")}));
  EXPECT_TRUE(hasLine(pref->trace,
                      "SRV names to try: _sips._tcp.pref.test (TLS), "
                      "_sip._tcp.pref.test (TCP)"))
      << joined(pref->trace);
  EXPECT_EQ(dns.queries("SRV", "_sip._tcp.pref.test"), 0);  // the first usable SRV name won

  ResolveResult order = resolve(*resolver, sip("order.test"));
  ASSERT_TRUE(order.has_value()) << order.error().describe();
  EXPECT_EQ(order->targets,
            (std::vector<Target>{target("127.0.0.4", 5070, Transport::Tcp, "_sip._tcp.order.test",
                                        "tcp.order.test")}));
  EXPECT_EQ(dns.queries("SRV", "_sips._tcp.order.test"), 0);
}

TEST_F(CaresResolverTest, SipsWithOnlyUdpAndTcpNaptrFallsBackToTheSipsSrvName) {
  Dnsmasq dns(DnsmasqConfig()
                  .naptr("plainsip.test", 10, 10, "S", "SIP+D2U", "_sip._udp.plainsip.test")
                  .naptr("plainsip.test", 10, 20, "S", "SIP+D2T", "_sip._tcp.plainsip.test")
                  .srv("_sip._udp.plainsip.test", "udp.plainsip.test", 5060, 10, 10)
                  .srv("_sip._tcp.plainsip.test", "tcp.plainsip.test", 5060, 10, 10)
                  .srv("_sips._tcp.plainsip.test", "tls.plainsip.test", 5061, 10, 10)
                  .host("udp.plainsip.test", {"127.0.0.2"})
                  .host("tcp.plainsip.test", {"127.0.0.3"})
                  .host("tls.plainsip.test", {"127.0.0.4"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  ResolveResult r = resolve(*resolver, sips("plainsip.test"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.4", 5061, Transport::Tls,
                                        "_sips._tcp.plainsip.test", "tls.plainsip.test")}));
  EXPECT_TRUE(hasLine(r->trace, "SRV names to try: _sips._tcp.plainsip.test (TLS)"))
      << joined(r->trace);
  EXPECT_EQ(dns.queries("SRV", "_sip._udp.plainsip.test"), 0);
  EXPECT_EQ(dns.queries("SRV", "_sip._tcp.plainsip.test"), 0);
}

TEST_F(CaresResolverTest, WithoutNaptrTheSrvFallbacksAreTriedInOrder) {
  Dnsmasq dns(DnsmasqConfig()
                  .srv("_sip._tcp.nonaptr.test", "tcp.nonaptr.test", 5060, 10, 10)
                  .srv("_sip._udp.nonaptr.test", "udp.nonaptr.test", 5060, 10, 10)
                  .host("tcp.nonaptr.test", {"127.0.0.2"})
                  .host("udp.nonaptr.test", {"127.0.0.3"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  ResolveResult r = resolve(*resolver, sip("nonaptr.test"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.2", 5060, Transport::Tcp, "_sip._tcp.nonaptr.test",
                                        "tcp.nonaptr.test")}));
  EXPECT_TRUE(hasLine(r->trace, "NAPTR nonaptr.test: no records (ttl 30)")) << joined(r->trace);
  EXPECT_TRUE(hasLine(r->trace,
                      "SRV names to try: _sips._tcp.nonaptr.test (TLS), _sip._tcp.nonaptr.test "
                      "(TCP), _sip._udp.nonaptr.test (UDP)"))
      << joined(r->trace);
  EXPECT_EQ(dns.queries("SRV", "_sips._tcp.nonaptr.test"), 1);
  EXPECT_EQ(dns.queries("SRV", "_sip._tcp.nonaptr.test"), 1);
  EXPECT_EQ(dns.queries("SRV", "_sip._udp.nonaptr.test"), 0);
}

TEST_F(CaresResolverTest, WithoutSrvTheHostAddressesAtTheDefaultPort) {
  Dnsmasq dns(DnsmasqConfig().host("plain.test", {"127.0.0.5"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);

  ResolveResult r = resolve(*resolver, sip("plain.test"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.5", 5060, Transport::Udp, "", "plain.test")}));
  EXPECT_TRUE(hasLine(r->trace, "no SRV records: A/AAAA of plain.test, port 5060 (UDP)"))
      << joined(r->trace);
  EXPECT_TRUE(hasLine(r->trace, "AAAA plain.test: no records (ttl 30)")) << joined(r->trace);

  ResolveResult tls = resolve(*resolver, sips("plain.test"));
  ASSERT_TRUE(tls.has_value()) << tls.error().describe();
  EXPECT_EQ(tls->targets,
            (std::vector<Target>{target("127.0.0.5", 5061, Transport::Tls, "", "plain.test")}));
}

TEST_F(CaresResolverTest, ExplicitPortAsksOnlyForAddresses) {
  Dnsmasq dns(DnsmasqConfig()
                  .naptr("port.test", 10, 10, "S", "SIPS+D2T", "_sips._tcp.port.test")
                  .srv("_sips._tcp.port.test", "edge.port.test", 5061, 10, 10)
                  .host("edge.port.test", {"127.0.0.6"})
                  .host("port.test", {"127.0.0.7", "::1"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);

  Query q = sip("port.test");
  q.port = 5070;
  q.transport = Transport::Tcp;
  ResolveResult r = resolve(*resolver, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets, (std::vector<Target>{
                            target("127.0.0.7", 5070, Transport::Tcp, "", "port.test"),
                            target("::1", 5070, Transport::Tcp, "", "port.test"),
                        }));
  EXPECT_EQ(dns.queries("A", "port.test"), 1);
  EXPECT_EQ(dns.queries("AAAA", "port.test"), 1);
  EXPECT_EQ(dns.queries("NAPTR", "port.test"), 0);
  EXPECT_EQ(dns.totalQueries(), 2) << dns.log();
  EXPECT_TRUE(hasLine(r->trace, "port.test: explicit port 5070, A/AAAA only (TCP)"))
      << joined(r->trace);
}

TEST_F(CaresResolverTest, TransportParameterAsksItsSrvNameOnly) {
  Dnsmasq dns(DnsmasqConfig()
                  .naptr("param.test", 10, 10, "S", "SIPS+D2T", "_sips._tcp.param.test")
                  .srv("_sip._tcp.param.test", "tcp.param.test", 5080, 10, 10)
                  .host("tcp.param.test", {"127.0.0.8"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  Query q = sip("param.test");
  q.transport = Transport::Tcp;
  ResolveResult r = resolve(*resolver, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets, (std::vector<Target>{target("127.0.0.8", 5080, Transport::Tcp,
                                                    "_sip._tcp.param.test", "tcp.param.test")}));
  EXPECT_EQ(dns.queries("NAPTR", "param.test"), 0);
  EXPECT_EQ(dns.queries("SRV", "_sips._tcp.param.test"), 0);
}

TEST_F(CaresResolverTest, NumericHostNeedsNoQueryAndIsStillDeliveredLater) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);

  ResolveResult v4 = resolve(*resolver, sip("127.0.0.9"));
  ASSERT_TRUE(v4.has_value()) << v4.error().describe();
  EXPECT_EQ(v4->targets,
            (std::vector<Target>{target("127.0.0.9", 5060, Transport::Udp, "", "127.0.0.9")}));
  EXPECT_EQ(v4->trace, (std::vector<std::string>{"127.0.0.9: numeric host, no lookup"}));

  Query v6 = sips("[::1]");  // brackets tolerated
  v6.numeric_host = true;
  ResolveResult r6 = resolve(*resolver, v6);
  ASSERT_TRUE(r6.has_value()) << r6.error().describe();
  EXPECT_EQ(r6->targets, (std::vector<Target>{target("::1", 5061, Transport::Tls, "", "::1")}));

  // An address literal is never looked up, even if the caller did not say it was numeric.
  Query port = sip("127.0.0.10");
  port.port = 5099;
  ResolveResult r = resolve(*resolver, port);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.10", 5099, Transport::Udp, "", "127.0.0.10")}));

  EXPECT_EQ(resolver->stats().queries_sent, 0u);
  EXPECT_EQ(dns.totalQueries(), 0) << dns.log();
}

TEST_F(CaresResolverTest, LocalhostIsLoopbackWithoutAQuery) {
  // RFC 6761 6.3: localhost names never go to DNS (the system's server may not know them).
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);
  Query q = sips("LocalHost");
  q.port = 5099;
  ResolveResult r = resolve(*resolver, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.1", 5099, Transport::Tls, "", "127.0.0.1"),
                                 target("::1", 5099, Transport::Tls, "", "::1")}));
  EXPECT_EQ(r->trace, (std::vector<std::string>{"LocalHost: loopback name (RFC 6761), no lookup"}));
  ResolveResult sub = resolve(*resolver, sip("edge.localhost"));
  ASSERT_TRUE(sub.has_value()) << sub.error().describe();
  EXPECT_EQ(sub->targets.front(), target("127.0.0.1", 5060, Transport::Udp, "", "127.0.0.1"));
  // "notlocalhost" is an ordinary name.
  ResolveResult other = resolve(*resolver, sip("notlocalhost.test"));
  EXPECT_FALSE(other.has_value());
  EXPECT_GT(dns.queries("notlocalhost.test"), 0);
  for (const char* name : {"LocalHost", "localhost", "edge.localhost"}) {
    EXPECT_EQ(dns.queries(name), 0) << name << "\n" << dns.log();
  }
}

TEST_F(CaresResolverTest, SrvPriorityThenWeightGiveTheFailoverOrder) {
  Dnsmasq dns(DnsmasqConfig()
                  .srv("_sip._tcp.weighted.test", "a.weighted.test", 5060, 10, 60)
                  .srv("_sip._tcp.weighted.test", "b.weighted.test", 5061, 10, 40)
                  .srv("_sip._tcp.weighted.test", "c.weighted.test", 5062, 20, 0)
                  .srv("_sip._tcp.weighted.test", "d.weighted.test", 5063, 5, 0)
                  .host("a.weighted.test", {"127.0.0.11"})
                  .host("b.weighted.test", {"127.0.0.12"})
                  .host("c.weighted.test", {"127.0.0.13"})
                  .host("d.weighted.test", {"127.0.0.14"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  Query q = sip("weighted.test");
  q.transport = Transport::Tcp;
  const std::string srv = "_sip._tcp.weighted.test";

  // Priority 5 first, then 10 weighted: 70 of [0, 100] falls past a's 60, so b goes first.
  FakeRandom b_first({0, 70, 0, 0});
  CaresResolverPtr r1 = make(settings, b_first);
  ResolveResult first = resolve(*r1, q);
  ASSERT_TRUE(first.has_value()) << first.error().describe();
  EXPECT_EQ(first->targets, (std::vector<Target>{
                                target("127.0.0.14", 5063, Transport::Tcp, srv, "d.weighted.test"),
                                target("127.0.0.12", 5061, Transport::Tcp, srv, "b.weighted.test"),
                                target("127.0.0.11", 5060, Transport::Tcp, srv, "a.weighted.test"),
                                target("127.0.0.13", 5062, Transport::Tcp, srv, "c.weighted.test"),
                            }));
  EXPECT_EQ(b_first.bounds, (std::vector<std::uint32_t>{1, 101, 61, 1}));
  EXPECT_TRUE(hasLine(first->trace,
                      "SRV _sip._tcp.weighted.test: try d.weighted.test:5063, "
                      "b.weighted.test:5061, a.weighted.test:5060, "
                      "c.weighted.test:5062"))
      << joined(first->trace);
  r1.reset();

  // 30 falls within a's 60: a first.
  FakeRandom a_first({0, 30, 0, 0});
  CaresResolverPtr r2 = make(settings, a_first);
  ResolveResult second = resolve(*r2, q);
  ASSERT_TRUE(second.has_value()) << second.error().describe();
  std::vector<std::string> hosts;
  for (const Target& t : second->targets) {
    hosts.push_back(t.host);
  }
  EXPECT_EQ(hosts, (std::vector<std::string>{"d.weighted.test", "a.weighted.test",
                                             "b.weighted.test", "c.weighted.test"}));
  r2.reset();
}

TEST_F(CaresResolverTest, AaaaRecordsAndTheAddressOrder) {
  Dnsmasq dns(
      DnsmasqConfig().host("dual.test", {"127.0.0.21", "::1"}).line("cname=alias.test,dual.test"));
  ASSERT_TRUE(dns.ok()) << dns.error();
  Query q = sip("dual.test");
  q.port = 5060;

  CaresResolverPtr v4_first = make(dns);
  ResolveResult r = resolve(*v4_first, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets, (std::vector<Target>{
                            target("127.0.0.21", 5060, Transport::Udp, "", "dual.test"),
                            target("::1", 5060, Transport::Udp, "", "dual.test"),
                        }));
  // Through a CNAME: c-ares follows it, the target keeps the name asked for.
  Query alias = sip("alias.test");
  alias.port = 5060;
  ResolveResult a = resolve(*v4_first, alias);
  ASSERT_TRUE(a.has_value()) << a.error().describe();
  EXPECT_EQ(a->targets.size(), 2u);
  EXPECT_EQ(a->targets[0].host, "alias.test");
  v4_first.reset();

  ResolverSettings v6_settings = settingsFor(dns.server());
  v6_settings.prefer_ipv6 = true;
  CaresResolverPtr v6_first = make(v6_settings);
  r = resolve(*v6_first, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets, (std::vector<Target>{
                            target("::1", 5060, Transport::Udp, "", "dual.test"),
                            target("127.0.0.21", 5060, Transport::Udp, "", "dual.test"),
                        }));
  v6_first.reset();

  const int aaaa_before = dns.queries("AAAA", "dual.test");
  ResolverSettings v4_settings = settingsFor(dns.server());
  v4_settings.ipv6 = false;
  CaresResolverPtr v4_only = make(v4_settings);
  r = resolve(*v4_only, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets, (std::vector<Target>{
                            target("127.0.0.21", 5060, Transport::Udp, "", "dual.test"),
                        }));
  EXPECT_EQ(dns.queries("AAAA", "dual.test"), aaaa_before);
}

TEST_F(CaresResolverTest, NxdomainIsAnErrorNamingTheDomain) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);

  ResolveResult r = resolve(*resolver, sip("nowhere.test"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, DnsErrorKind::NotFound);
  EXPECT_EQ(r.error().name, "nowhere.test");
  EXPECT_EQ(r.error().describe(), "nowhere.test: no such domain (NXDOMAIN)");
  EXPECT_TRUE(hasLine(r.error().trace, "NAPTR nowhere.test: no such domain (NXDOMAIN) (ttl 30)"))
      << joined(r.error().trace);
  EXPECT_TRUE(hasLine(r.error().trace, "A nowhere.test: no such domain (NXDOMAIN) (ttl 30)"))
      << joined(r.error().trace);
  EXPECT_EQ(resolver->stats().resolution_failures, 1u);

  ResolveResult fed = federation(*resolver, "nowhere.test");
  ASSERT_FALSE(fed.has_value());
  EXPECT_EQ(fed.error().kind, DnsErrorKind::NotFound);
  EXPECT_EQ(fed.error().name, "nowhere.test");
}

TEST_F(CaresResolverTest, ADeadServerGivesATimeoutWithinTimeoutTimesTries) {
  SilentServer dead;
  ResolverSettings settings = settingsFor(dead.server());
  settings.timeout = milliseconds(100);
  settings.tries = 2;
  CaresResolverPtr resolver = make(settings);

  const auto started = std::chrono::steady_clock::now();
  ResolveResult r = resolve(*resolver, sip("partner.test"));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, DnsErrorKind::Timeout);
  EXPECT_EQ(r.error().describe(), "partner.test: timeout (NAPTR partner.test)");
  // 100 ms x 2 tries x 1 server; generous above for a loaded machine, never c-ares' 300 ms
  // doubling plus the fallback lookups (which a timeout stops).
  EXPECT_GE(elapsed, milliseconds(150));
  EXPECT_LT(elapsed, milliseconds(2000));
  EXPECT_EQ(resolver->stats().query_failures, 1u);
  EXPECT_EQ(resolver->stats().queries_sent, 1u);
  EXPECT_EQ(resolver->stats().cache_entries, 0u);  // failures are not cached
}

TEST_F(CaresResolverTest, ARefusingServerIsAServerFailure) {
  Dnsmasq dns(partnerZone());  // answers only for .test, refuses the rest
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);
  ResolveResult r = resolve(*resolver, sip("partner.example"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, DnsErrorKind::ServerFailure);
  EXPECT_EQ(r.error().name, "partner.example");
}

TEST_F(CaresResolverTest, PositiveAnswersAreCachedUntilTheirTtl) {
  Dnsmasq dns(partnerZone()
                  .naptr("short.test", 10, 10, "S", "SIPS+D2T", "_sips._tcp.short.test")
                  .srv("_sips._tcp.short.test", "edge.short.test", 5061, 10, 10)
                  .host("edge.short.test", {"127.0.0.31"}, 5));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  ResolveResult first = resolve(*resolver, sip("partner.test"));
  ASSERT_TRUE(first.has_value()) << first.error().describe();
  const int queries = dns.totalQueries();
  EXPECT_EQ(queries, 3);

  clock_.advance(seconds(100));
  ResolveResult second = resolve(*resolver, sip("partner.test"));
  ASSERT_TRUE(second.has_value()) << second.error().describe();
  EXPECT_EQ(second->targets, first->targets);
  EXPECT_EQ(dns.totalQueries(), queries) << "a cached answer was asked again";
  EXPECT_TRUE(hasLine(second->trace,
                      "NAPTR partner.test: order 10 pref 50 S SIPS+D2T -> "
                      "_sips._tcp.partner.test (ttl 200, cached)"))
      << joined(second->trace);
  EXPECT_TRUE(hasLine(second->trace, "A edge1.partner.test: 127.0.0.1 (ttl 200, cached)"))
      << joined(second->trace);
  EXPECT_EQ(resolver->stats().cache_hits, 3u);

  clock_.advance(seconds(201));  // past the 300 s TTL
  ResolveResult third = resolve(*resolver, sip("partner.test"));
  ASSERT_TRUE(third.has_value()) << third.error().describe();
  EXPECT_EQ(dns.queries("NAPTR", "partner.test"), 2);
  EXPECT_EQ(dns.queries("A", "edge1.partner.test"), 2);

  // Each (name, type) keeps its own TTL: the 5 s A record expires, the 300 s NAPTR and SRV not.
  ASSERT_TRUE(resolve(*resolver, sip("short.test")).has_value());
  clock_.advance(seconds(6));
  ResolveResult again = resolve(*resolver, sip("short.test"));
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  EXPECT_EQ(dns.queries("NAPTR", "short.test"), 1);
  EXPECT_EQ(dns.queries("SRV", "_sips._tcp.short.test"), 1);
  EXPECT_EQ(dns.queries("A", "edge.short.test"), 2);
  EXPECT_TRUE(hasLine(again->trace, "A edge.short.test: 127.0.0.31 (ttl 5)"))
      << joined(again->trace);
}

TEST_F(CaresResolverTest, TtlsAreCappedAtMaxTtl) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.max_ttl = seconds(60);
  CaresResolverPtr resolver = make(settings);
  ASSERT_TRUE(resolve(*resolver, sip("partner.test")).has_value());
  clock_.advance(seconds(61));
  ASSERT_TRUE(resolve(*resolver, sip("partner.test")).has_value());
  EXPECT_EQ(dns.queries("NAPTR", "partner.test"), 2);
}

TEST_F(CaresResolverTest, TheCacheIsBoundedAndCanBeCleared) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.max_entries = 2;
  CaresResolverPtr resolver = make(settings);
  ASSERT_TRUE(resolve(*resolver, sip("partner.test")).has_value());  // four lookups
  ResolverStats stats = resolver->stats();
  EXPECT_EQ(stats.cache_entries, 2u);
  EXPECT_EQ(stats.cache_evictions, 2u);

  resolver->clearCache();
  EXPECT_EQ(resolver->stats().cache_entries, 0u);
  ASSERT_TRUE(resolve(*resolver, sip("partner.test")).has_value());
  EXPECT_EQ(dns.queries("NAPTR", "partner.test"), 2);
}

TEST_F(CaresResolverTest, NegativeAnswersAreCachedForTheNegativeTtl) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.negative_ttl = seconds(10);
  CaresResolverPtr resolver = make(settings);

  ASSERT_FALSE(resolve(*resolver, sip("nowhere.test")).has_value());
  const int queries = dns.totalQueries();
  EXPECT_GT(queries, 0);
  clock_.advance(seconds(9));
  ResolveResult cached = resolve(*resolver, sip("nowhere.test"));
  ASSERT_FALSE(cached.has_value());
  EXPECT_EQ(cached.error().kind, DnsErrorKind::NotFound);
  EXPECT_EQ(dns.totalQueries(), queries);
  EXPECT_TRUE(hasLine(cached.error().trace,
                      "NAPTR nowhere.test: no such domain (NXDOMAIN) (ttl 1, cached)"))
      << joined(cached.error().trace);

  clock_.advance(seconds(2));
  ASSERT_FALSE(resolve(*resolver, sip("nowhere.test")).has_value());
  EXPECT_EQ(dns.queries("NAPTR", "nowhere.test"), 2);
}

TEST_F(CaresResolverTest, TheSoaOfANegativeAnswerBoundsItsCaching) {
  // NXDOMAIN for everything, with an SOA whose minimum is 5 s (RFC 2308).
  ScriptedServer server([](const std::vector<std::uint8_t>& query) {
    std::vector<std::uint8_t> reply = replyHead(query, 3, 0, 1);
    put16(reply, 0xC00C);  // SOA owned by the question name: good enough for a test
    put16(reply, 6);
    put16(reply, 1);
    put32(reply, 3600);
    const std::vector<std::uint8_t> soa = soaData(5);
    put16(reply, static_cast<std::uint16_t>(soa.size()));
    reply.insert(reply.end(), soa.begin(), soa.end());
    return reply;
  });
  ResolverSettings settings = settingsFor(server.server());
  settings.negative_ttl = seconds(60);
  CaresResolverPtr resolver = make(settings);

  Query q = sip("gone.scripted.test");
  q.port = 5060;
  ResolveResult r = resolve(*resolver, q);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, DnsErrorKind::NotFound);
  EXPECT_TRUE(hasLine(r.error().trace, "A gone.scripted.test: no such domain (NXDOMAIN) (ttl 5)"))
      << joined(r.error().trace);
  EXPECT_EQ(server.queries(), 2);  // A and AAAA

  clock_.advance(seconds(4));
  ASSERT_FALSE(resolve(*resolver, q).has_value());
  EXPECT_EQ(server.queries(), 2);
  clock_.advance(seconds(2));
  ASSERT_FALSE(resolve(*resolver, q).has_value());
  EXPECT_EQ(server.queries(), 4);
}

TEST_F(CaresResolverTest, MalformedAnswersAreErrorsNotCrashes) {
  ScriptedServer server([](const std::vector<std::uint8_t>& query) {
    const std::uint16_t type = questionType(query);
    std::vector<std::uint8_t> reply = replyHead(query, 0, 1, 0);
    if (type == 35) {
      // NAPTR RDATA that ends inside its strings.
      putRecord(reply, 35, 300, {0, 10, 0, 20, 5, 'S'});
    } else if (type == 33) {
      // An SRV record whose length runs past the end of the message.
      putRecord(reply, 33, 300, {0, 10, 0, 10, 0x13, 0xc4, 1, 'x', 0}, 200);
    } else if (type == 1) {
      // An A record with 3 bytes of address.
      putRecord(reply, 1, 300, {127, 0, 0});
    } else {
      reply = replyHead(query, 0, 0, 0);
    }
    return reply;
  });
  ResolverSettings settings = settingsFor(server.server());
  settings.timeout = milliseconds(200);
  CaresResolverPtr resolver = make(settings);

  ResolveResult naptr = resolve(*resolver, sip("bad.scripted.test"));
  ASSERT_FALSE(naptr.has_value());
  EXPECT_EQ(naptr.error().kind, DnsErrorKind::BadResponse) << naptr.error().describe();

  Query srv = sip("bad.scripted.test");
  srv.transport = Transport::Tcp;
  ResolveResult s = resolve(*resolver, srv);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().kind, DnsErrorKind::BadResponse) << s.error().describe();

  Query addr = sip("bad.scripted.test");
  addr.port = 5060;
  ResolveResult a = resolve(*resolver, addr);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().kind, DnsErrorKind::BadResponse) << a.error().describe();
  EXPECT_EQ(resolver->stats().cache_entries, 1u);  // only the AAAA "no records"
}

TEST_F(CaresResolverTest, ACancelledQueryNeverCallsBack) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);

  int cancelled_calls = 0;
  PendingQueryPtr destroyed =
      resolver->resolve(sip("partner.test"), [&](ResolveResult) { ++cancelled_calls; });
  PendingQueryPtr cancelled =
      resolver->resolve(sip("partner.test"), [&](ResolveResult) { ++cancelled_calls; });
  destroyed.reset();
  cancelled->cancel();
  cancelled->cancel();  // idempotent
  // The same name again: it shares the in-flight lookups, so by the time it is answered, the
  // cancelled ones would have been too.
  ResolveResult r = resolve(*resolver, sip("partner.test"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  runPosted();
  EXPECT_EQ(cancelled_calls, 0);
  EXPECT_EQ(dns.queries("NAPTR", "partner.test"), 1);
  cancelled.reset();

  // Cancelled after the answer is posted, before it is delivered.
  int late_calls = 0;
  PendingQueryPtr late = resolver->resolve(sip("127.0.0.1"), [&](ResolveResult) { ++late_calls; });
  late.reset();
  runPosted();
  EXPECT_EQ(late_calls, 0);
}

TEST_F(CaresResolverTest, CallbacksMayCancelOtherQueriesAndDestroyTheResolver) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);

  int calls = 0;
  PendingQueryPtr second;
  PendingQueryPtr third;
  PendingQueryPtr first = resolver->resolve(sip("partner.test"), [&](ResolveResult r) {
    ++calls;
    EXPECT_TRUE(r.has_value());
    second.reset();    // answered in the same batch: must not fire now
    resolver.reset();  // and the resolver goes too, from inside its own callback
    worker_.exit();
  });
  second = resolver->resolve(sip("partner.test"), [&](ResolveResult) { ++calls; });
  third = resolver->resolve(sip("partner.test"), [&](ResolveResult) { ++calls; });
  TimerPtr guard = worker_.createTimer([&] { worker_.exit(); });
  guard->enable(milliseconds(10000));
  worker_.run();
  runPosted();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(resolver);
  first.reset();
  third.reset();  // outlives the resolver: harmless
}

TEST_F(CaresResolverTest, DestroyingTheResolverWithQueriesOutstandingIsSafe) {
  Dnsmasq dns(partnerZone());
  ASSERT_TRUE(dns.ok()) << dns.error();
  int calls = 0;
  CaresResolverPtr resolver = make(dns);
  PendingQueryPtr in_flight =
      resolver->resolve(sip("partner.test"), [&](ResolveResult) { ++calls; });
  PendingQueryPtr posted = resolver->resolve(sip("127.0.0.1"), [&](ResolveResult) { ++calls; });
  resolver.reset();
  // A new resolver answers the same name; the old one's lookups and posted delivery are gone.
  CaresResolverPtr next = make(dns);
  ResolveResult r = resolve(*next, sip("partner.test"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  runPosted();
  EXPECT_EQ(calls, 0);
  in_flight.reset();
  posted.reset();

  // And against a dead server, with the queries still waiting for their timeout.
  SilentServer dead;
  ResolverSettings settings = settingsFor(dead.server());
  settings.timeout = milliseconds(50);
  settings.tries = 1;
  CaresResolverPtr doomed = make(settings);
  PendingQueryPtr waiting = doomed->resolve(sip("partner.test"), [&](ResolveResult) { ++calls; });
  doomed.reset();
  // Run past the timeout the query would have had: nothing may fire.
  TimerPtr after = worker_.createTimer([&] { worker_.exit(); });
  after->enable(milliseconds(150));
  worker_.run();
  EXPECT_EQ(calls, 0);
}

TEST_F(CaresResolverTest, ConcurrentResolvesShareLookups) {
  DnsmasqConfig config = partnerZone();
  for (int i = 0; i < 8; ++i) {
    const std::string n = std::to_string(i);
    config.srv("_sips._tcp.c" + n + ".test", "edge.c" + n + ".test", 5061, 10, 10)
        .host("edge.c" + n + ".test", {"127.0.1." + n});
  }
  Dnsmasq dns(config);
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  std::vector<PendingQueryPtr> handles;
  std::vector<std::optional<ResolveResult>> results(13);
  int pending = static_cast<int>(results.size());
  auto done = [&](std::size_t i) {
    return [&, i](ResolveResult r) {
      results[i] = std::move(r);
      if (--pending == 0) {
        worker_.exit();
      }
    };
  };
  for (std::size_t i = 0; i < 8; ++i) {
    handles.push_back(resolver->resolve(sips("c" + std::to_string(i) + ".test"), done(i)));
  }
  for (std::size_t i = 8; i < 13; ++i) {
    handles.push_back(resolver->resolve(sip("partner.test"), done(i)));
  }
  TimerPtr guard = worker_.createTimer([&] { worker_.exit(); });
  guard->enable(milliseconds(10000));
  worker_.run();
  ASSERT_EQ(pending, 0);
  for (std::size_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(results[i] && results[i]->has_value()) << i;
    EXPECT_EQ((*results[i])->targets.at(0).ip, "127.0.1." + std::to_string(i));
  }
  for (std::size_t i = 8; i < 13; ++i) {
    ASSERT_TRUE(results[i] && results[i]->has_value()) << i;
    EXPECT_EQ((*results[i])->targets.at(0).ip, "127.0.0.1");
  }
  EXPECT_EQ(dns.queries("NAPTR", "partner.test"), 1);  // five resolutions, one query
  EXPECT_EQ(dns.queries("A", "edge1.partner.test"), 1);
  EXPECT_EQ(resolver->stats().lookups_in_flight, 0u);
}

TEST_F(CaresResolverTest, ALargeAnswerIsFetchedAgainOverTcp) {
  // 20 NAPTR records do not fit in 512 bytes: dnsmasq truncates the UDP answer and c-ares asks
  // again over TCP (a connect, so a write event first).
  DnsmasqConfig config;
  for (int i = 0; i < 20; ++i) {
    config.naptr(
        "big.test", 10 + i, 10, "S", "SIPS+D2T",
        "_sips._tcp.a-rather-long-label-to-fill-the-answer-" + std::to_string(i) + ".big.test");
  }
  config
      .srv("_sips._tcp.a-rather-long-label-to-fill-the-answer-0.big.test", "edge.big.test", 5061,
           10, 10)
      .host("edge.big.test", {"127.0.0.61"});
  Dnsmasq dns(config);
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  ResolveResult r = resolve(*resolver, sip("big.test"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets.at(0).ip, "127.0.0.61");
  const auto naptr_lines =
      std::count_if(r->trace.begin(), r->trace.end(),
                    [](const std::string& l) { return l.rfind("NAPTR big.test: ", 0) == 0; });
  EXPECT_EQ(naptr_lines, 20);
  EXPECT_EQ(dns.queries("NAPTR", "big.test"), 2) << dns.log();  // UDP, then TCP
}

TEST_F(CaresResolverTest, FederationSrvLookup) {
  Dnsmasq dns(DnsmasqConfig()
                  .srv("_sipfederationtls._tcp.fed.test", "sip.fed.test", 5061, 10, 10)
                  .host("sip.fed.test", {"127.0.0.41"})
                  .host("nofed.test", {"127.0.0.42"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.ipv6 = false;
  CaresResolverPtr resolver = make(settings);

  ResolveResult r = federation(*resolver, "fed.test");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.41", 5061, Transport::Tls,
                                        "_sipfederationtls._tcp.fed.test", "sip.fed.test")}));
  EXPECT_TRUE(
      hasLine(r->trace, "SRV _sipfederationtls._tcp.fed.test: 10 10 5061 sip.fed.test (ttl 300)"))
      << joined(r->trace);
  EXPECT_EQ(dns.queries("NAPTR", "fed.test"), 0);

  // No federation SRV record: an error, never a fallback to the domain's addresses.
  ResolveResult none = federation(*resolver, "nofed.test");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().name, "nofed.test");
  EXPECT_EQ(none.error().describe(),
            "nofed.test: no federation SRV record (_sipfederationtls._tcp.nofed.test)");
  EXPECT_EQ(dns.queries("A", "nofed.test"), 0);
}

TEST_F(CaresResolverTest, ServiceNotOfferedAndInvalidNames) {
  Dnsmasq dns(
      DnsmasqConfig().line("srv-host=_sip._tcp.closed.test").host("closed.test", {"127.0.0.51"}));
  ASSERT_TRUE(dns.ok()) << dns.error();
  CaresResolverPtr resolver = make(dns);

  Query closed = sip("closed.test");
  closed.transport = Transport::Tcp;
  ResolveResult r = resolve(*resolver, closed);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, DnsErrorKind::NoRecords);
  EXPECT_EQ(dns.queries("A", "closed.test"), 0);  // "." means no: no fallback to the host

  const int before = dns.totalQueries();
  for (const char* bad : {"bad name.test", "a..test", "back\\slash.test", ""}) {
    ResolveResult e = resolve(*resolver, sip(bad));
    ASSERT_FALSE(e.has_value()) << bad;
    EXPECT_EQ(e.error().kind, DnsErrorKind::InvalidName) << bad;
  }
  EXPECT_EQ(dns.totalQueries(), before);
}

TEST(CaresResolverSettingsTest, BadSettingsAreErrors) {
  loop::Worker worker("dns-settings");
  FakeRandom random;
  for (const char* server :
       {"dns.example:53", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "[::1]x", "1.2.3.4:"}) {
    ResolverSettings s;
    s.servers = {server};
    Result<CaresResolverPtr> r = CaresResolver::create(worker, s, random);
    ASSERT_FALSE(r.has_value()) << server;
    EXPECT_NE(r.error().message.find(server), std::string::npos) << r.error().message;
  }
  ResolverSettings tries;
  tries.servers = {"127.0.0.1"};
  tries.tries = 0;
  EXPECT_FALSE(CaresResolver::create(worker, tries, random).has_value());
  for (const char* server : {"127.0.0.1", "127.0.0.1:5353", "[::1]:5353", "::1"}) {
    ResolverSettings s;
    s.servers = {server};
    EXPECT_TRUE(CaresResolver::create(worker, s, random).has_value()) << server;
  }
}

}  // namespace
}  // namespace sipedge::dns

// Found by the fuzz targets fuzz/dns_locator_fuzz.cc and fuzz/dns_answer_fuzz.cc: each test names
// its input in fuzz/corpus/<target>/.
namespace sipedge::dns {
namespace {

TEST_F(CaresResolverTest, SipsLocalhostIsTlsWhateverTheTransportParameter) {
  // regress-sips-localhost-transport-udp (dns_locator): RFC 3263 4.1, a sips: URI uses TLS. The
  // loopback shortcut once took the transport parameter instead.
  SilentServer server;
  CaresResolverPtr resolver = make(settingsFor(server.server()));
  Query q = sips("localhost");
  q.transport = Transport::Udp;
  ResolveResult r = resolve(*resolver, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.1", 5061, Transport::Tls, "", "127.0.0.1"),
                                 target("::1", 5061, Transport::Tls, "", "::1")}));
  EXPECT_EQ(resolver->stats().queries_sent, 0u);
}

TEST_F(CaresResolverTest, NoLookupIsAskedTwiceInOneResolution) {
  // regress-naptr-same-replacement (dns_locator): two NAPTR records name the same SRV name, whose
  // target has no address. The locator once asked the SRV name and the target's addresses again
  // for the second record; with the cache off, each of those was another query.
  Dnsmasq dns(DnsmasqConfig()
                  .naptr("dup.test", 10, 50, "S", "SIP+D2T", "_sip._tcp.dup.test")
                  .naptr("dup.test", 20, 50, "S", "SIP+D2T", "_sip._tcp.dup.test")
                  .srv("_sip._tcp.dup.test", "edge.dup.test", 5060, 10, 0));
  ASSERT_TRUE(dns.ok()) << dns.error();
  ResolverSettings settings = settingsFor(dns.server());
  settings.max_entries = 0;  // no cache
  CaresResolverPtr resolver = make(settings);

  ResolveResult r = resolve(*resolver, sip("dup.test"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, DnsErrorKind::NoRecords) << r.error().describe();
  EXPECT_EQ(dns.queries("NAPTR", "dup.test"), 1) << dns.log();
  EXPECT_EQ(dns.queries("SRV", "_sip._tcp.dup.test"), 1) << dns.log();
  EXPECT_EQ(dns.queries("A", "edge.dup.test"), 1) << dns.log();
  EXPECT_EQ(dns.queries("AAAA", "edge.dup.test"), 1) << dns.log();
}

TEST_F(CaresResolverTest, AHostWithANulIsNotAnAddressLiteral) {
  // regress-nul-in-ip-literal (dns_locator): inet_pton reads up to the NUL, so "192.0.2.7\0..."
  // once counted as an address literal and became a target with the NUL in its IP.
  SilentServer server;
  CaresResolverPtr resolver = make(settingsFor(server.server()));
  for (const std::string& host :
       {std::string("192.0.2.7\0.evil.test", 20), std::string("[::1\0x]", 7)}) {
    for (bool numeric : {false, true}) {
      Query q = sip(host);
      q.numeric_host = numeric;
      ResolveResult r = resolve(*resolver, q);
      ASSERT_FALSE(r.has_value()) << r->targets.front().ip;
      EXPECT_EQ(r.error().kind, DnsErrorKind::InvalidName) << r.error().describe();
    }
  }
  EXPECT_EQ(resolver->stats().queries_sent, 0u);
}

TEST_F(CaresResolverTest, ABrokenAuthoritySectionDoesNotSpoilAnAnswer) {
  // regress-broken-authority (dns_answer): c-ares reads the records of the answer section only.
  // An SOA in the authority section whose length runs past the end of the message once made the
  // TTL scan fail, and with it the whole answer (BadResponse).
  ScriptedServer server([](const std::vector<std::uint8_t>& query) {
    const std::uint16_t type = questionType(query);
    if (type != 33 && type != 1) {
      return replyHead(query, 0, 0, 0);
    }
    std::vector<std::uint8_t> reply = replyHead(query, 0, 1, 1);
    if (type == 33) {
      std::vector<std::uint8_t> srv = {0, 10, 0, 0, 0x13, 0xc4};
      putName(srv, "edge.scripted.test");
      putRecord(reply, 33, 300, srv);
    } else {
      putRecord(reply, 1, 300, {127, 0, 0, 1});
    }
    putRecord(reply, 6, 60, soaData(5), 500);  // RDLENGTH past the end
    return reply;
  });
  CaresResolverPtr resolver = make(settingsFor(server.server()));
  Query q = sip("ok.scripted.test");
  q.transport = Transport::Tcp;
  ResolveResult r = resolve(*resolver, q);
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->targets,
            (std::vector<Target>{target("127.0.0.1", 5060, Transport::Tcp,
                                        "_sip._tcp.ok.scripted.test", "edge.scripted.test")}));
  EXPECT_TRUE(hasLine(r->trace, "A edge.scripted.test: 127.0.0.1 (ttl 300)")) << joined(r->trace);
}

}  // namespace
}  // namespace sipedge::dns
