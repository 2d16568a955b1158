// RFC 4475 (SIP torture test messages), byte-exact from the RFC's archive, each with the outcome
// the RFC expects of an element that parses and validates what it receives.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sipedge/sip/message.h"

namespace sipedge::sip {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Row {
  std::string name;
  std::string section;
  std::string expect;
  std::string status;
};

std::vector<Row> manifest() {
  std::vector<Row> rows;
  std::ifstream in(fs::path(SIPEDGE_TORTURE_DIR) / "MANIFEST.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream ls(line);
    Row r;
    std::getline(ls, r.name, '\t');
    std::getline(ls, r.section, '\t');
    std::getline(ls, r.expect, '\t');
    std::getline(ls, r.status, '\t');
    rows.push_back(r);
  }
  return rows;
}

std::string load(const Row& r) {
  for (const char* dir : {"valid", "invalid"}) {
    const fs::path p = fs::path(SIPEDGE_TORTURE_DIR) / dir / (r.name + ".dat");
    if (fs::exists(p)) {
      return readFile(p);
    }
  }
  ADD_FAILURE() << "no file for " << r.name;
  return {};
}

// What sipedge does with each message. `parse`: the error parseMessage returns (nullopt: it
// parses); `check`: the error validate() returns; `addressable`: whether a 400 (or 505) can be
// sent back. Every manifest row must be listed here, so that nothing is skipped silently.
struct Expected {
  std::optional<ParseErrorCode> parse;
  std::optional<ParseErrorCode> check;
  bool addressable = false;
};

const std::map<std::string, Expected>& expectations() {
  using C = ParseErrorCode;
  static const std::map<std::string, Expected> table = {
      // 3.1.1 valid
      {"wsinv", {}},
      {"intmeth", {}},
      {"esc01", {}},
      {"escnull", {}},
      {"esc02", {}},
      {"lwsdisp", {}},
      {"longreq", {}},
      {"dblreq", {}},
      {"semiuri", {}},
      {"transports", {}},
      {"mpart01", {}},
      {"unreason", {}},
      {"noreason", {}},
      // 3.1.2 invalid: rejected, and answerable with 400 when a request carries what a
      // response needs.
      {"badinv01", {C::BadVia, {}, true}},
      {"clerr", {C::BodyTruncated, {}, true}},
      {"ncl", {C::BadContentLength, {}, true}},
      {"scalar02", {C::BadCSeq, {}, true}},
      {"scalarlg", {C::BadCSeq, {}, false}},  // a response: discarded
      {"quotbal", {C::BadQuotedString, {}, true}},
      {"ltgtruri", {C::BadRequestUri, {}, true}},
      {"lwsruri", {C::BadStartLine, {}, true}},
      {"lwsstart", {C::BadStartLine, {}, true}},
      {"trws", {C::BadStartLine, {}, true}},
      {"escruri", {C::BadRequestUri, {}, true}},
      // The RFC asks elements not to reject a bad Date unless they interpret it; sipedge
      // never does, so it accepts the message (the RFC's liberal option).
      {"baddate", {}},
      {"regbadct", {C::BadNameAddr, {}, true}},
      {"badaspec", {C::BadUri, {}, true}},
      // The archive's copy lacks the empty line after the headers: the header section never
      // ends, so there is nothing to answer.
      {"baddn", {C::HeaderSectionIncomplete, {}, false}},
      {"badvers", {{}, C::BadVersion, true}},  // 505
      {"mismatch01", {{}, C::CSeqMethodMismatch, true}},
      {"mismatch02", {{}, C::CSeqMethodMismatch, true}},
      {"bigcode", {C::BadStatusCode, {}, false}},
      // 3.2 / 3.3 / 3.4: parse; semantics decided above the parser.
      {"badbranch", {}},
      {"insuf", {{}, C::MissingHeader, false}},
      {"unkscm", {}},
      {"novelsc", {}},
      {"unksm2", {}},
      {"bext01", {}},
      {"invut", {}},
      {"regaut01", {}},
      {"multi01", {{}, C::DuplicateHeader, true}},
      {"mcl01", {C::DuplicateHeader, {}, true}},
      {"bcast", {}},
      {"zeromf", {}},
      {"cparam01", {}},
      {"cparam02", {}},
      {"regescrt", {}},
      {"sdp01", {}},
      {"inv2543", {}},
  };
  return table;
}

TEST(TortureTest, ManifestAndExpectationsCoverEachOther) {
  const auto rows = manifest();
  ASSERT_EQ(rows.size(), 49u);
  std::set<std::string> names;
  for (const Row& r : rows) {
    names.insert(r.name);
    EXPECT_TRUE(expectations().count(r.name)) << r.name << " has no expectation";
  }
  for (const auto& [name, e] : expectations()) {
    EXPECT_TRUE(names.count(name)) << name << " is not in the manifest";
  }
}

class TortureMessageTest : public testing::TestWithParam<Row> {};

TEST_P(TortureMessageTest, OutcomeMatchesTheRfc) {
  const Row& row = GetParam();
  const Expected& want = expectations().at(row.name);
  const std::string bytes = load(row);
  auto msg = parseMessage(bytes);
  if (want.parse) {
    ASSERT_FALSE(msg.has_value()) << row.name << " parsed but RFC 4475 " << row.section
                                  << " says reject";
    EXPECT_EQ(msg.error().code, *want.parse) << row.name << ": " << msg.error().describe();
    EXPECT_EQ(msg.error().addressable, want.addressable) << row.name;
    EXPECT_LE(msg.error().offset, bytes.size());
    // A tolerant parse still gives the headers a 400 copies, when they are there.
    if (want.addressable) {
      ParseOptions tolerant;
      tolerant.tolerant = true;
      auto t = parseMessage(bytes, tolerant);
      ASSERT_TRUE(t.has_value()) << row.name;
      EXPECT_TRUE(t->firstError().has_value());
      EXPECT_NE(t->find(HeaderId::Via), nullptr);
      EXPECT_NE(t->find(HeaderId::CallId), nullptr);
    }
    return;
  }
  ASSERT_TRUE(msg.has_value()) << row.name << ": " << msg.error().describe();
  auto v = validate(*msg);
  if (want.check) {
    ASSERT_FALSE(v.has_value()) << row.name;
    EXPECT_EQ(v.error().code, *want.check) << row.name << ": " << v.error().describe();
    EXPECT_EQ(v.error().addressable, want.addressable) << row.name;
  } else {
    EXPECT_TRUE(v.has_value()) << row.name << ": " << v.error().describe();
  }
  // An unmodified message serializes to the bytes it was parsed from (datagram semantics: octets
  // beyond Content-Length are not part of the message).
  const std::string out = msg->serialize();
  const std::size_t header_len = out.size() - msg->body().size();
  if (!msg->contentLength() || header_len + *msg->contentLength() == bytes.size()) {
    EXPECT_EQ(out, bytes) << row.name;
  } else {
    EXPECT_EQ(out, bytes.substr(0, out.size())) << row.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc4475, TortureMessageTest, testing::ValuesIn(manifest()),
                         [](const testing::TestParamInfo<Row>& info) { return info.param.name; });

Message parseNamed(const std::string& name) {
  auto m = parseMessage(load(Row{name, "", "", ""}));
  EXPECT_TRUE(m.has_value()) << name;
  return std::move(*m);
}

TEST(TortureDetailTest, Esc02PercentIsNotAnEscapeInMethodsOrHeaderNames) {
  const Message m = parseNamed("esc02");
  EXPECT_EQ(m.method(), Method::Unknown);
  EXPECT_EQ(m.methodText(), "RE%47IST%45R");
  EXPECT_EQ(m.contacts().size(), 2u);  // C%6Fntact is an unknown header
  EXPECT_NE(m.find("C%6Fntact"), nullptr);
}

TEST(TortureDetailTest, EscnullKeepsBothNulContactsDistinct) {
  const Message m = parseNamed("escnull");
  ASSERT_EQ(m.contacts().size(), 2u);
  EXPECT_EQ(m.contacts()[0].uri.user, "%00");
  EXPECT_EQ(m.contacts()[1].uri.user, "%00%00");
  EXPECT_FALSE(uriEquivalent(m.contacts()[0].uri, m.contacts()[1].uri));
}

TEST(TortureDetailTest, SemiuriUserPartHoldsTheSemicolon) {
  const Message m = parseNamed("semiuri");
  EXPECT_EQ(m.requestUri().user, "user;par=u%40example.net");
  EXPECT_EQ(m.requestUri().host, "example.com");
  EXPECT_TRUE(m.requestUri().params.empty());
}

TEST(TortureDetailTest, DblreqIgnoresOctetsAfterContentLength) {
  const Message m = parseNamed("dblreq");
  EXPECT_EQ(m.method(), Method::Register);
  EXPECT_TRUE(m.body().empty());
  EXPECT_EQ(m.serialize().find("INVITE"), std::string::npos);
}

TEST(TortureDetailTest, WsinvFoldingAndWhitespace) {
  const Message m = parseNamed("wsinv");
  ASSERT_EQ(m.vias().size(), 3u);
  EXPECT_EQ(m.vias()[1].transport, "TCP");
  EXPECT_EQ(m.vias()[2].branch, "z9hG4bK30239");
  EXPECT_EQ(m.maxForwards(), 68u);
  EXPECT_EQ(m.cseq()->number, 9u);
  EXPECT_EQ(m.from()->displayName(), "J Rosenberg \\\"");
  EXPECT_EQ(m.to()->tag, "1918181833n");
  EXPECT_EQ(m.contacts()[0].qMilli(), 330);
  const Header* nf = m.find("NewFangledHeader");
  ASSERT_NE(nf, nullptr);
  EXPECT_EQ(nf->value, "newfangled value continued newfangled value");
  EXPECT_EQ(m.find("UnknownHeaderWithUnusualValue")->value, ";;,,;;,;");
}

TEST(TortureDetailTest, LongreqAndTransports) {
  EXPECT_EQ(parseNamed("longreq").vias().size(), 34u);
  const Message t = parseNamed("transports");
  ASSERT_EQ(t.vias().size(), 5u);
  EXPECT_EQ(t.vias()[3].transport, "UNKNOWN");
}

TEST(TortureDetailTest, ReasonPhrases) {
  EXPECT_EQ(parseNamed("noreason").reasonPhrase(), "");
  EXPECT_EQ(parseNamed("unreason").reasonPhrase().substr(0, 14), "= 2**3 * 5**2 ");
}

TEST(TortureDetailTest, ContactParameterPlacement) {
  EXPECT_TRUE(parseNamed("cparam01").contacts()[0].uri.params.empty());
  EXPECT_EQ(parseNamed("cparam02").contacts()[0].uri.param("unknownparam"), "");
  EXPECT_EQ(parseNamed("regescrt").contacts()[0].uri.headers, "Route=%3Csip:sip.example.com%3E");
}

TEST(TortureDetailTest, NonSipUrisParse) {
  EXPECT_EQ(parseNamed("unkscm").requestUri().scheme, UriScheme::Other);
  EXPECT_EQ(parseNamed("novelsc").requestUri().scheme_text, "soap.beep");
  const Message m = parseNamed("unksm2");
  EXPECT_EQ(m.to()->uri.scheme_text, "isbn");
  EXPECT_EQ(m.from()->uri.scheme_text, "http");
}

TEST(TortureDetailTest, Inv2543BodyIsTheRestOfTheDatagram) {
  const Message m = parseNamed("inv2543");
  EXPECT_FALSE(m.contentLength().has_value());
  EXPECT_FALSE(m.maxForwards().has_value());
  EXPECT_TRUE(m.vias()[0].branch.empty());
  EXPECT_FALSE(m.body().empty());
}

TEST(TortureDetailTest, MpartBodyWithNulBytesIsFramedByLength) {
  const Message m = parseNamed("mpart01");
  EXPECT_EQ(m.body().size(), *m.contentLength());
  EXPECT_NE(m.body().find('\0'), std::string_view::npos);
}

TEST(TortureDetailTest, TolerantParseOfScalar02KeepsTheRawCSeqForThe400) {
  ParseOptions o;
  o.tolerant = true;
  auto m = parseMessage(load(Row{"scalar02", "", "", ""}), o);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->firstError()->code, ParseErrorCode::BadCSeq);
  EXPECT_FALSE(m->cseq().has_value());
  const Header* cseq = m->find(HeaderId::CSeq);
  ASSERT_NE(cseq, nullptr);
  EXPECT_FALSE(cseq->valid);
  EXPECT_EQ(cseq->value, "36893488147419103232 REGISTER");
  EXPECT_EQ(m->firstError()->reason(), "Malformed CSeq: sequence number out of range");
}

}  // namespace
}  // namespace sipedge::sip
