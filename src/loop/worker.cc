#include "sipedge/loop/worker.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <cstdint>
#include <mutex>
#include <utility>

#include "sipedge/base/assert.h"

namespace sipedge::loop {
namespace {

// libevent must be told once, before any base exists, to use pthreads locking: posting from other
// threads activates an event on the worker's base.
void useThreads() {
  static std::once_flag once;
  std::call_once(once, [] { SIPEDGE_RELEASE_ASSERT(evthread_use_pthreads() == 0); });
}

timeval toTimeval(Duration d) {
  const auto ms = d.count() < 0 ? 0 : d.count();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

}  // namespace

// libevent keeps timers in a binary heap: with the hundreds of thousands of transaction timers of
// a call load, each add and delete walks ~20 levels that miss the cache. Timers that share one
// duration can go to a "common timeout" queue instead (event_base_init_common_timeout): a list
// kept in deadline order because every entry has the same duration, O(1) to add and delete.
// Nearly all of sipedge's timers have one of a few fixed durations (T1 doublings, 64*T1, T4, the
// B2BUA's response timeout), so each duration that is a whole number of 10 ms gets a queue on
// first use, up to kMax (libevent allows 256); any other duration uses the heap. Worker thread
// only.
struct Worker::TimeoutQueues {
  static constexpr std::size_t kMax = 64;
  explicit TimeoutQueues(event_base* b) : base(b) {}
  event_base* base;
  std::vector<std::pair<std::int64_t, const timeval*>> queues;  // duration in ms -> its queue

  const timeval* find(Duration d) {
    const std::int64_t ms = d.count();
    if (ms < 0 || ms % 10 != 0) {
      return nullptr;
    }
    for (const auto& [duration, tv] : queues) {
      if (duration == ms) {
        return tv;
      }
    }
    if (queues.size() >= kMax) {
      return nullptr;
    }
    const timeval tv = toTimeval(d);
    const timeval* common = event_base_init_common_timeout(base, &tv);
    if (common == nullptr) {
      return nullptr;
    }
    queues.emplace_back(ms, common);
    return common;
  }
};

namespace {

class LibeventTimer final : public Timer {
 public:
  LibeventTimer(Worker::TimeoutQueues& queues, std::function<void()> callback)
      : queues_(queues),
        callback_(std::move(callback)),
        event_(evtimer_new(queues.base, &LibeventTimer::onFire, this)) {
    SIPEDGE_RELEASE_ASSERT(event_ != nullptr);
  }
  ~LibeventTimer() override { event_free(event_); }  // also removes a pending event

  void enable(Duration after) override {
    if (const timeval* common = queues_.find(after)) {
      evtimer_add(event_, common);
      return;
    }
    const timeval tv = toTimeval(after);
    evtimer_add(event_, &tv);
  }
  void disable() override { evtimer_del(event_); }
  bool enabled() const override { return evtimer_pending(event_, nullptr) != 0; }

 private:
  static void onFire(int, short, void* self) {
    // A timer must not be destroyed inside its own callback (STYLE S11): hand its owner to
    // Worker::deferredDelete, or disable and re-arm it.
    static_cast<LibeventTimer*>(self)->callback_();
  }

  Worker::TimeoutQueues& queues_;
  std::function<void()> callback_;
  event* event_;
};

}  // namespace

Worker::Worker(std::string name) : name_(std::move(name)) {
  useThreads();
  base_ = event_base_new();
  SIPEDGE_RELEASE_ASSERT(base_ != nullptr);
  posted_event_ = event_new(base_, -1, 0, &Worker::onPosted, this);
  cleanup_event_ = event_new(base_, -1, 0, &Worker::onCleanup, this);
  SIPEDGE_RELEASE_ASSERT(posted_event_ != nullptr && cleanup_event_ != nullptr);
  queues_ = std::make_unique<TimeoutQueues>(base_);
}

Worker::~Worker() {
  // Free in reverse order of creation (STYLE S16): pending objects, then events, then the base.
  to_delete_.clear();
  event_free(cleanup_event_);
  event_free(posted_event_);
  event_base_free(base_);
}

void Worker::run() {
  // EVLOOP_NO_EXIT_ON_EMPTY: an idle worker waits for posted work instead of returning.
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  drainPosted();
  to_delete_.clear();
}

void Worker::exit() {
  post([this] { event_base_loopbreak(base_); });
}

void Worker::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    posted_.push_back(std::move(fn));
  }
  event_active(posted_event_, EV_READ, 0);
}

void Worker::deferredDelete(std::unique_ptr<Deletable> object) {
  to_delete_.push_back(std::move(object));
  event_active(cleanup_event_, EV_READ, 0);
}

TimerPtr Worker::createTimer(std::function<void()> callback) {
  return std::make_unique<LibeventTimer>(*queues_, std::move(callback));
}

MonoTime Worker::now() const {
  return std::chrono::steady_clock::now();
}

void Worker::onPosted(int, short, void* self) {
  static_cast<Worker*>(self)->drainPosted();
}

void Worker::onCleanup(int, short, void* self) {
  // Runs as its own event, after the callbacks that queued the objects have returned.
  static_cast<Worker*>(self)->to_delete_.clear();
}

void Worker::drainPosted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) {
    fn();
  }
}

}  // namespace sipedge::loop
