// The query library behind `sipedge decisions` (decisions.h).

#include "decisions.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace sipedge::app {

namespace {

constexpr std::size_t kBlock = 4 << 20;  // bytes per read(2)
constexpr std::string_view kTimePrefix = "{\"time\":\"";
constexpr std::size_t kTimeLength = 24;  // "2026-11-22T12:00:00.123Z"

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool anyEqual(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

// Whether the writer puts `value` into a line unchanged (no escaping): only then can the raw
// bytes be searched for it.
bool writtenVerbatim(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '"' || c == '\\' || u >= 0x80) {
      return false;
    }
  }
  return true;
}

bool contains(std::string_view hay, std::string_view needle) {
  return ::memmem(hay.data(), hay.size(), needle.data(), needle.size()) != nullptr;
}

std::string printable(std::string_view s) {
  if (s.empty()) {
    return "-";
  }
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// "[v6]:PORT" or "IPv4:PORT" (one colon).
bool hasPort(std::string_view src) {
  if (!src.empty() && src.front() == '[') {
    return src.find("]:") != std::string_view::npos;
  }
  const auto colon = src.find(':');
  return colon != std::string_view::npos && src.find(':', colon + 1) == std::string_view::npos;
}

bool isDenied(std::string_view verdict) {
  return verdict == "deny" || verdict == "throttle";
}

}  // namespace

// ---- filter ---------------------------------------------------------------------------------

bool globMatch(std::string_view pattern, std::string_view text) {
  // Iterative '*' matching with one backtrack point (the last star).
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

std::string_view sourceHost(std::string_view src) {
  if (!src.empty() && src.front() == '[') {
    const auto close = src.find(']');
    return close == std::string_view::npos ? src : src.substr(1, close - 1);
  }
  const auto colon = src.find(':');
  if (colon != std::string_view::npos && src.find(':', colon + 1) == std::string_view::npos) {
    return src.substr(0, colon);  // IPv4:PORT or name:PORT
  }
  return src;  // no port, or a bare IPv6 address
}

bool DecisionFilter::matches(const policy::DecisionRecord& r) const {
  if (since_ms && r.time_ms < *since_ms) {
    return false;
  }
  if (until_ms && r.time_ms >= *until_ms) {
    return false;
  }
  if (!partners.empty() && !anyEqual(partners, r.partner)) {
    return false;
  }
  if (!verdicts.empty() && !anyEqual(verdicts, r.verdict)) {
    return false;
  }
  if (!call_ids.empty() && !anyEqual(call_ids, r.call_id)) {
    return false;
  }
  if (!methods.empty() && std::none_of(methods.begin(), methods.end(), [&](const auto& m) {
        return equalsIgnoreCase(m, r.method);
      })) {
    return false;
  }
  if (!rules.empty() && std::none_of(rules.begin(), rules.end(), [&](const auto& pattern) {
        return globMatch(pattern, r.rule);
      })) {
    return false;
  }
  if (!sources.empty()) {
    const std::string_view host = sourceHost(r.src);
    if (std::none_of(sources.begin(), sources.end(), [&](const std::string& s) {
          return s == r.src || (!hasPort(s) && sourceHost(s) == host);
        })) {
      return false;
    }
  }
  return true;
}

Result<std::int64_t, std::string> parseWhen(std::string_view text, std::int64_t now_ms) {
  if (text.empty()) {
    return fail(std::string("empty time"));
  }
  const char unit = text.back();
  const std::string_view number = text.substr(0, text.size() - 1);
  if (!number.empty() &&
      std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    std::int64_t scale = 0;
    switch (unit) {
      case 's': scale = 1000; break;
      case 'm': scale = 60 * 1000; break;
      case 'h': scale = 3600 * 1000; break;
      case 'd': scale = 86400 * 1000; break;
      default: break;
    }
    if (scale != 0) {
      if (ec != std::errc() || ptr != number.data() + number.size() ||
          n > (INT64_MAX / 2) / scale) {
        return fail(fmt::format("'{}': too large", text));
      }
      return now_ms - n * scale;
    }
  }
  auto t = policy::parseTime(text);
  if (!t) {
    return fail(
        fmt::format("'{}' is neither an RFC 3339 time (2026-11-22T12:00:00Z) nor a span before now "
                    "(90s, 15m, 1h, 2d): {}",
                    text, t.error()));
  }
  return *t;
}

std::vector<std::string> logFiles(const std::string& path) {
  std::vector<std::string> files;
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::vector<std::pair<unsigned long, std::string>> rotated;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base ||
          name[base.size()] != '.') {
        continue;
      }
      const std::string_view digits = name.substr(base.size() + 1);
      unsigned long n = 0;
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec != std::errc() || ptr != digits.data() + digits.size() || digits[0] == '0') {
        continue;
      }
      rotated.emplace_back(
          n, slash == std::string::npos ? std::string(name) : dir + std::string(name));
    }
    ::closedir(d);
  }
  std::sort(rotated.begin(), rotated.end(), [](const auto& a, const auto& b) {
    return a.first > b.first;  // the highest number is the oldest
  });
  for (auto& [n, name] : rotated) {
    files.push_back(std::move(name));
  }
  if (::access(path.c_str(), F_OK) == 0) {
    files.push_back(path);
  }
  return files;
}

// ---- matcher --------------------------------------------------------------------------------

DecisionMatcher::DecisionMatcher(DecisionFilter filter) : filter_(std::move(filter)) {
  if (filter_.since_ms) {
    since_text_ = policy::formatTime(*filter_.since_ms);
  }
  if (filter_.until_ms) {
    until_text_ = policy::formatTime(*filter_.until_ms);
  }
  const auto group = [&](const std::vector<std::string>& values) {
    if (values.empty()) {
      return;
    }
    std::vector<std::string> quoted;
    for (const auto& v : values) {
      if (!writtenVerbatim(v)) {
        return;  // cannot search for it cheaply: leave it to the full check
      }
      quoted.push_back("\"" + v + "\"");
    }
    needles_.push_back(std::move(quoted));
  };
  group(filter_.call_ids);
  group(filter_.partners);
  group(filter_.verdicts);
}

bool DecisionMatcher::prefilterRejects(std::string_view line) const {
  if ((!since_text_.empty() || !until_text_.empty()) &&
      line.size() > kTimePrefix.size() + kTimeLength &&
      line.substr(0, kTimePrefix.size()) == kTimePrefix &&
      line[kTimePrefix.size() + kTimeLength] == '"' &&
      line[kTimePrefix.size() + kTimeLength - 1] == 'Z') {
    // The writer's fixed-width UTC format sorts as text in time order.
    const std::string_view t = line.substr(kTimePrefix.size(), kTimeLength);
    if (!since_text_.empty() && t < since_text_) {
      return true;
    }
    if (!until_text_.empty() && t >= until_text_) {
      return true;
    }
  }
  for (const auto& alternatives : needles_) {
    if (std::none_of(alternatives.begin(), alternatives.end(),
                     [&](const std::string& n) { return contains(line, n); })) {
      return true;
    }
  }
  return false;
}

DecisionMatcher::Outcome DecisionMatcher::match(std::string_view line,
                                                policy::DecisionRecord& record,
                                                std::string& error) const {
  if (prefilterRejects(line)) {
    return Outcome::Skipped;
  }
  auto parsed = policy::parseJsonLine(line, record);
  if (!parsed) {
    error = std::move(parsed.error());
    return Outcome::Malformed;
  }
  return filter_.matches(record) ? Outcome::Matched : Outcome::Skipped;
}

// ---- summary --------------------------------------------------------------------------------

void DecisionSummary::add(const policy::DecisionRecord& r) {
  ++total_;
  ++by_verdict_[r.verdict];
  if (isDenied(r.verdict)) {
    ++denied_partners_[r.partner.empty() ? "(none)" : r.partner];
    ++denied_rules_[r.rule.empty() ? "(none)" : r.rule];
    const std::string_view host = sourceHost(r.src);
    ++denied_sources_[host.empty() ? "(none)" : std::string(host)];
  }
}

std::vector<std::pair<std::string, std::uint64_t>> DecisionSummary::top(
    const std::unordered_map<std::string, std::uint64_t>& counts, std::size_t n) {
  std::vector<std::pair<std::string, std::uint64_t>> v(counts.begin(), counts.end());
  const auto order = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  if (v.size() > n) {
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), order);
    v.resize(n);
  } else {
    std::sort(v.begin(), v.end(), order);
  }
  return v;
}

std::string DecisionSummary::format(std::size_t top_n) const {
  std::string out = fmt::format("decisions: {}\n", total_);
  out += "by verdict:\n";
  for (const auto& [verdict, n] : by_verdict_) {
    out += fmt::format("  {:>12}  {}\n", n, printable(verdict));
  }
  const auto section = [&](std::string_view title, const auto& counts) {
    out += fmt::format("top denied {}:\n", title);
    for (const auto& [name, n] : top(counts, top_n)) {
      out += fmt::format("  {:>12}  {}\n", n, printable(name));
    }
  };
  section("partners", denied_partners_);
  section("rules", denied_rules_);
  section("sources", denied_sources_);
  return out;
}

// ---- output ---------------------------------------------------------------------------------

std::string formatDecisionLine(const policy::DecisionRecord& r) {
  std::string out =
      fmt::format("{} {} {} {} {} {} {} {} {} {} -> {} call-id={}", policy::formatTime(r.time_ms),
                  printable(r.verdict), r.status, printable(r.rule), printable(r.partner),
                  printable(r.direction), printable(r.transport), printable(r.src),
                  printable(r.method), printable(r.from), printable(r.to), printable(r.call_id));
  if (!r.mapped.empty()) {
    out += " mapped=";
    out += printable(r.mapped);
  }
  return out;
}

// ---- reader ---------------------------------------------------------------------------------

DecisionReader::DecisionReader(const DecisionMatcher& matcher, OnMatch on_match,
                               OnMalformed on_malformed)
    : matcher_(matcher),
      on_match_(std::move(on_match)),
      on_malformed_(std::move(on_malformed)),
      buf_(kBlock) {}

void DecisionReader::start(std::string name) {
  name_ = std::move(name);
  line_no_ = 0;
  begin_ = 0;
  end_ = 0;
}

void DecisionReader::lines(bool final) {
  const char* data = buf_.data();
  while (begin_ < end_) {
    const void* nl = std::memchr(data + begin_, '\n', end_ - begin_);
    std::size_t stop = 0;
    if (nl != nullptr) {
      stop = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
    } else if (final) {
      stop = end_;
    } else {
      break;
    }
    std::string_view line(data + begin_, stop - begin_);
    begin_ = nl != nullptr ? stop + 1 : stop;
    ++line_no_;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      continue;
    }
    switch (matcher_.match(line, record_, error_)) {
      case DecisionMatcher::Outcome::Skipped: break;
      case DecisionMatcher::Outcome::Matched: on_match_(line, record_); break;
      case DecisionMatcher::Outcome::Malformed: on_malformed_(name_, line_no_, error_); break;
    }
  }
}

Result<void, std::string> DecisionReader::readAvailable(int fd) {
  while (true) {
    // Keep the unprocessed tail at the front; grow for a line longer than the buffer.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) {
      buf_.resize(buf_.size() * 2);
    }
    const ssize_t n = ::read(fd, buf_.data() + end_, buf_.size() - end_);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(fmt::format("{}: read: {}", name_, std::strerror(errno)));
    }
    if (n == 0) {
      return {};
    }
    end_ += static_cast<std::size_t>(n);
    lines(false);
  }
}

void DecisionReader::finish() {
  lines(true);
  begin_ = 0;
  end_ = 0;
  if (buf_.size() > kBlock) {
    buf_.resize(kBlock);
    buf_.shrink_to_fit();
  }
}

Result<void, std::string> DecisionReader::readFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  start(path);
  auto r = readAvailable(fd);
  ::close(fd);
  finish();
  return r;
}

}  // namespace sipedge::app
