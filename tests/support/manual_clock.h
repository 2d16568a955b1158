#pragma once

// A Clock that moves only when the test moves it (STYLE S14, S33). Timer fakes register as
// schedulers: advance() walks through their deadlines in order, setting the clock to each deadline
// before firing the timer that is due, so that a callback reads the time it was due at.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "sipedge/base/time.h"

namespace sipedge::testing {

class ManualClock final : public Clock {
 public:
  // Something that holds deadlines on this clock (FakeTimers).
  class Scheduler {
   public:
    virtual ~Scheduler() = default;
    virtual std::optional<MonoTime> nextDeadline() const = 0;  // of the earliest enabled timer
    virtual void fireNext() = 0;                               // fires that timer
  };

  // Starts at an arbitrary, non-zero time point.
  explicit ManualClock(MonoTime start = MonoTime{} + std::chrono::hours(1))
      : start_(start), now_(start) {}

  MonoTime now() const override { return now_; }
  // Time since construction.
  Duration elapsed() const { return std::chrono::duration_cast<Duration>(now_ - start_); }

  // Moves the clock forward, firing every timer due on the way (a timer armed for 0 ms fires on
  // advance(0ms)).
  void advance(Duration d) { advanceTo(now_ + d); }
  void advanceTo(MonoTime target) {
    if (advancing_) {
      ADD_FAILURE() << "ManualClock advanced from inside a timer callback";
      return;
    }
    advancing_ = true;
    for (int fired = 0;; ++fired) {
      if (fired == kMaxFirings) {
        ADD_FAILURE() << "ManualClock: more than " << kMaxFirings << " timers fired in one advance";
        break;
      }
      Scheduler* next = nullptr;
      MonoTime when{};
      for (Scheduler* s : schedulers_) {
        const std::optional<MonoTime> d = s->nextDeadline();
        if (d && *d <= target && (next == nullptr || *d < when)) {
          next = s;
          when = *d;
        }
      }
      if (next == nullptr) {
        break;
      }
      now_ = std::max(now_, when);
      next->fireNext();
    }
    now_ = std::max(now_, target);
    advancing_ = false;
  }

  void addScheduler(Scheduler* s) { schedulers_.push_back(s); }
  void removeScheduler(Scheduler* s) { std::erase(schedulers_, s); }

 private:
  static constexpr int kMaxFirings = 1000000;
  MonoTime start_;
  MonoTime now_;
  bool advancing_ = false;
  std::vector<Scheduler*> schedulers_;
};

}  // namespace sipedge::testing
