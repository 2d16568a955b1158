#pragma once

// sipedge's own log (not the decision log): one line per record, as text
//   2026-11-22T12:00:00.123Z warning tls: profile edge: certificate expires in 12 days
// or as JSON lines
//   {"time":"2026-11-22T12:00:00.123Z","level":"warning","component":"tls","message":"..."}
// to standard error or to a file opened with O_APPEND.
//
//   log::configure(log::Level::Info, log::Format::Text, "");  // at start, again on reload
//   log::warning("tls", "profile {}: {}", name, why);  // fmt syntax, checked at compile time
//
// - Process-wide on purpose (a deliberate exception to STYLE S22): every thread logs to the same
//   sink, and passing a logger through every constructor would buy nothing a test needs, since
//   formatLine() below is pure and the sink is a file descriptor. The pure core (sip, config,
//   policy, txn::step) never logs (S2); it returns values that its callers log.
// - Thread-safe: each record is formatted completely, then written with one write(2), so lines
//   from different threads never interleave (O_APPEND makes each write land at the end, also
//   with several processes on one file).
// - Cheap when disabled: a disabled level costs one relaxed atomic load; the arguments are not
//   formatted.
// - A record never contains a raw newline or control character: the text format escapes them as
//   \n, \t, \xNN, the JSON format as JSON escapes, so one record is always one line.
//
// base links fmt (a third-party library, like tl::expected) for the formatting templates below;
// it depends on no sipedge module. configure() takes plain values: the app maps
// config::LoggingConfig onto them.

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sipedge/base/result.h"

namespace sipedge::log {

enum class Level : std::uint8_t { Error, Warning, Info, Debug };  // each includes those before
enum class Format : std::uint8_t { Text, Json };

std::string_view toString(Level level);  // "error", "warning", "info", "debug"
std::optional<Level> parseLevel(std::string_view name);

// Sets the level, the format and the destination (empty: standard error; otherwise a file
// opened O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode 0640). When the file cannot be opened
// nothing changes and the error names the file and errno's text. Records being written by other
// threads at that moment finish on the old destination, which is closed after its last write.
[[nodiscard]] Result<void, std::string> configure(Level level, Format format,
                                                  const std::string& file);

// Whether records of `level` are written now.
inline bool enabled(Level level);

// Writes one record (when `level` is enabled), with the current UTC time.
void write(Level level, std::string_view component, std::string_view message);

// One record as it is written, newline included. Pure: the time comes in as Unix milliseconds.
std::string formatLine(Format format, std::int64_t unix_millis, Level level,
                       std::string_view component, std::string_view message);

template <typename... Args>
void error(std::string_view component, fmt::format_string<Args...> f, Args&&... args);
template <typename... Args>
void warning(std::string_view component, fmt::format_string<Args...> f, Args&&... args);
template <typename... Args>
void info(std::string_view component, fmt::format_string<Args...> f, Args&&... args);
template <typename... Args>
void debug(std::string_view component, fmt::format_string<Args...> f, Args&&... args);

// ---- implementation ------------------------------------------------------------------------

namespace detail {
// The most verbose level written, as its numeric value (read without a lock on every call).
extern std::atomic<std::uint8_t> max_level;

template <typename... Args>
void emit(Level level, std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level)) {
    write(level, component, fmt::format(f, std::forward<Args>(args)...));
  }
}
}  // namespace detail

inline bool enabled(Level level) {
  return static_cast<std::uint8_t>(level) <= detail::max_level.load(std::memory_order_relaxed);
}

template <typename... Args>
void error(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  detail::emit(Level::Error, component, f, std::forward<Args>(args)...);
}
template <typename... Args>
void warning(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  detail::emit(Level::Warning, component, f, std::forward<Args>(args)...);
}
template <typename... Args>
void info(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  detail::emit(Level::Info, component, f, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  detail::emit(Level::Debug, component, f, std::forward<Args>(args)...);
}

}  // namespace sipedge::log
