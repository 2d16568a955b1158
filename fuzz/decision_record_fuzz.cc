// Fuzz target: the decision log's line parser and its time parser (policy/decision_record.h).
// Properties: no crash on any bytes; a line that parses writes back (toJsonLine) as a line that
// parses to the same record, and writing that record again gives the same bytes; every parsed
// string is valid UTF-8 (toJsonLine passes it through unchanged); a time that parses formats back
// to a time that parses to the same instant; parsing into a reused record (the reader's way)
// agrees with parsing into a fresh one.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sipedge/policy/decision_record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sipedge::policy;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto record = parseJsonLine(input)) {
    const std::string line = toJsonLine(*record);
    FUZZ_CHECK(!line.empty() && line.back() == '\n');
    FUZZ_CHECK(line.find('\n') == line.size() - 1);
    auto again = parseJsonLine(line);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *record);
    FUZZ_CHECK(toJsonLine(*again) == line);
    // Parsing into a record that still holds an earlier line's values gives the same record.
    static DecisionRecord reused;
    FUZZ_CHECK(parseJsonLine(input, reused).has_value());
    FUZZ_CHECK(reused == *record);
  } else {
    static DecisionRecord reused_bad;
    FUZZ_CHECK(!parseJsonLine(input, reused_bad).has_value());
  }

  if (auto ms = parseTime(input)) {
    const std::string text = formatTime(*ms);
    FUZZ_CHECK(text.size() == 24);
    auto back = parseTime(text);
    FUZZ_CHECK(back.has_value() && *back == *ms);
  }
  return 0;
}
