#include <gtest/gtest.h>

#include "../support/messages.h"
#include "sipedge/sip/message.h"

namespace sipedge::sip {
namespace {

using sipedge::testing::crlf;
using sipedge::testing::kInvite;
using sipedge::testing::kOk;

Message parseOk(std::string_view bytes, const ParseOptions& o = {}) {
  auto m = parseMessage(bytes, o);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().describe());
  return std::move(*m);
}

ParseError parseErr(std::string_view bytes, const ParseOptions& o = {}) {
  auto m = parseMessage(bytes, o);
  EXPECT_FALSE(m.has_value());
  return m ? ParseError{} : m.error();
}

TEST(ParserTest, RequestTypedHeaders) {
  const Message m = parseOk(kInvite);
  EXPECT_TRUE(m.isRequest());
  EXPECT_EQ(m.method(), Method::Invite);
  EXPECT_EQ(m.requestUri().user, "bob");
  EXPECT_EQ(m.version(), "SIP/2.0");
  ASSERT_EQ(m.vias().size(), 2u);
  EXPECT_EQ(m.vias()[0].branch, "z9hG4bK74bf9");
  EXPECT_TRUE(m.vias()[0].rport);
  EXPECT_EQ(m.vias()[1].received, "127.0.0.2");
  EXPECT_EQ(m.maxForwards(), 70u);
  ASSERT_EQ(m.routes().size(), 2u);
  EXPECT_EQ(m.routes()[1].uri.host, "p2.example.com");
  EXPECT_EQ(m.from()->tag, "9fxced76sl");
  EXPECT_EQ(m.from()->displayName(), "Alice");
  EXPECT_TRUE(m.to()->tag.empty());
  EXPECT_EQ(m.callId(), "3848276298220188511@127.0.0.1");
  EXPECT_EQ(m.cseq()->number, 2u);
  EXPECT_EQ(m.contacts()[0].expires(), 300u);
  EXPECT_EQ(m.contacts()[0].uri.param("transport"), "udp");
  EXPECT_EQ(m.recordRoutes()[0].uri.host, "edge.example.net");
  EXPECT_EQ(m.contentLength(), 5u);
  EXPECT_EQ(m.body(), "v=0\r\n");
  EXPECT_EQ(m.find("x-custom")->value, "kept   as is");
  EXPECT_EQ(m.headers().size(), 13u);
  EXPECT_TRUE(validate(m).has_value());
}

TEST(ParserTest, ResponseStatusLine) {
  const Message m = parseOk(kOk);
  EXPECT_TRUE(m.isResponse());
  EXPECT_EQ(m.statusCode(), 200);
  EXPECT_EQ(m.reasonPhrase(), "OK");
  EXPECT_EQ(m.vias()[0].rport_value, 5060);
  EXPECT_EQ(m.to()->tag, "8321234356");
  EXPECT_TRUE(validate(m).has_value());
}

TEST(ParserTest, CompactFormsAndFolding) {
  const Message m =
      parseOk(crlf("OPTIONS sip:bob@example.com SIP/2.0\n"
                   "v: SIP/2.0/UDP 127.0.0.1\n"
                   " ;branch=z9hG4bK1\n"
                   "f: <sip:a@example.com>;tag=1\n"
                   "t: <sip:b@example.com>\n"
                   "i: abc@127.0.0.1\n"
                   "CSeq: 1\n"
                   "\tOPTIONS\n"
                   "m: <sip:a@127.0.0.1>\n"
                   "k: path, outbound\n"
                   "l: 0\n"
                   "\n"));
  EXPECT_EQ(m.vias()[0].branch, "z9hG4bK1");
  EXPECT_EQ(m.cseq()->method, Method::Options);
  EXPECT_EQ(m.callId(), "abc@127.0.0.1");
  EXPECT_EQ(m.contacts().size(), 1u);
  EXPECT_EQ(m.find(HeaderId::Supported)->value, "path, outbound");
  EXPECT_EQ(m.find(HeaderId::Supported)->name, "k");
  EXPECT_TRUE(validate(m).has_value());
  // Unmodified, the folded message serializes byte for byte.
  EXPECT_EQ(m.serialize(), crlf("OPTIONS sip:bob@example.com SIP/2.0\n"
                                "v: SIP/2.0/UDP 127.0.0.1\n"
                                " ;branch=z9hG4bK1\n"
                                "f: <sip:a@example.com>;tag=1\n"
                                "t: <sip:b@example.com>\n"
                                "i: abc@127.0.0.1\n"
                                "CSeq: 1\n"
                                "\tOPTIONS\n"
                                "m: <sip:a@127.0.0.1>\n"
                                "k: path, outbound\n"
                                "l: 0\n"
                                "\n"));
}

TEST(ParserTest, ContactStar) {
  const Message m = parseOk(crlf(
      "REGISTER sip:example.com SIP/2.0\n"
      "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK2\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:a@example.com>\nCall-ID: x\nCSeq: 3 REGISTER\n"
      "Contact: *\nExpires: 0\nContent-Length: 0\n\n"));
  EXPECT_TRUE(m.contactStar());
  EXPECT_TRUE(m.contacts().empty());
}

TEST(ParserTest, StartLineErrors) {
  struct Case {
    std::string text;
    ParseErrorCode code;
    std::size_t offset;
  };
  const std::string tail = crlf("Via: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: 0\n\n");
  const Case cases[] = {
      {"", ParseErrorCode::Empty, 0},
      {"INVITE\r\n" + tail, ParseErrorCode::BadStartLine, 6},
      {"INV(ITE sip:a@b SIP/2.0\r\n" + tail, ParseErrorCode::BadMethod, 0},
      {"INVITE sip:a@b SIP/2.0\n" + tail, ParseErrorCode::BadStartLine, 22},
      {"INVITE <sip:a@b> SIP/2.0\r\n" + tail, ParseErrorCode::BadRequestUri, 7},
      {"INVITE  sip:a@b SIP/2.0\r\n" + tail, ParseErrorCode::BadStartLine, 7},
      {"INVITE sip:a@b SIP/2.0 \r\n" + tail, ParseErrorCode::BadStartLine, 14},
      {"INVITE sip:a@b HTTP/1.1\r\n" + tail, ParseErrorCode::BadVersion, 15},
      {"SIP/2.0 20 OK\r\n" + tail, ParseErrorCode::BadStatusCode, 8},
      {"SIP/2.0 099 Low\r\n" + tail, ParseErrorCode::BadStatusCode, 8},
      {"SIP/2.0 700 High\r\n" + tail, ParseErrorCode::BadStatusCode, 8},
      {"SIP/2.0 200\r\n" + tail, ParseErrorCode::BadStatusCode, 8},
      {"SIP/2.0 200 O\x01K\r\n" + tail, ParseErrorCode::BadReasonPhrase, 13},
      {"SIP/2 200 OK\r\n" + tail, ParseErrorCode::BadVersion, 0},
  };
  for (const Case& c : cases) {
    const ParseError e = parseErr(c.text);
    EXPECT_EQ(e.code, c.code) << c.text << " -> " << e.describe();
    EXPECT_EQ(e.offset, c.offset) << c.text << " -> " << e.describe();
  }
}

TEST(ParserTest, HeaderErrorsNameTheHeaderAndOffset) {
  const std::string text = crlf(
      "OPTIONS sip:bob@example.com SIP/2.0\n"
      "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\n"
      "To: <sip:b@example.com>\n"
      "Call-ID: abc\n"
      "CSeq: 99999999999 OPTIONS\n"
      "Content-Length: 0\n\n");
  const ParseError e = parseErr(text);
  EXPECT_EQ(e.code, ParseErrorCode::BadCSeq);
  EXPECT_EQ(e.header, "CSeq");
  EXPECT_EQ(e.offset, text.find("99999999999"));
  EXPECT_TRUE(e.addressable);
  EXPECT_EQ(e.reason(), "Malformed CSeq: sequence number out of range");
  EXPECT_EQ(e.describe(), "error at byte " + std::to_string(e.offset) +
                              ": Malformed CSeq: sequence number out of range");
}

TEST(ParserTest, AddressabilityNeedsTheHeadersAResponseCopies) {
  // No Call-ID: a 400 cannot be built.
  const ParseError e = parseErr(
      crlf("OPTIONS sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\n"
           "From: <sip:a@example.com>;tag=1\nTo: bad<\nCSeq: 1 OPTIONS\n\n"));
  EXPECT_EQ(e.code, ParseErrorCode::BadNameAddr);
  EXPECT_FALSE(e.addressable);
  // Responses are never answered.
  EXPECT_FALSE(parseErr(crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: x<\n"
                             "To: <sip:a@b>\nCall-ID: c\nCSeq: 1 INVITE\n\n"))
                   .addressable);
}

TEST(ParserTest, MalformedHeaderLines) {
  const std::string start = "OPTIONS sip:b@example.com SIP/2.0\r\n";
  EXPECT_EQ(parseErr(start + "NoColon\r\n\r\n").code, ParseErrorCode::BadHeaderName);
  EXPECT_EQ(parseErr(start + ": empty name\r\n\r\n").code, ParseErrorCode::BadHeaderName);
  EXPECT_EQ(parseErr(start + "Bad Name: x\r\n\r\n").code, ParseErrorCode::BadHeaderName);
  EXPECT_EQ(parseErr(start + " folded-first: x\r\n\r\n").code, ParseErrorCode::BadHeaderLine);
  EXPECT_EQ(parseErr(start + "X: bare lf\n\r\n").code, ParseErrorCode::BadHeaderLine);
  EXPECT_EQ(parseErr(start + "X: no end\r\n").code, ParseErrorCode::HeaderSectionIncomplete);
  EXPECT_EQ(parseErr(start).code, ParseErrorCode::HeaderSectionIncomplete);
}

TEST(ParserTest, LimitsAreEnforced) {
  ParseOptions o;
  o.limits.max_message_bytes = 100;
  EXPECT_EQ(parseErr(kInvite, o).code, ParseErrorCode::MessageTooLarge);
  o = {};
  o.limits.max_headers = 5;
  EXPECT_EQ(parseErr(kInvite, o).code, ParseErrorCode::TooManyHeaders);
  o = {};
  o.limits.max_header_bytes = 40;
  EXPECT_EQ(parseErr(kInvite, o).code, ParseErrorCode::HeaderTooLong);
  o = {};
  o.limits.max_vias = 1;
  EXPECT_EQ(parseErr(kInvite, o).code, ParseErrorCode::TooManyVias);
  o = {};
  o.limits.max_start_line_bytes = 10;
  EXPECT_EQ(parseErr(kInvite, o).code, ParseErrorCode::StartLineTooLong);
  o = {};
  o.limits.max_body_bytes = 2;
  EXPECT_EQ(parseErr(kInvite, o).code, ParseErrorCode::BodyTooLarge);
  o = {};
  o.limits.max_header_section_bytes = 100;
  EXPECT_EQ(parseErr(kInvite, o).code, ParseErrorCode::MessageTooLarge);
}

TEST(ParserTest, DatagramContentLengthSemantics) {
  const std::string head = crlf(
      "MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\nCSeq: 1 MESSAGE\n");
  // Shorter Content-Length truncates (RFC 3261 18.3).
  EXPECT_EQ(parseOk(head + "Content-Length: 2\r\n\r\nhello").body(), "he");
  // Longer is an error on datagrams.
  EXPECT_EQ(parseErr(head + "Content-Length: 9\r\n\r\nhello").code, ParseErrorCode::BodyTruncated);
  // Absent: the body is the rest of the datagram.
  EXPECT_EQ(parseOk(head + "\r\nhello").body(), "hello");
  // On a stream the framer delivers exactly one message: a mismatch or absence is an error.
  ParseOptions stream;
  stream.datagram = false;
  EXPECT_EQ(parseErr(head + "Content-Length: 2\r\n\r\nhello", stream).code,
            ParseErrorCode::BadContentLength);
  EXPECT_EQ(parseErr(head + "\r\nhello", stream).code, ParseErrorCode::MissingContentLength);
  EXPECT_EQ(parseOk(head + "Content-Length: 5\r\n\r\nhello", stream).body(), "hello");
  // Two different Content-Length values cannot be framed (RFC 4475 3.3.9).
  EXPECT_EQ(parseErr(head + "Content-Length: 5\r\nl: 4\r\n\r\nhello").code,
            ParseErrorCode::DuplicateHeader);
}

TEST(ParserTest, TolerantParseKeepsInvalidHeadersRaw) {
  ParseOptions o;
  o.tolerant = true;
  const std::string text = crlf(
      "INVITE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\n"
      "Max-Forwards: 300\nFrom: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\n"
      "Call-ID: c\nCSeq: 1 INVITE\nContent-Length: 0\n\n");
  const Message m = parseOk(text, o);
  ASSERT_TRUE(m.firstError().has_value());
  EXPECT_EQ(m.firstError()->code, ParseErrorCode::BadMaxForwards);
  EXPECT_TRUE(m.firstError()->addressable);
  EXPECT_FALSE(m.find(HeaderId::MaxForwards)->valid);
  EXPECT_EQ(m.callId(), "c");
  EXPECT_EQ(m.serialize(), text);
  EXPECT_FALSE(validate(m).has_value());
}

TEST(ValidateTest, MandatoryHeadersDuplicatesAndCSeqMethod) {
  const std::string base = crlf(
      "BYE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\nCall-ID: c\n");
  EXPECT_TRUE(validate(parseOk(base + "CSeq: 5 BYE\r\n\r\n")).has_value());
  auto missing = validate(parseOk(base + "\r\n"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ParseErrorCode::MissingHeader);
  EXPECT_EQ(missing.error().header, "CSeq");
  EXPECT_EQ(missing.error().reason(), "Missing mandatory header (CSeq)");
  auto mismatch = validate(parseOk(base + "CSeq: 5 INVITE\r\n\r\n"));
  EXPECT_EQ(mismatch.error().code, ParseErrorCode::CSeqMethodMismatch);
  EXPECT_TRUE(mismatch.error().addressable);
  // Methods are case-sensitive: "bye" is not BYE.
  EXPECT_EQ(validate(parseOk(base + "CSeq: 5 bye\r\n\r\n")).error().code,
            ParseErrorCode::CSeqMethodMismatch);
  auto dup = validate(parseOk(base + "Call-ID: d\r\nCSeq: 5 BYE\r\n\r\n"));
  EXPECT_EQ(dup.error().code, ParseErrorCode::DuplicateHeader);
  EXPECT_EQ(dup.error().header, "Call-ID");
  auto version =
      validate(parseOk(crlf("OPTIONS sip:b@example.com SIP/3.0\nVia: SIP/3.0/UDP h\n"
                            "From: <sip:a@b>;tag=1\nTo: <sip:b@b>\nCall-ID: c\n"
                            "CSeq: 1 OPTIONS\n\n")));
  EXPECT_EQ(version.error().code, ParseErrorCode::BadVersion);
}

TEST(ErrorTest, ReasonPhrasesNeverEchoPeerBytes) {
  ParseError e;
  e.code = ParseErrorCode::BadHeaderValue;
  e.header = "X-Evil\r\nInjected: yes";
  e.detail = "bad";
  EXPECT_EQ(e.reason(), "Malformed header (X-EvilInjectedyes): bad");
  EXPECT_EQ(errorCodeName(ParseErrorCode::BadCSeq), "bad-cseq");
}

TEST(ParserTest, RegressControlCharactersInQuotedStringsAndNulInIpv6AreRefused) {
  // Found by the transport_received fuzzer: the strict parser let these through, and the
  // message modifiers (which refuse them) then failed to stamp received/rport.
  std::string quoted = crlf(
      "OPTIONS sip:a@127.0.0.1 SIP/2.0\n"
      "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1;x=\"q\x02\"\n"
      "From: <sip:b@127.0.0.1>;tag=1\nTo: <sip:a@127.0.0.1>\nCall-ID: c\nCSeq: 1 OPTIONS\n"
      "Content-Length: 0\n\n");
  EXPECT_FALSE(parseMessage(quoted, ParseOptions{}).has_value());
  std::string tab = quoted;
  tab[tab.find('\x02')] = '\t';  // HTAB is LWS, allowed in qdtext
  EXPECT_TRUE(parseMessage(tab, ParseOptions{}).has_value());
  std::string escaped = quoted;
  escaped.insert(escaped.find('\x02'), "\\");  // a quoted-pair may escape a control character
  EXPECT_TRUE(parseMessage(escaped, ParseOptions{}).has_value());
  EXPECT_FALSE(parseUri(std::string_view("sip:[::\0junk]", 13)).has_value());
  EXPECT_TRUE(parseUri("sip:[::1]").has_value());
}

}  // namespace
}  // namespace sipedge::sip
