#include "sipedge/base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

namespace sipedge::log {

namespace detail {
std::atomic<std::uint8_t> max_level{static_cast<std::uint8_t>(Level::Info)};
}  // namespace detail

namespace {

// Where records go. Shared by the writers that took it; a reconfigure installs a new one and the
// old descriptor is closed when its last writer lets go.
struct Sink {
  int fd = STDERR_FILENO;
  bool owned = false;
  Format format = Format::Text;
  ~Sink() {
    if (owned) {
      ::close(fd);
    }
  }
};

std::mutex& sinkMutex() {
  static std::mutex mutex;
  return mutex;
}

std::shared_ptr<const Sink>& sinkSlot() {
  static std::shared_ptr<const Sink> sink = std::make_shared<const Sink>();
  return sink;
}

std::shared_ptr<const Sink> currentSink() {
  std::lock_guard lock(sinkMutex());
  return sinkSlot();
}

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;  // nowhere to report a failing log
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void appendTime(std::string& out, std::int64_t unix_millis) {
  std::int64_t secs = unix_millis / 1000;
  std::int64_t millis = unix_millis % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf.data(), n);
  fmt::format_to(std::back_inserter(out), ".{:03}Z", millis);
}

// Text: control characters and backslashes escaped, everything else (UTF-8 included) as is.
void appendTextEscaped(std::string& out, std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          fmt::format_to(std::back_inserter(out), "\\x{:02x}", u);
        } else {
          out += c;
        }
    }
  }
}

// A JSON string's contents (RFC 8259). Bytes >= 0x80 are passed through: messages are UTF-8 or
// ASCII (peer-supplied text is escaped by whoever quotes it).
void appendJsonEscaped(std::string& out, std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
        } else {
          out += c;
        }
    }
  }
}

}  // namespace

std::string_view toString(Level level) {
  switch (level) {
    case Level::Error: return "error";
    case Level::Warning: return "warning";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
  }
  return "unknown";
}

std::optional<Level> parseLevel(std::string_view name) {
  for (const Level l : {Level::Error, Level::Warning, Level::Info, Level::Debug}) {
    if (name == toString(l)) {
      return l;
    }
  }
  return std::nullopt;
}

Result<void, std::string> configure(Level level, Format format, const std::string& file) {
  auto sink = std::make_shared<Sink>();
  sink->format = format;
  if (!file.empty()) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
      const int err = errno;
      return fail("cannot open log file " + file + ": " + std::strerror(err));
    }
    sink->fd = fd;
    sink->owned = true;
  }
  {
    std::lock_guard lock(sinkMutex());
    sinkSlot() = std::move(sink);
  }
  detail::max_level.store(static_cast<std::uint8_t>(level), std::memory_order_relaxed);
  return {};
}

std::string formatLine(Format format, std::int64_t unix_millis, Level level,
                       std::string_view component, std::string_view message) {
  std::string out;
  out.reserve(message.size() + component.size() + 64);
  if (format == Format::Json) {
    out += "{\"time\":\"";
    appendTime(out, unix_millis);
    out += "\",\"level\":\"";
    out += toString(level);
    out += "\",\"component\":\"";
    appendJsonEscaped(out, component);
    out += "\",\"message\":\"";
    appendJsonEscaped(out, message);
    out += "\"}\n";
  } else {
    appendTime(out, unix_millis);
    out += ' ';
    out += toString(level);
    out += ' ';
    appendTextEscaped(out, component);
    out += ": ";
    appendTextEscaped(out, message);
    out += '\n';
  }
  return out;
}

void write(Level level, std::string_view component, std::string_view message) {
  if (!enabled(level)) {
    return;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::shared_ptr<const Sink> sink = currentSink();
  writeAll(sink->fd, formatLine(sink->format, now, level, component, message));
}

}  // namespace sipedge::log
