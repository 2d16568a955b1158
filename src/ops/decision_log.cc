// The decision log writer: record() pushes onto a vector under a mutex; one writer thread swaps
// the vector out, formats the lines (policy::toJsonLine) and appends them with write(2).
//
// - The writer wakes every flush_interval, when the queue reaches kWakeRecords (so a burst does
//   not pile up for a whole interval), on flush() and on destruction.
// - Before each batch it checks that PATH is still the file it has open (same device and inode):
//   a removed file or directory, or an operator's move, makes it reopen PATH; when that fails the
//   batch is dropped and counted, and the next batch tries again.
// - A failed write (ENOSPC, EIO) truncates the file back to its last complete line, so a reader
//   never sees half a record, and drops the rest of the batch.

#include "sipedge/ops/decision_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "sipedge/base/log.h"

namespace sipedge::ops {

namespace {

constexpr std::size_t kWakeRecords = 4096;    // wake the writer early past this many
constexpr std::size_t kWriteChunk = 1 << 20;  // bytes formatted before each write(2)

std::string errnoText(std::string_view what, const std::string& path, int err) {
  std::string s(what);
  s.append(" ");
  s.append(path);
  s.append(": ");
  s.append(std::strerror(err));
  return s;
}

// Writes all of `data`; on failure returns errno (0: success).
int writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    if (n == 0) {
      return EIO;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace

struct DecisionLog::Impl {
  config::DecisionLogConfig config;

  std::mutex mutex;
  std::condition_variable wake;  // the writer waits here
  std::condition_variable done;  // flush() waits here
  std::vector<policy::DecisionRecord> queue;
  std::uint64_t queued_seq = 0;     // records ever queued
  std::uint64_t processed_seq = 0;  // records written or dropped by the writer
  std::uint64_t flush_target = 0;   // flush() waits until processed_seq reaches this
  bool stopping = false;
  DecisionLogStats stats;

  // Writer thread only.
  int fd = -1;
  std::uint64_t file_bytes = 0;
  dev_t dev = 0;
  ino_t ino = 0;

  std::thread thread;

  ~Impl() {
    if (fd >= 0) {
      ::close(fd);
    }
  }

  // Opens config.path for appending; returns errno (0: success).
  int openFile() {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
    const int f = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (f < 0) {
      return errno;
    }
    struct stat st {};
    if (::fstat(f, &st) != 0) {
      const int err = errno;
      ::close(f);
      return err;
    }
    fd = f;
    file_bytes = static_cast<std::uint64_t>(st.st_size);
    dev = st.st_dev;
    ino = st.st_ino;
    return 0;
  }

  // Counts the error and reports it in sipedge's log: a new error at once, the same one again at
  // most once a minute (a full disk fails every batch).
  void noteError(std::string message) {
    const auto now = std::chrono::steady_clock::now();
    if (message != last_logged || now - last_logged_at >= std::chrono::minutes(1)) {
      log::error("decision-log", "{}; decisions are dropped until writing works again", message);
      last_logged = message;
      last_logged_at = now;
    }
    std::lock_guard lock(mutex);
    ++stats.write_errors;
    stats.last_error = std::move(message);
  }
  std::string last_logged;  // writer thread only
  std::chrono::steady_clock::time_point last_logged_at{};

  // The open file is still at config.path; otherwise (re)open it. False: no file to write to.
  bool ensureFile() {
    struct stat st {};
    if (fd >= 0 && ::stat(config.path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
      return true;
    }
    const int err = openFile();
    if (err != 0) {
      noteError(errnoText("open", config.path, err));
      return false;
    }
    return true;
  }

  // PATH -> PATH.1 -> ... -> PATH.keep_files (the oldest one replaced), then a new PATH. False
  // when a step failed; `fd` is then PATH (the old one when its rename failed) or -1.
  bool rotate() {
    const std::string& path = config.path;
    bool ok = true;
    if (config.keep_files == 0) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        noteError(errnoText("remove", path, errno));
        ok = false;
      }
    } else {
      for (unsigned i = config.keep_files - 1; i >= 1; --i) {
        const std::string from = path + "." + std::to_string(i);
        const std::string to = path + "." + std::to_string(i + 1);
        if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
          noteError(errnoText("rename", from, errno));
          ok = false;
        }
      }
      if (::rename(path.c_str(), (path + ".1").c_str()) != 0) {
        noteError(errnoText("rename", path, errno));
        ok = false;
      }
    }
    if (ok) {
      std::lock_guard lock(mutex);
      ++stats.rotations;
    }
    const int err = openFile();
    if (err != 0) {
      noteError(errnoText("open", path, err));
      return false;
    }
    return ok;
  }

  // Appends `buf` (complete lines). Returns whether it was written.
  bool writeBuffer(const std::string& buf) {
    if (fd < 0) {
      return false;
    }
    const int err = writeAll(fd, buf);
    if (err != 0) {
      // Take back a partial line: the file ends with a complete record.
      if (::ftruncate(fd, static_cast<off_t>(file_bytes)) != 0) {
        // Nothing more to do: the reader reports a torn line as malformed.
      }
      noteError(errnoText("write", config.path, err));
      return false;
    }
    file_bytes += buf.size();
    return true;
  }

  void writeBatch(std::vector<policy::DecisionRecord>& batch) {
    std::uint64_t written = 0;
    std::uint64_t dropped = 0;
    if (!ensureFile()) {
      dropped = batch.size();
    } else {
      std::string buf;
      buf.reserve(std::min<std::size_t>(kWriteChunk + 4096, batch.size() * 512));
      std::uint64_t in_buf = 0;
      bool failed = false;
      bool rotation_failed =
          false;  // tried once per batch: a failing rename is not retried per line
      const auto flushBuf = [&] {
        if (in_buf == 0) {
          return;
        }
        if (!failed && writeBuffer(buf)) {
          written += in_buf;
        } else {
          failed = true;
          dropped += in_buf;
        }
        buf.clear();
        in_buf = 0;
      };
      for (auto& record : batch) {
        std::string line = policy::toJsonLine(record);
        const std::uint64_t size_after = file_bytes + buf.size() + line.size();
        if (size_after > config.max_file_bytes && file_bytes + buf.size() > 0 && !rotation_failed) {
          flushBuf();
          if (!failed && !rotate()) {
            rotation_failed = true;
            failed = fd < 0;  // a failed rename leaves PATH open: keep appending to it
          }
        }
        buf.append(line);
        ++in_buf;
        if (buf.size() >= kWriteChunk) {
          flushBuf();
        }
      }
      flushBuf();
    }
    batch.clear();
    std::lock_guard lock(mutex);
    stats.written += written;
    stats.dropped += dropped;
  }

  void run() {
    std::vector<policy::DecisionRecord> batch;
    auto next_flush = std::chrono::steady_clock::now() + config.flush_interval;
    std::unique_lock lock(mutex);
    while (true) {
      wake.wait_until(lock, next_flush, [&] {
        return stopping || flush_target > processed_seq || queue.size() >= kWakeRecords;
      });
      const bool stop = stopping;
      batch.swap(queue);
      const std::uint64_t target = queued_seq;
      lock.unlock();
      if (std::chrono::steady_clock::now() >= next_flush) {
        next_flush = std::chrono::steady_clock::now() + config.flush_interval;
      }
      if (!batch.empty()) {
        writeBatch(batch);
      }
      lock.lock();
      processed_seq = target;
      done.notify_all();
      if (stop && queue.empty()) {
        return;
      }
    }
  }
};

DecisionLog::DecisionLog() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<DecisionLog>> DecisionLog::open(const config::DecisionLogConfig& config) {
  if (config.path.empty()) {
    return fail(Error{"decision log: no path"});
  }
  std::unique_ptr<DecisionLog> log(new DecisionLog());
  Impl& impl = *log->impl_;
  impl.config = config;
  if (impl.config.flush_interval.count() <= 0) {
    impl.config.flush_interval = config::Duration(1);
  }
  const int err = impl.openFile();
  if (err != 0) {
    return fail(Error{errnoText("decision log: cannot open", config.path, err)});
  }
  impl.thread = std::thread([&impl] { impl.run(); });
  return log;
}

void DecisionLog::record(policy::DecisionRecord&& record) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.mutex);
  if (impl.queue.size() >= impl.config.queue_records) {
    ++impl.stats.dropped;
    return;
  }
  impl.queue.push_back(std::move(record));
  ++impl.queued_seq;
  if (impl.queue.size() == kWakeRecords) {
    impl.wake.notify_one();
  }
}

void DecisionLog::flush() {
  Impl& impl = *impl_;
  std::unique_lock lock(impl.mutex);
  const std::uint64_t target = impl.queued_seq;
  if (impl.processed_seq >= target) {
    return;
  }
  impl.flush_target = std::max(impl.flush_target, target);
  impl.wake.notify_one();
  impl.done.wait(lock, [&] { return impl.processed_seq >= target; });
}

DecisionLogStats DecisionLog::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

DecisionLog::~DecisionLog() {
  if (!impl_->thread.joinable()) {
    return;
  }
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->thread.join();
}

}  // namespace sipedge::ops
