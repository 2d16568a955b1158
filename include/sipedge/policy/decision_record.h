#pragma once

// The decision log's record (issue 5): one per policy decision, allow and deny, written as one
// JSON object per line by ops::DecisionLog and read back by `sipedge decisions`. Pure: the JSON
// text is produced and parsed here, so the writer and the reader cannot disagree.
//
// Line format (keys in this order; strings JSON-escaped; absent values are empty strings or
// empty arrays, never missing keys):
//   {"time":"2026-11-22T12:00:00.123Z","id":"...","verdict":"deny","status":403,
//    "reason":"Forbidden","rule":"partners[globex].methods","partner":"globex",
//    "direction":"inbound","transport":"tls","src":"203.0.113.7:5061",
//    "cert_subject":"CN=edge.globex.example","cert_sans":["DNS:edge.globex.example"],
//    "cert_fingerprint":"AB:CD:...","country":"US","method":"INVITE","call_id":"...",
//    "from":"sip:a@globex.example","to":"sip:b@acme.example","ruri":"sip:b@acme.example",
//    "mapped":"js@nyc.acme.example"}

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/result.h"

namespace sipedge::policy {

struct DecisionRecord {
  std::int64_t time_ms = 0;  // Unix time in milliseconds (UTC)
  std::string id;            // unique per process run
  std::string verdict;       // verdictName()
  int status = 0;            // 0: dropped without an answer
  std::string reason;
  std::string rule;
  std::string partner;
  std::string direction;  // directionName()
  std::string transport;  // "udp", "tcp", "tls"
  std::string src;        // "IP:PORT" ("[IPv6]:PORT")
  std::string cert_subject;
  std::vector<std::string> cert_sans;  // "DNS:name", "URI:sip:name"
  std::string cert_fingerprint;
  std::string country;
  std::string method;
  std::string call_id;
  std::string from;  // URIs as received
  std::string to;
  std::string ruri;
  std::string mapped;  // the identity the directory mapped to; empty when not mapped
  bool operator==(const DecisionRecord&) const = default;
};

// One line, '\n' included.
std::string toJsonLine(const DecisionRecord& record);

// Appends `s` as a JSON string, escaped as toJsonLine() escapes (the rules at the top of
// decision_record.cc): for sipedge's other JSON lines (`sipedge bindings --json`).
void appendJsonString(std::string& out, std::string_view s);

// Parses a line toJsonLine() wrote (the trailing '\n' optional). Keys may come in any order and
// unknown keys are skipped (newer writers); a key of the wrong type, bad JSON or a line longer
// than 1 MiB is an error naming the byte offset and what was expected.
[[nodiscard]] Result<DecisionRecord, std::string> parseJsonLine(std::string_view line);
// The same into `record`, whose strings' storage is reused: for readers of many lines. On an
// error `record` holds part of the line.
[[nodiscard]] Result<void, std::string> parseJsonLine(std::string_view line,
                                                      DecisionRecord& record);

// "2026-11-22T12:00:00.123Z" (RFC 3339, UTC, milliseconds), and back (also accepts a numeric
// offset such as "+01:00", and no fraction).
std::string formatTime(std::int64_t unix_ms);
[[nodiscard]] Result<std::int64_t, std::string> parseTime(std::string_view text);

// Where decisions go; implemented by ops::DecisionLog. record() is called from worker threads
// and must not block.
class DecisionSink {
 public:
  virtual ~DecisionSink() = default;
  virtual void record(DecisionRecord&& record) = 0;
};

}  // namespace sipedge::policy
