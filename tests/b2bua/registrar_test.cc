// The registrar's pure logic: planRegister (RFC 3261 10.3 steps 1-6) and applyRegister (step 7,
// RFC 3327 Path, RFC 5626 instances and flows), the 200's Contact values and Date header.
#include "sipedge/b2bua/registrar.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "sipedge/sip/message.h"

namespace sipedge::b2bua {
namespace {

constexpr location::UnixSeconds kNow = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT

// A REGISTER, as fields; text() renders it.
struct Req {
  std::string ruri = "sip:example.com";
  std::string to = "<sip:alice@example.com>";
  std::string from = "<sip:alice@example.com>;tag=f1";
  std::string call_id = "call-1@host";
  unsigned cseq = 1;
  std::vector<std::string> contacts;  // one Contact header each
  std::vector<std::string> extra;     // whole header lines ("Expires: 0")

  Req& contact(std::string c) {
    contacts.push_back(std::move(c));
    return *this;
  }
  Req& header(std::string h) {
    extra.push_back(std::move(h));
    return *this;
  }
  Req& seq(unsigned n) {
    cseq = n;
    return *this;
  }
  Req& callId(std::string c) {
    call_id = std::move(c);
    return *this;
  }

  std::string text() const {
    std::string t = "REGISTER " + ruri + " SIP/2.0\r\n";
    t += "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-" + std::to_string(cseq) + "\r\n";
    t += "Max-Forwards: 70\r\n";
    t += "To: " + to + "\r\n";
    t += "From: " + from + "\r\n";
    t += "Call-ID: " + call_id + "\r\n";
    t += "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
    for (const auto& c : contacts) {
      t += "Contact: " + c + "\r\n";
    }
    for (const auto& h : extra) {
      t += h + "\r\n";
    }
    t += "Content-Length: 0\r\n\r\n";
    return t;
  }
};

class RegistrarTest : public ::testing::Test {
 protected:
  Result<RegisterPlan, RegistrarReply> plan(const Req& req) {
    auto msg = sip::parseMessage(req.text(), sip::ParseOptions{});
    EXPECT_TRUE(msg.has_value()) << req.text() << (msg ? "" : msg.error().describe());
    if (!msg) {
      return fail(RegistrarReply{0, "unparsable", {}});
    }
    return planRegister(*msg, served_, config_, source_);
  }

  // Plans and applies `req` to bindings_ at `now`; a planning error is returned as is.
  RegistrarReply run(const Req& req, location::UnixSeconds now = kNow) {
    auto p = plan(req);
    if (!p) {
      changed_ = false;
      return p.error();
    }
    return applyRegister(*p, bindings_, now, config_, changed_);
  }

  // The status of planning `req` (200 when it plans), and the reason.
  std::pair<int, std::string> planStatus(const Req& req) {
    auto p = plan(req);
    return p ? std::pair<int, std::string>{200, ""}
             : std::pair<int, std::string>{p.error().status, p.error().reason};
  }

  static std::vector<std::string> values(const RegistrarReply& r, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : r.headers) {
      if (n == name) {
        out.push_back(v);
      }
    }
    return out;
  }

  std::vector<std::string> contactsOf() const {
    std::vector<std::string> out;
    for (const auto& b : bindings_) {
      out.push_back(b.contact);
    }
    return out;
  }

  std::vector<std::string> served_{"example.com", "example.org"};
  config::RegistrarConfig config_;
  RegisterSource source_{"udp:192.0.2.1:5060", false, "phone/1.0"};
  std::vector<location::Binding> bindings_;
  bool changed_ = false;
};

TEST_F(RegistrarTest, RegistersANewBinding) {
  const auto r = run(Req().contact("<sip:alice@192.0.2.1:5060>"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "");
  EXPECT_TRUE(changed_);
  ASSERT_EQ(bindings_.size(), 1u);
  const location::Binding& b = bindings_[0];
  EXPECT_EQ(b.aor, "alice@example.com");
  EXPECT_EQ(b.contact, "sip:alice@192.0.2.1:5060");
  EXPECT_EQ(b.q, 1000);
  EXPECT_EQ(b.expires, kNow + 3600);
  EXPECT_EQ(b.call_id, "call-1@host");
  EXPECT_EQ(b.cseq, 1u);
  EXPECT_EQ(b.instance, "");
  EXPECT_EQ(b.reg_id, 0u);
  EXPECT_TRUE(b.path.empty());
  EXPECT_EQ(b.received, "udp:192.0.2.1:5060");
  EXPECT_FALSE(b.external);
  EXPECT_EQ(b.user_agent, "phone/1.0");
  EXPECT_EQ(b.updated, kNow);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Contact", "<sip:alice@192.0.2.1:5060>;expires=3600"},
      {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"}};
  EXPECT_EQ(r.headers, expected);
}

TEST_F(RegistrarTest, PlanCarriesTheRequest) {
  source_.external = true;
  auto p = plan(Req()
                    .contact("<sip:alice@192.0.2.1>;q=0.5;expires=120;+sip.instance=\"<urn:uuid:"
                             "00000000-0000-1000-8000-000A95A0E128>\";reg-id=1")
                    .seq(7));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(aorOf(*p), "alice@example.com");
  EXPECT_EQ(p->from_aor, "alice@example.com");
  EXPECT_EQ(p->domain, "example.com");
  EXPECT_FALSE(p->wildcard);
  EXPECT_FALSE(p->isQuery());
  EXPECT_EQ(p->call_id, "call-1@host");
  EXPECT_EQ(p->cseq, 7u);
  EXPECT_EQ(p->source, source_);
  ASSERT_EQ(p->contacts.size(), 1u);
  const ContactPlan expected{"sip:alice@192.0.2.1", 120, 500,
                             "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>", 1};
  EXPECT_EQ(p->contacts[0], expected);
}

TEST_F(RegistrarTest, RefreshWithAHigherCSeqUpdatesTheBinding) {
  ASSERT_EQ(run(Req().contact("<sip:alice@192.0.2.1>").seq(1)).status, 200);
  source_.received = "udp:192.0.2.1:5070";
  const auto r = run(Req().contact("<sip:alice@192.0.2.1>;expires=600").seq(2), kNow + 100);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(changed_);
  ASSERT_EQ(bindings_.size(), 1u);
  EXPECT_EQ(bindings_[0].cseq, 2u);
  EXPECT_EQ(bindings_[0].expires, kNow + 700);
  EXPECT_EQ(bindings_[0].updated, kNow + 100);
  EXPECT_EQ(bindings_[0].received, "udp:192.0.2.1:5070");
  EXPECT_EQ(values(r, "Contact"), std::vector<std::string>{"<sip:alice@192.0.2.1>;expires=600"});
}

TEST_F(RegistrarTest, OutOfOrderCSeqAbortsTheWholeUpdate) {
  ASSERT_EQ(
      run(Req().contact("<sip:alice@192.0.2.1>").contact("<sip:alice@192.0.2.2>").seq(5)).status,
      200);
  const auto before = bindings_;
  struct Case {
    std::string call_id;
    unsigned cseq;
    int status;
  };
  const Case cases[] = {
      {"call-1@host", 5, 500},  // same CSeq (a replay)
      {"call-1@host", 4, 500},  // lower
      {"call-1@host", 6, 200},  // higher
      {"other@host", 1, 200},   // another Call-ID: any CSeq
  };
  for (const Case& c : cases) {
    bindings_ = before;
    // The second Contact is new; the first hits the CSeq rule, so neither may change.
    const auto r = run(Req()
                           .contact("<sip:alice@192.0.2.9>")
                           .contact("<sip:alice@192.0.2.1>;expires=0")
                           .callId(c.call_id)
                           .seq(c.cseq));
    EXPECT_EQ(r.status, c.status) << c.call_id << " " << c.cseq;
    if (c.status == 500) {
      EXPECT_EQ(r.reason, "Out-of-Order CSeq");
      EXPECT_FALSE(changed_);
      EXPECT_EQ(bindings_, before);
      EXPECT_TRUE(r.headers.empty());
    } else {
      // Same q, same update time: by contact.
      EXPECT_EQ(contactsOf(),
                (std::vector<std::string>{"sip:alice@192.0.2.2", "sip:alice@192.0.2.9"}));
    }
  }
}

TEST_F(RegistrarTest, SeveralContactsAreListedByQ) {
  const auto r = run(Req()
                         .contact("<sip:a@192.0.2.1>;q=0.2")
                         .contact("<sip:b@192.0.2.2>, <sip:c@192.0.2.3>;q=0.75")
                         .contact("sip:d@192.0.2.4;q=0")
                         .header("Expires: 300"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(values(r, "Contact"), (std::vector<std::string>{
                                      "<sip:b@192.0.2.2>;expires=300",
                                      "<sip:c@192.0.2.3>;q=0.75;expires=300",
                                      "<sip:a@192.0.2.1>;q=0.2;expires=300",
                                      "<sip:d@192.0.2.4>;q=0;expires=300",
                                  }));
}

TEST_F(RegistrarTest, ExpiryComesFromTheParamThenTheHeaderThenTheDefault) {
  struct Case {
    std::string contact;
    std::optional<std::string> header;
    std::uint32_t granted;  // 0: removed (never registered)
  };
  const Case cases[] = {
      {"<sip:a@192.0.2.1>;expires=120", "300", 120},
      {"<sip:a@192.0.2.1>", "300", 300},
      {"<sip:a@192.0.2.1>", std::nullopt, 3600},
      {"<sip:a@192.0.2.1>;expires=120", std::nullopt, 120},
      {"<sip:a@192.0.2.1>;expires=0", "300", 0},
      {"<sip:a@192.0.2.1>", "0", 0},
      {"<sip:a@192.0.2.1>;expires=300", "0", 300},
      {"<sip:a@192.0.2.1>;EXPIRES=90", std::nullopt, 90},
      {"<sip:a@192.0.2.1>;expires=60", std::nullopt, 60},        // min_expires itself
      {"<sip:a@192.0.2.1>;expires=86400", std::nullopt, 86400},  // max_expires itself
      {"<sip:a@192.0.2.1>;expires=86401", std::nullopt, 86400},
      {"<sip:a@192.0.2.1>", "100000", 86400},
      {"<sip:a@192.0.2.1>;expires=99999999999", std::nullopt, 86400},  // saturates, then clamps
      // An addr-spec's parameters are header parameters (RFC 3261 20.10).
      {"sip:a@192.0.2.1;expires=200", std::nullopt, 200},
      // Inside < >, expires is a URI parameter: the header's value applies.
      {"<sip:a@192.0.2.1;expires=200>", "400", 400},
  };
  for (const Case& c : cases) {
    bindings_.clear();
    Req req;
    req.contact(c.contact);
    if (c.header) {
      req.header("Expires: " + *c.header);
    }
    auto p = plan(req);
    ASSERT_TRUE(p.has_value()) << c.contact;
    ASSERT_EQ(p->contacts.size(), 1u);
    EXPECT_EQ(p->contacts[0].expires, c.granted) << c.contact;
    const auto r = applyRegister(*p, bindings_, kNow, config_, changed_);
    EXPECT_EQ(r.status, 200);
    if (c.granted == 0) {
      EXPECT_TRUE(bindings_.empty()) << c.contact;
      EXPECT_FALSE(changed_);
    } else {
      ASSERT_EQ(bindings_.size(), 1u) << c.contact;
      EXPECT_EQ(bindings_[0].expires, kNow + c.granted);
    }
  }
}

TEST_F(RegistrarTest, TooBriefIs423WithMinExpires) {
  config_.min_expires = 120;
  for (const Req& req :
       {Req().contact("<sip:a@192.0.2.1>;expires=30"),
        Req().contact("<sip:a@192.0.2.1>").header("Expires: 119"),
        Req().contact("<sip:a@192.0.2.1>;expires=1").header("Expires: 3600"),
        Req().contact("<sip:a@192.0.2.1>").contact("<sip:b@192.0.2.1>;expires=5")}) {
    auto p = plan(req);
    ASSERT_FALSE(p.has_value()) << req.text();
    EXPECT_EQ(p.error().status, 423);
    EXPECT_EQ(p.error().reason, "");
    EXPECT_EQ(values(p.error(), "Min-Expires"), std::vector<std::string>{"120"});
  }
  // 0 is a removal, never too brief; the limit itself is fine.
  EXPECT_EQ(planStatus(Req().contact("<sip:a@192.0.2.1>;expires=0")).first, 200);
  EXPECT_EQ(planStatus(Req().contact("<sip:a@192.0.2.1>;expires=120")).first, 200);
}

TEST_F(RegistrarTest, MalformedValuesAre400) {
  struct Case {
    Req req;
    std::string reason;  // "*": any non-empty reason
  };
  const Case cases[] = {
      {Req().contact("<sip:a@192.0.2.1>;expires=abc"), "Invalid Contact Expires"},
      {Req().contact("<sip:a@192.0.2.1>;expires"), "Invalid Contact Expires"},
      {Req().contact("<sip:a@192.0.2.1>;expires=-1"), "Invalid Contact Expires"},
      {Req().contact("<sip:a@192.0.2.1>;q=2"), "Invalid Contact q Value"},
      {Req().contact("<sip:a@192.0.2.1>;q=0.5555"), "Invalid Contact q Value"},
      {Req().contact("<sip:a@192.0.2.1>;q"), "Invalid Contact q Value"},
      {Req().contact("<sip:a@192.0.2.1>;+sip.instance=\"<urn:x>\";reg-id=0"), "Invalid reg-id"},
      {Req().contact("<sip:a@192.0.2.1>;+sip.instance=\"<urn:x>\";reg-id=x"), "Invalid reg-id"},
      {Req().contact("<sip:a@192.0.2.1>;+sip.instance=\"<urn:x>\";reg-id=2147483648"),
       "Invalid reg-id"},
      {Req().contact("<sip:a@192.0.2.1>;+sip.instance=\"\""), "Invalid +sip.instance"},
      {Req().contact("<sip:a@192.0.2.1>;+sip.instance"), "Invalid +sip.instance"},
      {Req()
           .contact("<sip:a@192.0.2.1>;+sip.instance=\"<urn:x>\";reg-id=1")
           .contact("<sip:a@192.0.2.2>;+sip.instance=\"<urn:x>\";reg-id=2"),
       "Multiple Contacts With reg-id"},
      {Req().contact("<sip:a@192.0.2.1>").header("Expires: soon"), "*"},
      {Req().contact("<sip:a@192.0.2.1>").header("Require: path,,"), "*"},
      {Req().contact("<sip:a@192.0.2.1>").header("Path: not a uri"), "*"},
  };
  for (const Case& c : cases) {
    const auto [status, reason] = planStatus(c.req);
    EXPECT_EQ(status, 400) << c.req.text();
    if (c.reason == "*") {
      EXPECT_FALSE(reason.empty()) << c.req.text();
    } else {
      EXPECT_EQ(reason, c.reason) << c.req.text();
    }
  }
  // One reg-id with a nonzero expiry beside a removal of another flow is fine.
  EXPECT_EQ(planStatus(Req()
                           .contact("<sip:a@192.0.2.1>;+sip.instance=\"<urn:x>\";reg-id=1")
                           .contact("<sip:a@192.0.2.2>;+sip.instance=\"<urn:x>\";reg-id=2;"
                                    "expires=0"))
                .first,
            200);
}

TEST_F(RegistrarTest, ExpiresZeroRemovesOneBinding) {
  ASSERT_EQ(run(Req().contact("<sip:a@192.0.2.1>").contact("<sip:a@192.0.2.2>")).status, 200);
  const auto r = run(Req().contact("<SIP:a@192.0.2.1>;expires=0").seq(2));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(changed_);
  EXPECT_EQ(contactsOf(), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(values(r, "Contact"), std::vector<std::string>{"<sip:a@192.0.2.2>;expires=3600"});
  // Removing a binding that does not exist changes nothing.
  EXPECT_EQ(run(Req().contact("<sip:a@192.0.2.7>;expires=0").seq(3)).status, 200);
  EXPECT_FALSE(changed_);
}

TEST_F(RegistrarTest, WildcardRemovesEveryBinding) {
  ASSERT_EQ(run(Req().contact("<sip:a@192.0.2.1>").contact("<sip:a@192.0.2.2>").seq(3)).status,
            200);
  ASSERT_EQ(run(Req().contact("<sip:a@192.0.2.3>").callId("other")).status, 200);
  const auto before = bindings_;
  // Subject to the CSeq rule: the Call-ID of the first two with a CSeq not higher.
  auto r = run(Req().contact("*").header("Expires: 0").seq(3));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "Out-of-Order CSeq");
  EXPECT_EQ(bindings_, before);

  auto p = plan(Req().contact("*").header("Expires: 0").seq(4));
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->wildcard);
  EXPECT_FALSE(p->isQuery());
  r = applyRegister(*p, bindings_, kNow, config_, changed_);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(changed_);
  EXPECT_TRUE(bindings_.empty());
  EXPECT_TRUE(values(r, "Contact").empty());
  EXPECT_EQ(values(r, "Date").size(), 1u);
}

TEST_F(RegistrarTest, WildcardRules) {
  struct Case {
    Req req;
    int status;
    std::string reason;
  };
  const Case cases[] = {
      {Req().contact("*").header("Expires: 0"), 200, ""},
      {Req().contact(" * ").header("Expires: 0"), 200, ""},
      {Req().contact("*").contact("<sip:a@192.0.2.1>").header("Expires: 0"), 400,
       "Wildcard Contact Must Be Alone"},
      {Req().contact("<sip:a@192.0.2.1>").contact("*").header("Expires: 0"), 400,
       "Wildcard Contact Must Be Alone"},
      {Req().contact("*").contact("*").header("Expires: 0"), 400, "Wildcard Contact Must Be Alone"},
      {Req().contact("*").header("Expires: 60"), 400, "Wildcard Contact Requires Expires: 0"},
      {Req().contact("*"), 400, "Wildcard Contact Requires Expires: 0"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(planStatus(c.req), (std::pair<int, std::string>{c.status, c.reason})) << c.req.text();
  }
  // "*, <sip:...>" in one header is not even valid syntax.
  Req req;
  req.contact("*, <sip:a@192.0.2.1>").header("Expires: 0");
  EXPECT_FALSE(sip::parseMessage(req.text(), sip::ParseOptions{}).has_value());
}

TEST_F(RegistrarTest, RequestUriAndToChecks) {
  struct Case {
    std::string ruri;
    std::string to;
    int status;
    std::string reason;
  };
  const Case cases[] = {
      {"sip:example.com", "<sip:alice@example.com>", 200, ""},
      {"sip:EXAMPLE.com", "<sip:alice@Example.COM>", 200, ""},
      {"sip:example.com.", "sip:alice@example.com", 200, ""},
      {"sips:example.org:5061", "<sips:alice@example.org>", 200, ""},
      {"sip:example.com;transport=tcp", "<sip:alice@example.com;user=phone>", 200, ""},
      {"sip:alice@example.com", "<sip:alice@example.com>", 400,
       "Request-URI Must Not Have A User Part"},
      {"sip:a:pw@example.com", "<sip:alice@example.com>", 400,
       "Request-URI Must Not Have A User Part"},
      {"tel:+15551234", "<sip:alice@example.com>", 416, ""},
      {"sip:example.net", "<sip:alice@example.net>", 404, "Domain Not Served"},
      {"sip:sub.example.com", "<sip:alice@sub.example.com>", 404, "Domain Not Served"},
      {"sip:example.com", "<sip:alice@example.org>", 404, "Address-Of-Record Not In Domain"},
      {"sip:example.com", "<sip:alice@example.net>", 404, "Address-Of-Record Not In Domain"},
      {"sip:example.com", "<sip:example.com>", 404, "Address-Of-Record Must Have A User Part"},
      {"sip:example.com", "<tel:+15551234>", 416, "Address-Of-Record Must Be A SIP URI"},
  };
  for (const Case& c : cases) {
    Req req;
    req.ruri = c.ruri;
    req.to = c.to;
    req.from = c.to + ";tag=x";
    req.contact("<sip:alice@192.0.2.1>");
    EXPECT_EQ(planStatus(req), (std::pair<int, std::string>{c.status, c.reason}))
        << c.ruri << " " << c.to;
  }
}

TEST_F(RegistrarTest, AorKeyIsNormalized) {
  Req req;
  req.to = "\"Alice\" <sips:%61lice@EXAMPLE.com;transport=tls>";
  req.from = "<sip:alice@example.com:5060>;tag=1";  // the same AOR: not third party
  auto p = plan(req.contact("<sip:alice@192.0.2.1>"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->aor, "alice@example.com");
  struct Case {
    std::string uri;
    std::string key;
  };
  const Case cases[] = {
      {"sip:alice@example.com", "alice@example.com"},
      {"sip:Alice@Example.COM", "Alice@example.com"},  // the user is case-sensitive
      {"sip:%41lice@example.com.", "Alice@example.com"},
      {"sip:a%2fb@example.com", "a%2Fb@example.com"},
      {"sip:a%40b@example.com", "a%40b@example.com"},
      {"sip:+1555;phone-context=x@example.com", "+1555;phone-context=x@example.com"},
      {"sip:example.com", ""},
      {"tel:+1555", ""},
      {"mailto:alice@example.com", ""},
  };
  for (const Case& c : cases) {
    auto uri = sip::parseUri(c.uri);
    ASSERT_TRUE(uri.has_value()) << c.uri;
    EXPECT_EQ(aorKey(*uri), c.key) << c.uri;
  }
}

TEST_F(RegistrarTest, ThirdPartyRegistration) {
  struct Case {
    std::vector<config::RegistrarConfig::ThirdParty> rules;
    std::string from;
    int status;
  };
  using TP = config::RegistrarConfig::ThirdParty;
  const Case cases[] = {
      {{}, "<sip:alice@example.com>", 200},  // first party
      {{}, "\"A\" <sip:alice@EXAMPLE.COM;transport=udp>", 200},
      {{}, "<sip:bob@example.com>", 403},
      {{}, "<tel:+15551234>", 403},
      {{TP{"bob@example.com", {"alice@example.com"}}}, "<sip:bob@example.com>", 200},
      {{TP{"bob@example.com", {"carol@example.com"}}}, "<sip:bob@example.com>", 403},
      {{TP{"bob@example.com", {"*@example.com"}}}, "<sip:bob@example.com>", 200},
      {{TP{"*@example.com", {"*@example.com"}}}, "<sip:bob@example.com>", 200},
      {{TP{"*@example.com", {"*@example.com"}}}, "<sip:bob@partner.example>", 403},
      {{TP{"*@partner.example", {"alice@example.com"}}}, "<sip:pbx@PARTNER.example>", 200},
      {{TP{"bob@example.com", {"*@example.org"}}}, "<sip:bob@example.com>", 403},
      {{TP{"Bob@example.com", {"alice@example.com"}}}, "<sip:bob@example.com>", 403},
      {{TP{"carol@example.com", {"alice@example.com"}},
        TP{"bob@example.com", {"dave@example.com", "alice@example.com"}}},
       "<sip:bob@example.com>",
       200},
      {{TP{"*@example.com", {"alice@example.com"}}}, "<tel:+15551234>", 403},
  };
  for (const Case& c : cases) {
    config_.third_party = c.rules;
    Req req;
    req.from = c.from + ";tag=t";
    const auto [status, reason] = planStatus(req.contact("<sip:alice@192.0.2.1>"));
    EXPECT_EQ(status, c.status) << c.from;
    if (c.status == 403) {
      EXPECT_EQ(reason, "Third-Party Registration Not Allowed");
    }
  }
  config_.third_party = {TP{"bob@example.com", {"alice@example.com"}}};
  Req req;
  req.from = "<sip:bob@example.com>;tag=t";
  auto p = plan(req.contact("<sip:alice@192.0.2.1>"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->aor, "alice@example.com");
  EXPECT_EQ(p->from_aor, "bob@example.com");
}

TEST_F(RegistrarTest, RequireOnlyPath) {
  struct Case {
    std::vector<std::string> headers;
    int status;
    std::string unsupported;
  };
  const Case cases[] = {
      {{"Require: path"}, 200, ""},
      {{"Require: PATH"}, 200, ""},
      {{"Supported: outbound, gruu"}, 200, ""},  // Supported is not Require
      {{"Require: foo"}, 420, "foo"},
      {{"Require: path, foo, bar"}, 420, "foo, bar"},
      {{"Require: foo", "Require: path", "Require: FOO, baz"}, 420, "foo, baz"},
      {{"Proxy-Require: foo"}, 200, ""},  // for proxies, not for the registrar (a UAS)
  };
  for (const Case& c : cases) {
    Req req;
    req.contact("<sip:alice@192.0.2.1>");
    for (const auto& h : c.headers) {
      req.header(h);
    }
    auto p = plan(req);
    if (c.status == 200) {
      EXPECT_TRUE(p.has_value()) << req.text();
      continue;
    }
    ASSERT_FALSE(p.has_value()) << req.text();
    EXPECT_EQ(p.error().status, 420);
    EXPECT_EQ(values(p.error(), "Unsupported"), std::vector<std::string>{c.unsupported});
  }
}

TEST_F(RegistrarTest, CheckOrderFollowsRfc3261) {
  // Everything wrong at once: the Request-URI is reported first, then Require, To, third party,
  // Contact.
  Req req;
  req.ruri = "sip:u@example.net";
  req.to = "<sip:alice@example.org>";
  req.from = "<sip:bob@example.com>;tag=1";
  req.contact("*").contact("<sip:a@192.0.2.1>;expires=abc").header("Require: foo");
  EXPECT_EQ(planStatus(req).first, 400);
  req.ruri = "sip:example.net";
  EXPECT_EQ(planStatus(req), (std::pair<int, std::string>{404, "Domain Not Served"}));
  req.ruri = "sip:example.com";
  EXPECT_EQ(planStatus(req).first, 420);
  req.extra.clear();
  EXPECT_EQ(planStatus(req), (std::pair<int, std::string>{404, "Address-Of-Record Not In Domain"}));
  req.to = "<sip:alice@example.com>";
  EXPECT_EQ(planStatus(req).first, 403);
  req.from = "<sip:alice@example.com>;tag=1";
  EXPECT_EQ(planStatus(req), (std::pair<int, std::string>{400, "Wildcard Contact Must Be Alone"}));
}

TEST_F(RegistrarTest, MissingHeadersAndOtherMethods) {
  auto check = [&](std::string text, std::string reason) {
    sip::ParseOptions options;
    auto msg = sip::parseMessage(text, options);
    ASSERT_TRUE(msg.has_value()) << text;
    auto p = planRegister(*msg, served_, config_, source_);
    ASSERT_FALSE(p.has_value()) << text;
    EXPECT_EQ(p.error().status, 400);
    EXPECT_EQ(p.error().reason, reason);
  };
  const std::string base = Req().text();
  auto without = [&](std::string_view name) {
    std::string t = base;
    const auto at = t.find(std::string(name) + ":");
    t.erase(at, t.find("\r\n", at) + 2 - at);
    return t;
  };
  check(without("To"), "Missing To");
  check(without("From"), "Missing From");
  check(without("Call-ID"), "Missing Call-ID");
  check(without("CSeq"), "Missing CSeq");
  std::string options_request = base;
  options_request.replace(0, 8, "OPTIONS");
  check(options_request, "Not A REGISTER Request");
  check(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@example.com>\r\n"
      "From: <sip:a@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"
      "Content-Length: 0\r\n\r\n",
      "Not A REGISTER Request");
}

TEST_F(RegistrarTest, PathIsStoredAndEchoed) {
  const auto r = run(Req()
                         .contact("<sip:alice@192.0.2.1>")
                         .header("Path: <sip:edge1.example.net;lr>")
                         .header("Path: <sip:p2.example.net;lr>;x=1, sip:p3.example.net")
                         .header("Supported: path"));
  ASSERT_EQ(r.status, 200);
  const std::vector<std::string> path = {"<sip:edge1.example.net;lr>",
                                         "<sip:p2.example.net;lr>;x=1", "<sip:p3.example.net>"};
  ASSERT_EQ(bindings_.size(), 1u);
  EXPECT_EQ(bindings_[0].path, path);
  EXPECT_EQ(values(r, "Path"), path);
  // Path headers come after the Contacts, and Date last.
  ASSERT_EQ(r.headers.size(), 5u);
  EXPECT_EQ(r.headers[0].first, "Contact");
  EXPECT_EQ(r.headers[4].first, "Date");
  // A refresh without Path clears it; the 200 echoes only the request's own Path.
  const auto r2 = run(Req().contact("<sip:alice@192.0.2.1>").seq(2));
  EXPECT_TRUE(bindings_[0].path.empty());
  EXPECT_TRUE(values(r2, "Path").empty());
}

TEST_F(RegistrarTest, SameInstanceWithANewUriReplacesItsBinding) {
  const std::string inst = ";+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"";
  ASSERT_EQ(run(Req().contact("<sip:alice@192.0.2.1:5060>" + inst)).status, 200);
  ASSERT_EQ(run(Req().contact("<sip:bob@192.0.2.50>").callId("other")).status, 200);
  // The device moved: a new Call-ID, a new address, the same instance (in upper case).
  const auto r = run(Req()
                         .contact("<sip:alice@198.51.100.7:5062;transport=tcp>;+sip.instance="
                                  "\"<urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6>\"")
                         .callId("after-reboot")
                         .seq(1),
                     kNow + 10);
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(bindings_.size(), 2u);
  EXPECT_EQ(bindings_[0].contact, "sip:alice@198.51.100.7:5062;transport=tcp");  // newest first
  EXPECT_EQ(bindings_[0].instance, "<urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6>");
  EXPECT_EQ(bindings_[1].contact, "sip:bob@192.0.2.50");
  EXPECT_EQ(values(r, "Contact")[0],
            "<sip:alice@198.51.100.7:5062;transport=tcp>;expires=3600;+sip.instance="
            "\"<urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6>\"");
  // A Contact without an instance, with the same URI as an instance's binding, replaces it too.
  ASSERT_EQ(run(Req().contact("<sip:alice@198.51.100.7:5062;transport=TCP>").callId("x"), kNow + 20)
                .status,
            200);
  ASSERT_EQ(bindings_.size(), 2u);
  EXPECT_EQ(bindings_[0].instance, "");
}

TEST_F(RegistrarTest, RegIdFlowsAreKeptApart) {
  const std::string inst = ";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\"";
  // RFC 5626: one REGISTER per flow, each with its own Call-ID; the flows share one URI.
  ASSERT_EQ(run(Req().contact("<sip:alice@192.0.2.1;ob>" + inst + ";reg-id=1").callId("f1")).status,
            200);
  ASSERT_EQ(
      run(Req().contact("<sip:alice@192.0.2.1;ob>" + inst + ";reg-id=2").callId("f2"), kNow + 1)
          .status,
      200);
  ASSERT_EQ(bindings_.size(), 2u);
  EXPECT_EQ(bindings_[0].reg_id, 2u);
  EXPECT_EQ(bindings_[1].reg_id, 1u);
  // Refreshing flow 1 keeps flow 2.
  auto r = run(Req().contact("<sip:alice@192.0.2.9;ob>" + inst + ";reg-id=1").callId("f1").seq(2),
               kNow + 5);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(bindings_.size(), 2u);
  EXPECT_EQ(bindings_[0].reg_id, 1u);
  EXPECT_EQ(bindings_[0].contact, "sip:alice@192.0.2.9;ob");
  EXPECT_EQ(bindings_[0].cseq, 2u);
  EXPECT_EQ(bindings_[1].reg_id, 2u);
  EXPECT_EQ(values(r, "Contact")[0],
            "<sip:alice@192.0.2.9;ob>;expires=3600;+sip.instance="
            "\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\";reg-id=1");
  // Removing flow 2 only.
  r = run(
      Req().contact("<sip:alice@192.0.2.1;ob>" + inst + ";reg-id=2;expires=0").callId("f2").seq(2),
      kNow + 6);
  ASSERT_EQ(bindings_.size(), 1u);
  EXPECT_EQ(bindings_[0].reg_id, 1u);
  // The same instance without reg-id (outbound turned off) replaces every flow of the device.
  ASSERT_EQ(run(Req().contact("<sip:alice@192.0.2.1>" + inst).callId("plain")).status, 200);
  ASSERT_EQ(bindings_.size(), 1u);
  EXPECT_EQ(bindings_[0].reg_id, 0u);
  // And a flow replaces the device's binding without reg-id.
  ASSERT_EQ(run(Req().contact("<sip:alice@192.0.2.1;ob>" + inst + ";reg-id=3").callId("f3")).status,
            200);
  ASSERT_EQ(bindings_.size(), 1u);
  EXPECT_EQ(bindings_[0].reg_id, 3u);
  // reg-id without an instance is ignored (RFC 5626 6): plain RFC 3261 rules.
  auto p = plan(Req().contact("<sip:bob@192.0.2.1>;reg-id=4"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->contacts[0].reg_id, 0u);
}

TEST_F(RegistrarTest, MaxContacts) {
  config_.max_contacts = 2;
  const auto r = run(
      Req().contact("<sip:a@192.0.2.1>").contact("<sip:a@192.0.2.2>").contact("<sip:a@192.0.2.3>"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.reason, "Too Many Contacts");
  EXPECT_TRUE(bindings_.empty());
  EXPECT_FALSE(changed_);
  ASSERT_EQ(run(Req().contact("<sip:a@192.0.2.1>").contact("<sip:a@192.0.2.2>")).status, 200);
  const auto before = bindings_;
  EXPECT_EQ(run(Req().contact("<sip:a@192.0.2.3>").seq(2)).status, 403);
  EXPECT_EQ(bindings_, before);
  // Replacing one by another keeps the count: fine.
  EXPECT_EQ(
      run(Req().contact("<sip:a@192.0.2.3>").contact("<sip:a@192.0.2.1>;expires=0").seq(3)).status,
      200);
  EXPECT_EQ(bindings_.size(), 2u);
  // A set already over the limit (the limit was lowered by a reload) can be refreshed and shrunk.
  config_.max_contacts = 1;
  EXPECT_EQ(run(Req().contact("<sip:a@192.0.2.3>").seq(4)).status, 200);
  EXPECT_EQ(bindings_.size(), 2u);
  EXPECT_EQ(run(Req().contact("<sip:a@192.0.2.4>").seq(5)).status, 403);
  EXPECT_EQ(run(Req().contact("<sip:a@192.0.2.3>;expires=0").seq(6)).status, 200);
  EXPECT_EQ(bindings_.size(), 1u);
}

TEST_F(RegistrarTest, NoContactIsAQuery) {
  ASSERT_EQ(run(Req().contact("<sip:a@192.0.2.1>;q=0.5").contact("<sip:a@192.0.2.2>")).status, 200);
  const auto before = bindings_;
  auto p = plan(Req().seq(2).header("Expires: 0"));  // Expires alone changes nothing
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->isQuery());
  const auto r = applyRegister(*p, bindings_, kNow + 600, config_, changed_);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(changed_);
  EXPECT_EQ(bindings_, before);
  EXPECT_EQ(values(r, "Contact"),
            (std::vector<std::string>{"<sip:a@192.0.2.2>;expires=3000",
                                      "<sip:a@192.0.2.1>;q=0.5;expires=3000"}));
  EXPECT_EQ(values(r, "Date"), std::vector<std::string>{"Tue, 14 Nov 2023 22:23:20 GMT"});
  // A query with the Call-ID and CSeq of the last REGISTER is no update: never out of order.
  EXPECT_EQ(run(Req()).status, 200);
}

TEST_F(RegistrarTest, SameContactTwiceInOneRequestIsOneBinding) {
  const auto r = run(Req().contact("<sip:a@192.0.2.1>;expires=100").contact("<sip:a@192.0.2.1>"));
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(bindings_.size(), 1u);
  EXPECT_EQ(bindings_[0].expires, kNow + 3600);  // the last one wins
  // ... and a Contact registered then removed in the same request is gone.
  EXPECT_EQ(
      run(Req().contact("<sip:b@192.0.2.1>").contact("<sip:b@192.0.2.1>;expires=0").seq(2)).status,
      200);
  EXPECT_EQ(contactsOf(), std::vector<std::string>{"sip:a@192.0.2.1"});
}

// Found by the fuzzer (fuzz/corpus/registrar_request/regress-later-contact-removes-earlier):
// Contacts apply in order, so a later removal that matches an earlier Contact of the same request
// (here an instance's Contact with the same URI) undoes it, without the CSeq rule.
TEST_F(RegistrarTest, LaterContactCanRemoveAnEarlierOneOfTheSameRequest) {
  const auto r = run(Req()
                         .contact("<sip:alice@192.0.2.1;ob>;reg-id=1")
                         .contact("<sip:alice@192.0.2.1;ob>;+sip.instance=\"<urn:uuid:1>\";"
                                  "reg-id=2;expires=0")
                         .callId("flow1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(bindings_.empty());
  EXPECT_FALSE(changed_);
  EXPECT_TRUE(values(r, "Contact").empty());
}

TEST_F(RegistrarTest, ExpiredBindingsPassedInAreDropped) {
  ASSERT_EQ(run(Req().contact("<sip:a@192.0.2.1>;expires=60")).status, 200);
  ASSERT_EQ(run(Req().contact("<sip:a@192.0.2.2>").seq(2)).status, 200);
  // 60 s later the first has expired: a store would not hand it over; if it does, it goes.
  const auto r = run(Req().contact("<sip:a@192.0.2.3>").seq(3), kNow + 60);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(contactsOf(), (std::vector<std::string>{"sip:a@192.0.2.3", "sip:a@192.0.2.2"}));
}

TEST_F(RegistrarTest, ExternalSourceIsRecorded) {
  source_ = {"tls:203.0.113.5:5061", true, ""};
  ASSERT_EQ(run(Req().contact("<sip:a@203.0.113.5:5061;transport=tls>")).status, 200);
  EXPECT_TRUE(bindings_[0].external);
  EXPECT_EQ(bindings_[0].received, "tls:203.0.113.5:5061");
  EXPECT_EQ(bindings_[0].user_agent, "");
}

TEST(RegistrarValues, ContactValue) {
  struct Case {
    std::string contact;
    std::uint16_t q;
    location::UnixSeconds expires;
    std::string instance;
    std::uint32_t reg_id;
    std::string expected;
  };
  const Case cases[] = {
      {"sip:a@h", 1000, kNow + 60, "", 0, "<sip:a@h>;expires=60"},
      {"sip:a@h", 500, kNow + 60, "", 0, "<sip:a@h>;q=0.5;expires=60"},
      {"sip:a@h", 250, kNow + 60, "", 0, "<sip:a@h>;q=0.25;expires=60"},
      {"sip:a@h", 125, kNow + 60, "", 0, "<sip:a@h>;q=0.125;expires=60"},
      {"sip:a@h", 1, kNow + 60, "", 0, "<sip:a@h>;q=0.001;expires=60"},
      {"sip:a@h", 0, kNow + 60, "", 0, "<sip:a@h>;q=0;expires=60"},
      {"sip:a@h", 1000, kNow - 5, "", 0, "<sip:a@h>;expires=0"},  // never negative
      {"sip:a@h;transport=tcp", 700, kNow + 1, "<urn:uuid:1>", 0,
       "<sip:a@h;transport=tcp>;q=0.7;expires=1;+sip.instance=\"<urn:uuid:1>\""},
      {"sip:a@h", 1000, kNow + 3600, "<urn:uuid:1>", 2,
       "<sip:a@h>;expires=3600;+sip.instance=\"<urn:uuid:1>\";reg-id=2"},
      {"sip:a@h", 1000, kNow + 1, "a\"b\\c", 0,
       "<sip:a@h>;expires=1;+sip.instance=\"a\\\"b\\\\c\""},
      {"tel:+15551234", 1000, kNow + 1, "", 0, "<tel:+15551234>;expires=1"},
  };
  for (const Case& c : cases) {
    location::Binding b;
    b.contact = c.contact;
    b.q = c.q;
    b.expires = c.expires;
    b.instance = c.instance;
    b.reg_id = c.reg_id;
    EXPECT_EQ(contactValue(b, kNow), c.expected);
  }
}

TEST(RegistrarValues, HttpDate) {
  const std::pair<location::UnixSeconds, std::string> cases[] = {
      {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
      {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
      {1289690940, "Sat, 13 Nov 2010 23:29:00 GMT"},  // RFC 3261 20.17's example
      {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
      {kNow, "Tue, 14 Nov 2023 22:13:20 GMT"},
      {4102444800, "Fri, 01 Jan 2100 00:00:00 GMT"},
      {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
  };
  for (const auto& [t, text] : cases) {
    EXPECT_EQ(httpDate(t), text) << t;
  }
}

TEST(RegistrarValues, SameUri) {
  struct Case {
    std::string a;
    std::string b;
    bool same;
  };
  const Case cases[] = {
      {"sip:alice@192.0.2.1", "sip:alice@192.0.2.1", true},
      {"SIP:alice@EXAMPLE.com", "sip:alice@example.COM", true},    // scheme and host
      {"sip:Alice@example.com", "sip:alice@example.com", false},   // user is case-sensitive
      {"sip:%61lice@example.com", "sip:alice@example.com", true},  // after unescaping
      {"sip:a:pw@h", "sip:a:pw@h", true},
      {"sip:a:pw@h", "sip:a:PW@h", false},
      {"sip:a:pw@h", "sip:a@h", false},
      {"sip:a@h", "sips:a@h", false},
      {"sip:a@h:5060", "sip:a@h:5060", true},
      {"sip:a@h", "sip:a@h:5060", false},  // 19.1.4: an omitted port is not the default port
      {"sips:a@h", "sips:a@h:5061", false},
      {"sip:a@h:5060", "sip:a@h:5070", false},
      {"sip:a@h;transport=tcp", "sip:a@h;TRANSPORT=TCP", true},
      {"sip:a@h;transport=tcp", "sip:a@h", false},
      {"sip:a@h;transport=tcp", "sip:a@h;transport=udp", false},
      {"sip:a@h;user=phone", "sip:a@h", false},
      {"sip:a@h;method=INVITE", "sip:a@h;method=BYE", false},
      {"sip:a@h;ttl=1", "sip:a@h", false},
      {"sip:a@h;maddr=239.0.0.1", "sip:a@h;maddr=239.0.0.1", true},
      {"sip:a@h;maddr=239.0.0.1", "sip:a@h", false},
      {"sip:a@h;rinstance=1", "sip:a@h;rinstance=2", true},  // other parameters are ignored
      {"sip:a@h;ob", "sip:a@h", true},
      {"sip:a@h;lr;foo=bar", "sip:a@h;foo=baz", true},
      {"sip:a@h?subject=x", "sip:a@h?subject=x", true},
      {"sip:a@h?subject=x", "sip:a@h", false},
      {"sip:a@[2001:db8::1]:5060", "sip:a@[2001:DB8::1]:5060", true},
      {"tel:+1-555-1234", "tel:+15551234", true},
      {"tel:+15551234", "sip:+15551234@h", false},
      {"mailto:a@example.com", "mailto:a@example.com", true},
      {"not a uri", "not a uri", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(sameUri(c.a, c.b), c.same) << c.a << " vs " << c.b;
    EXPECT_EQ(sameUri(c.b, c.a), c.same) << c.b << " vs " << c.a;
  }
}

}  // namespace
}  // namespace sipedge::b2bua
