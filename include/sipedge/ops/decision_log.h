#pragma once

// The decision log writer (issue 5): every policy decision, one JSON line
// (policy::toJsonLine), appended to a file by a thread of its own, so that a worker's record()
// is a short mutex-protected push and never waits for the disk.
//
// - Flushed (write(2) to the kernel) at least every `flush_interval`: a crash of sipedge loses at
//   most that much; the kernel has the rest.
// - Size-based rotation: past `max_file_bytes` the file becomes PATH.1, PATH.1 becomes PATH.2,
//   ..., PATH.<keep_files> is removed; a new PATH is started.
// - More than `queue_records` waiting: new records are dropped and counted (never blocks).
// - A write error (full disk, removed directory) is counted and kept in stats().last_error; the
//   writer keeps trying on the next flush, and records that could not be written are dropped and
//   counted. Never fatal.

#include <cstdint>
#include <memory>
#include <string>

#include "sipedge/base/result.h"
#include "sipedge/config/config.h"
#include "sipedge/policy/decision_record.h"

namespace sipedge::ops {

struct DecisionLogStats {
  std::uint64_t written = 0;       // records written to the file
  std::uint64_t dropped = 0;       // queue full or lost to a write error
  std::uint64_t write_errors = 0;  // failed writes / opens / renames
  std::uint64_t rotations = 0;
  std::string last_error;  // empty: none yet
};

class DecisionLog final : public policy::DecisionSink {
 public:
  // Opens (creates, appends to) config.path and starts the writer thread. An error names the
  // path and errno's text (the directory does not exist, no permission).
  [[nodiscard]] static Result<std::unique_ptr<DecisionLog>> open(
      const config::DecisionLogConfig& config);

  void record(policy::DecisionRecord&& record) override;  // any thread; never blocks on I/O

  // Blocks until every record queued before the call is written (or dropped): for tests and
  // shutdown.
  void flush();

  DecisionLogStats stats() const;  // any thread

  ~DecisionLog() override;  // flushes, then stops the thread
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

 private:
  DecisionLog();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipedge::ops
