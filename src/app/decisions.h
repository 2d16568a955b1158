#pragma once

// `sipedge decisions`: reading the decision log (issue 5) back. The query library: filters, the
// order of a log's files, a fast line scanner and the summary; decisions_command.cc is the CLI.
//
// Speed: files are read in large blocks, and a line is parsed only when cheap tests on its raw
// bytes leave it a candidate: a "time" prefix in the writer's fixed format outside
// --since/--until, or the absence of every quoted --partner / --call-id / --verdict value,
// rules the line out unparsed. A line ruled out that way is not checked for well-formedness.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/policy/decision_record.h"

namespace sipedge::app {

// What a decision must match; an empty list matches everything, several values are
// alternatives. Time: since_ms <= time < until_ms.
struct DecisionFilter {
  std::optional<std::int64_t> since_ms;
  std::optional<std::int64_t> until_ms;
  std::vector<std::string> partners;
  std::vector<std::string> verdicts;
  std::vector<std::string> rules;    // exact, or a pattern where '*' matches any text
  std::vector<std::string> methods;  // case-insensitive
  std::vector<std::string> sources;  // "IP:PORT", or "IP" for any port ("[v6]" or "v6")
  std::vector<std::string> call_ids;

  bool matches(const policy::DecisionRecord& record) const;
};

// --since / --until: RFC 3339 ("2026-11-22T12:00:00Z", offsets allowed), or a span before
// `now_ms`: a number and s, m, h or d ("90s", "15m", "1h", "2d").
[[nodiscard]] Result<std::int64_t, std::string> parseWhen(std::string_view text,
                                                          std::int64_t now_ms);

// '*' matches any run of characters; everything else literally.
bool globMatch(std::string_view pattern, std::string_view text);

// The host of "IP:PORT" / "[v6]:PORT" (without brackets); the text itself when it has no port.
std::string_view sourceHost(std::string_view src);

// A log's files, oldest first: PATH.N ... PATH.1 (the numbered siblings that exist), then PATH
// when it exists. Empty when none exists.
std::vector<std::string> logFiles(const std::string& path);

// Per-line decision: the raw prefilter, then the full parse and DecisionFilter::matches.
class DecisionMatcher {
 public:
  explicit DecisionMatcher(DecisionFilter filter);

  enum class Outcome { Skipped, Matched, Malformed };
  // `line` without its '\n'. On Matched `record` holds the parsed line; on Malformed `error`
  // holds the parse error.
  Outcome match(std::string_view line, policy::DecisionRecord& record, std::string& error) const;

  const DecisionFilter& filter() const { return filter_; }

 private:
  bool prefilterRejects(std::string_view line) const;

  DecisionFilter filter_;
  std::string since_text_;  // formatTime() of the bounds: compared with the raw "time" prefix
  std::string until_text_;
  // Each group: the line must contain one of these (quoted JSON strings).
  std::vector<std::vector<std::string>> needles_;
};

// Counts by verdict and the top denied (verdict "deny" or "throttle") partners, rules and
// source hosts (the port left out: a TLS client's port changes with every connection).
class DecisionSummary {
 public:
  void add(const policy::DecisionRecord& record);
  std::uint64_t total() const { return total_; }
  const std::map<std::string, std::uint64_t>& byVerdict() const { return by_verdict_; }
  // The `n` largest counts, largest first, ties by name.
  static std::vector<std::pair<std::string, std::uint64_t>> top(
      const std::unordered_map<std::string, std::uint64_t>& counts, std::size_t n);
  const std::unordered_map<std::string, std::uint64_t>& deniedPartners() const {
    return denied_partners_;
  }
  const std::unordered_map<std::string, std::uint64_t>& deniedRules() const {
    return denied_rules_;
  }
  const std::unordered_map<std::string, std::uint64_t>& deniedSources() const {
    return denied_sources_;
  }
  std::string format(std::size_t top_n = 10) const;

 private:
  std::uint64_t total_ = 0;
  std::map<std::string, std::uint64_t> by_verdict_;
  std::unordered_map<std::string, std::uint64_t> denied_partners_;
  std::unordered_map<std::string, std::uint64_t> denied_rules_;
  std::unordered_map<std::string, std::uint64_t> denied_sources_;
};

// One line per decision for people: time, verdict, status, rule, partner, direction, transport,
// source, method, From -> To, call-id (and mapped= when the directory mapped the identity).
// Empty fields print as "-"; control characters as \xNN.
std::string formatDecisionLine(const policy::DecisionRecord& record);

// Reads one file (or a growing one, for --follow) in large blocks and hands each complete line to
// the matcher. Line numbers count from 1 per file.
class DecisionReader {
 public:
  using OnMatch = std::function<void(std::string_view line, const policy::DecisionRecord&)>;
  using OnMalformed =
      std::function<void(const std::string& file, std::uint64_t line, const std::string& error)>;

  DecisionReader(const DecisionMatcher& matcher, OnMatch on_match, OnMalformed on_malformed);

  // The whole file; a last line without '\n' counts. Error: the file cannot be opened or read.
  [[nodiscard]] Result<void, std::string> readFile(const std::string& path);

  // For --follow: reads what `fd` holds now, keeping an incomplete last line for the next call.
  // `name` names the file in warnings; start() begins a new file (line numbers from 1).
  void start(std::string name);
  [[nodiscard]] Result<void, std::string> readAvailable(int fd);
  void finish();  // the kept incomplete line, if any, as a line

 private:
  void lines(bool final);

  const DecisionMatcher& matcher_;
  OnMatch on_match_;
  OnMalformed on_malformed_;
  std::string name_;
  std::uint64_t line_no_ = 0;
  std::vector<char> buf_;
  std::size_t begin_ = 0;  // unprocessed bytes are buf_[begin_, end_)
  std::size_t end_ = 0;
  policy::DecisionRecord record_;
  std::string error_;
};

}  // namespace sipedge::app
