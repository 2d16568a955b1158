// `sipedge decisions`: filter, print, summarise and follow the decision log (issue 5).
//
// Exit status: 0 success (also when --follow ends by SIGINT/SIGTERM); 1 when a file could not be
// read, the configuration could not be loaded, or a line was malformed (each one is reported on
// stderr with file:line, and reading goes on); 2 for bad arguments.

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "commands.h"
#include "decisions.h"
#include "sipedge/config/config.h"

namespace sipedge::app {
namespace {

constexpr std::string_view kCommand = "sipedge decisions";

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int usageError(const std::string& message) {
  fmt::print(stderr, "{}: {}\n", kCommand, message);
  return 2;
}

// --follow: one log's current file, reopened when it is replaced (rotation) or truncated.
struct Followed {
  std::string path;
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  std::unique_ptr<DecisionReader> reader;

  ~Followed() {
    if (fd >= 0) {
      ::close(fd);
    }
  }

  bool open() {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return false;
    }
    struct stat st {};
    ::fstat(fd, &st);
    dev = st.st_dev;
    ino = st.st_ino;
    reader->start(path);
    return true;
  }

  // Reads what is new; switches to a new file at `path` after draining the old one.
  Result<void, std::string> poll() {
    if (fd < 0) {
      if (!open()) {
        return {};  // not there (yet): between a rotation's rename and the writer's create
      }
    }
    if (auto r = reader->readAvailable(fd); !r) {
      return r;
    }
    struct stat now {};
    if (::stat(path.c_str(), &now) != 0) {
      return {};  // renamed away, the new one not created yet; the old fd is drained
    }
    if (now.st_dev != dev || now.st_ino != ino) {
      // Rotated: whatever the writer appended before the rename is in the old file.
      auto r = reader->readAvailable(fd);
      reader->finish();
      ::close(fd);
      fd = -1;
      if (!r) {
        return r;
      }
      if (open()) {
        return reader->readAvailable(fd);
      }
      return {};
    }
    const off_t pos = ::lseek(fd, 0, SEEK_CUR);
    if (now.st_size < pos) {
      // Truncated in place: start over.
      ::lseek(fd, 0, SEEK_SET);
      reader->start(path);
      return reader->readAvailable(fd);
    }
    return {};
  }
};

}  // namespace

void addDecisionsCommand(CLI::App& app, DecisionsCommandOptions& opts) {
  auto* cmd = app.add_subcommand(
      "decisions",
      "Read the decision log: current and rotated files (LOG.N ... LOG.1, LOG), filtered, as "
      "lines, JSON or a summary; --follow for new decisions");
  cmd->add_option("LOG", opts.logs,
                  "decision log path(s), as in [decision_log] path (its rotated files are read "
                  "too)");
  cmd->add_option("--config", opts.config, "read the log path from this configuration file");
  cmd->add_option("--since", opts.since,
                  "only decisions at or after this time: RFC 3339, or a span before now (90s, "
                  "15m, 1h, 2d)");
  cmd->add_option("--until", opts.until, "only decisions before this time (same forms)");
  const auto repeatable = [&](const char* name, std::vector<std::string>& values,
                              const char* help) {
    cmd->add_option(name, values, help)->allow_extra_args(false);
  };
  repeatable("--partner", opts.partners, "partner name (repeatable: any of them)");
  repeatable("--verdict", opts.verdicts, "allow, deny, redirect or throttle (repeatable)");
  repeatable("--rule", opts.rules,
             "rule that decided, e.g. partners[globex].methods; '*' matches any text "
             "(repeatable)");
  repeatable("--method", opts.methods, "SIP method, case-insensitive (repeatable)");
  repeatable("--src", opts.sources, "source IP:PORT, or IP for any port (repeatable)");
  repeatable("--call-id", opts.call_ids, "Call-ID (repeatable)");
  cmd->add_flag("--summary", opts.summary,
                "print counts by verdict and the top 10 denied partners, rules and sources");
  cmd->add_flag("--json", opts.json, "print the matching lines unchanged (JSON)");
  cmd->add_flag("--follow,-f", opts.follow,
                "after the existing lines, print new decisions as they are written, until "
                "SIGINT/SIGTERM");
}

int runDecisionsCommand(const DecisionsCommandOptions& opts) {
  if (opts.summary && opts.follow) {
    return usageError("--summary and --follow cannot be combined");
  }
  if (opts.summary && opts.json) {
    return usageError("--summary and --json cannot be combined");
  }
  for (const auto& v : opts.verdicts) {
    if (v != "allow" && v != "deny" && v != "redirect" && v != "throttle") {
      return usageError(
          fmt::format("--verdict '{}': expected allow, deny, redirect or throttle", v));
    }
  }
  DecisionFilter filter;
  const std::int64_t now = nowMs();
  if (!opts.since.empty()) {
    auto t = parseWhen(opts.since, now);
    if (!t) {
      return usageError("--since " + t.error());
    }
    filter.since_ms = *t;
  }
  if (!opts.until.empty()) {
    auto t = parseWhen(opts.until, now);
    if (!t) {
      return usageError("--until " + t.error());
    }
    filter.until_ms = *t;
  }
  filter.partners = opts.partners;
  filter.verdicts = opts.verdicts;
  filter.rules = opts.rules;
  filter.methods = opts.methods;
  filter.sources = opts.sources;
  filter.call_ids = opts.call_ids;

  std::vector<std::string> logs = opts.logs;
  if (logs.empty()) {
    if (opts.config.empty()) {
      return usageError(
          "which log? give the decision log's path (LOG...) or --config FILE to read "
          "[decision_log] path from");
    }
    auto config = config::load(opts.config);
    if (!config) {
      const auto& e = config.error();
      fmt::print(stderr, "{}: {}:{}:{}: {}\n", kCommand, e.file, e.line, e.column, e.message);
      return 1;
    }
    if (config->decision_log.path.empty()) {
      fmt::print(stderr, "{}: {} has no [decision_log] path\n", kCommand, opts.config);
      return 1;
    }
    logs.push_back(config->decision_log.path);
  }

  // Stop signals are only ever taken by sigtimedwait (no handler runs).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (opts.follow) {
    ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  }

  static char out_buffer[1 << 20];
  std::setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);

  const DecisionMatcher matcher(std::move(filter));
  DecisionSummary summary;
  std::uint64_t malformed = 0;
  bool failed = false;
  std::string text;
  const auto on_match = [&](std::string_view line, const policy::DecisionRecord& record) {
    if (opts.summary) {
      summary.add(record);
    } else if (opts.json) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    } else {
      text = formatDecisionLine(record);
      text.push_back('\n');
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
  };
  const auto on_malformed = [&](const std::string& file, std::uint64_t line,
                                const std::string& error) {
    ++malformed;
    std::fflush(stdout);
    fmt::print(stderr, "{}: {}:{}: malformed decision: {}\n", kCommand, file, line, error);
  };

  DecisionReader reader(matcher, on_match, on_malformed);
  std::vector<std::unique_ptr<Followed>> followed;
  for (const std::string& log : logs) {
    std::vector<std::string> files = logFiles(log);
    const bool current_exists = !files.empty() && files.back() == log;
    if (files.empty() && !opts.follow) {
      fmt::print(stderr, "{}: {}: no such file (nor rotated files {}.N)\n", kCommand, log, log);
      failed = true;
      continue;
    }
    if (opts.follow && current_exists) {
      files.pop_back();  // read through the followed descriptor below
    }
    for (const std::string& file : files) {
      if (auto r = reader.readFile(file); !r) {
        fmt::print(stderr, "{}: {}\n", kCommand, r.error());
        failed = true;
      }
    }
    if (opts.follow) {
      auto f = std::make_unique<Followed>();
      f->path = log;
      f->reader = std::make_unique<DecisionReader>(matcher, on_match, on_malformed);
      if (auto r = f->poll(); !r) {
        fmt::print(stderr, "{}: {}\n", kCommand, r.error());
        failed = true;
      }
      followed.push_back(std::move(f));
    }
  }

  if (opts.follow) {
    std::fflush(stdout);
    const timespec tick{0, 200 * 1000 * 1000};
    while (true) {
      const int sig = ::sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        break;
      }
      for (auto& f : followed) {
        if (auto r = f->poll(); !r) {
          fmt::print(stderr, "{}: {}\n", kCommand, r.error());
          failed = true;
        }
      }
      std::fflush(stdout);
    }
  }

  if (opts.summary) {
    const std::string s = summary.format(10);
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  std::fflush(stdout);
  if (malformed > 0) {
    fmt::print(stderr, "{}: {} malformed line(s)\n", kCommand, malformed);
  }
  return failed || malformed > 0 ? 1 : 0;
}

}  // namespace sipedge::app
