#include "sipedge/policy/decision_record.h"

#include <gtest/gtest.h>

namespace sipedge::policy {
namespace {

DecisionRecord sample() {
  DecisionRecord r;
  r.time_ms = 1795348800123;  // 2026-11-22T12:00:00.123Z
  r.id = "d-1-42";
  r.verdict = "deny";
  r.status = 403;
  r.reason = "Forbidden";
  r.rule = "partners[globex].methods";
  r.partner = "globex";
  r.direction = "inbound";
  r.transport = "tls";
  r.src = "203.0.113.7:5061";
  r.cert_subject = "CN=edge.globex.example";
  r.cert_sans = {"DNS:edge.globex.example", "URI:sip:globex.example"};
  r.cert_fingerprint = "AB:CD:EF";
  r.country = "US";
  r.method = "INVITE";
  r.call_id = "abc@host";
  r.from = "sip:a@globex.example";
  r.to = "sip:b@acme.example";
  r.ruri = "sip:b@acme.example";
  r.mapped = "js@nyc.acme.example";
  return r;
}

TEST(DecisionRecord, WritesTheDocumentedLine) {
  EXPECT_EQ(toJsonLine(sample()),
            R"({"time":"2026-11-22T12:00:00.123Z","id":"d-1-42","verdict":"deny","status":403,)"
            R"("reason":"Forbidden","rule":"partners[globex].methods","partner":"globex",)"
            R"("direction":"inbound","transport":"tls","src":"203.0.113.7:5061",)"
            R"("cert_subject":"CN=edge.globex.example",)"
            R"("cert_sans":["DNS:edge.globex.example","URI:sip:globex.example"],)"
            R"("cert_fingerprint":"AB:CD:EF","country":"US","method":"INVITE",)"
            R"("call_id":"abc@host","from":"sip:a@globex.example","to":"sip:b@acme.example",)"
            R"("ruri":"sip:b@acme.example","mapped":"js@nyc.acme.example"})"
            "\n");
}

TEST(DecisionRecord, RoundTrips) {
  const DecisionRecord r = sample();
  auto back = parseJsonLine(toJsonLine(r));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, r);

  DecisionRecord empty;
  auto e = parseJsonLine(toJsonLine(empty));
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(*e, empty);
}

TEST(DecisionRecord, EscapesControlCharactersQuotesAndBackslashes) {
  DecisionRecord r;
  r.from = std::string("a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj\x7fk", 21);
  r.call_id = std::string("nul\0here", 8);
  const std::string line = toJsonLine(r);
  EXPECT_NE(line.find(R"("from":"a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fj)"
                      "\x7f"
                      R"(k")"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("call_id":"nul\u0000here")"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto back = parseJsonLine(line);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, r);
}

TEST(DecisionRecord, EscapesEveryByteAtEveryPositionOfAWord) {
  // The writer and the parser scan eight bytes at a time: every special byte, at each position.
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f', ' ', '!', '#', '[', ']'}) {
    for (std::size_t at = 0; at < 20; ++at) {
      DecisionRecord r;
      r.from = std::string(20, 'a');
      r.from[at] = special;
      const std::string line = toJsonLine(r);
      auto back = parseJsonLine(line);
      ASSERT_TRUE(back) << back.error();
      EXPECT_EQ(back->from, r.from) << int(special) << " at " << at;
      const bool escaped = special == '"' || special == '\\' || special < 0x20;
      EXPECT_EQ(line.find("\"from\":\"" + r.from + "\",") == std::string::npos, escaped)
          << int(special) << " at " << at;
    }
  }
  for (std::size_t at = 0; at < 20; ++at) {
    DecisionRecord r;
    r.from = std::string(20, 'a');
    r.from[at] = '\x80';
    auto back = parseJsonLine(toJsonLine(r));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->from, std::string(at, 'a') + "\xEF\xBF\xBD" + std::string(19 - at, 'a'));
  }
}

TEST(DecisionRecord, PassesValidUtf8AndReplacesInvalidBytes) {
  DecisionRecord r;
  r.from = "sip:j\xC3\xBCrgen@m\xC3\xBCnchen.example \xE2\x82\xAC \xF0\x9F\x93\x9E";
  const std::string line = toJsonLine(r);
  EXPECT_NE(line.find(r.from), std::string::npos);
  auto back = parseJsonLine(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->from, r.from);

  // A stray continuation byte, a truncated sequence, an overlong '/', a surrogate, and a byte
  // that is never UTF-8: one U+FFFD per byte.
  r.from =
      "a\x80"
      "b\xC3"
      "c\xC0\xAF"
      "d\xED\xA0\x80"
      "e\xFF";
  const std::string fffd = "\xEF\xBF\xBD";
  const std::string want =
      "a" + fffd + "b" + fffd + "c" + fffd + fffd + "d" + fffd + fffd + fffd + "e" + fffd;
  auto replaced = parseJsonLine(toJsonLine(r));
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->from, want);
  // The reader does the same to raw bytes another writer left.
  auto raw = parseJsonLine("{\"time\":\"2026-01-01T00:00:00Z\",\"from\":\"a\x80\"}");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->from, "a" + fffd);
}

TEST(DecisionRecord, ParsesEscapesAnyKeyOrderAndUnknownKeys) {
  auto r = parseJsonLine(
      R"( { "partner" : "g\u00fcnter" , "extra": {"a":[1,2.5e3,true,false,null,{"b":[]}]},)"
      R"( "time":"2026-11-22T13:00:00.5+01:00", "status": -1, "cert_sans": [ ],)"
      R"( "from":"\ud83d\udcde\/", "to":"\ud800x" , "more":[] } )"
      "\n");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->partner, "g\xC3\xBCnter");
  EXPECT_EQ(r->time_ms, 1795348800500);
  EXPECT_EQ(r->status, -1);
  EXPECT_TRUE(r->cert_sans.empty());
  EXPECT_EQ(r->from, "\xF0\x9F\x93\x9E/");
  EXPECT_EQ(r->to, "\xEF\xBF\xBDx");  // a lone surrogate
}

TEST(DecisionRecord, BadInputNamesTheByteOffset) {
  const auto err = [](std::string_view line) {
    auto r = parseJsonLine(line);
    return r ? std::string("parsed") : r.error();
  };
  EXPECT_EQ(err(""), "at byte 0: expected '{'");
  EXPECT_EQ(err("[]"), "at byte 0: expected '{'");
  EXPECT_EQ(err("{}"), "at byte 0: no \"time\" key");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z")"), "at byte 30: expected ',' or '}'");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z",})"), "at byte 31: expected a key (a string)");
  EXPECT_EQ(err(R"({"time":"2026-13-22T12:00:00Z"})"),
            "at byte 14: \"time\": expected a month 01-12 then '-'");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","status":"403"})"),
            "at byte 40: \"status\": expected an integer");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","status":4.5})"),
            "at byte 40: \"status\": expected an integer");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","status":99999999999})"),
            "at byte 40: \"status\": integer out of range");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","from":5})"),
            "at byte 38: \"from\": expected a string");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","cert_sans":"x"})"),
            "at byte 43: \"cert_sans\": expected an array of strings");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","from":"abc)"),
            "at byte 42: \"from\": unterminated string");
  EXPECT_EQ(err("{\"time\":\"2026-11-22T12:00:00Z\",\"from\":\"a\tb\"}"),
            "at byte 40: \"from\": control character in a string (must be escaped)");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","from":"\x"})"),
            "at byte 39: \"from\": bad escape in a string");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","from":"\u12"})"),
            "at byte 39: \"from\": bad \\u escape (expected four hex digits)");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","x":[1,}]})"),
            "at byte 38: \"x\": expected a value");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z","x":{"a":1]})"),
            "at byte 41: \"x\": expected ',' or '}'");
  EXPECT_EQ(err(R"({"time":"2026-11-22T12:00:00Z"} x)"),
            "at byte 32: unexpected text after the object");
  EXPECT_EQ(err(std::string((1 << 20) + 1, ' ')), "at byte 1048576: line longer than 1 MiB");
}

TEST(DecisionRecord, DeepNestingInAnUnknownKeyDoesNotRecurse) {
  std::string line = R"({"time":"2026-11-22T12:00:00Z","deep":)";
  line += std::string(100000, '[') + std::string(100000, ']') + "}";
  auto r = parseJsonLine(line);
  ASSERT_TRUE(r) << r.error();
}

TEST(DecisionRecordTime, FormatsRfc3339WithMilliseconds) {
  EXPECT_EQ(formatTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatTime(1795348800123), "2026-11-22T12:00:00.123Z");
  EXPECT_EQ(formatTime(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(formatTime(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(formatTime(INT64_MIN), "0000-01-01T00:00:00.000Z");  // clamped
  EXPECT_EQ(formatTime(INT64_MAX), "9999-12-31T23:59:59.999Z");
}

TEST(DecisionRecordTime, ParsesZuluOffsetsAndFractions) {
  EXPECT_EQ(parseTime("2026-11-22T12:00:00.123Z").value(), 1795348800123);
  EXPECT_EQ(parseTime("2026-11-22T12:00:00Z").value(), 1795348800000);
  EXPECT_EQ(parseTime("2026-11-22t12:00:00z").value(), 1795348800000);
  EXPECT_EQ(parseTime("2026-11-22T12:00:00.1Z").value(), 1795348800100);
  EXPECT_EQ(parseTime("2026-11-22T12:00:00.123456789Z").value(), 1795348800123);
  EXPECT_EQ(parseTime("2026-11-22T13:30:00+01:30").value(), 1795348800000);
  EXPECT_EQ(parseTime("2026-11-22T07:00:00-05:00").value(), 1795348800000);
  EXPECT_EQ(parseTime("1969-12-31T23:59:59.999Z").value(), -1);
  for (const std::int64_t ms : {0LL, 1795348800123LL, -86400001LL, 253402300799999LL}) {
    EXPECT_EQ(parseTime(formatTime(ms)).value(), ms);
  }
}

TEST(DecisionRecordTime, RejectsBadTimes) {
  EXPECT_EQ(parseTime("").error(), "at byte 0: expected YYYY-");
  EXPECT_EQ(parseTime("2026-02-29T00:00:00Z").error(), "at byte 8: expected a day of that month");
  EXPECT_EQ(parseTime("2026-11-22 24:00:00Z").error(),
            "at byte 11: expected an hour 00-23 then ':'");
  EXPECT_EQ(parseTime("2026-11-22T12:00:00").error(),
            "at byte 19: expected 'Z' or an offset +HH:MM");
  EXPECT_EQ(parseTime("2026-11-22T12:00:00.Z").error(), "at byte 20: expected digits after '.'");
  EXPECT_EQ(parseTime("2026-11-22T12:00:00+1:00").error(), "at byte 19: expected an offset +HH:MM");
  EXPECT_EQ(parseTime("2026-11-22T12:00:00Zx").error(),
            "at byte 20: unexpected text after the time");
  EXPECT_EQ(parseTime("0000-01-01T00:00:00+00:01").error(),
            "at byte 0: time out of range (years 0000-9999 in UTC)");
}

}  // namespace
}  // namespace sipedge::policy
