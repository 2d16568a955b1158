#pragma once

// A TimerFactory whose timers fire when the test advances a ManualClock past their deadlines, in
// deadline order (ties in the order they were armed), as Envoy's MockTimer lets a test do.
// Destroying a timer cancels it. Destroying a timer inside its own callback is a test failure:
// loop::Worker forbids it (its libevent timers are freed with the event still running).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "manual_clock.h"
#include "sipedge/base/time.h"

namespace sipedge::testing {

class FakeTimers final : public TimerFactory, private ManualClock::Scheduler {
 public:
  explicit FakeTimers(ManualClock& clock) : clock_(clock) { clock_.addScheduler(this); }
  ~FakeTimers() override {
    clock_.removeScheduler(this);
    for (FakeTimer* t : live_) {
      t->owner_ = nullptr;  // timers that outlive the factory never fire
    }
  }
  FakeTimers(const FakeTimers&) = delete;
  FakeTimers& operator=(const FakeTimers&) = delete;

  [[nodiscard]] TimerPtr createTimer(std::function<void()> callback) override {
    auto t = std::make_unique<FakeTimer>(this, std::move(callback));
    live_.push_back(t.get());
    return t;
  }

  // Timers that exist (created and not yet destroyed), and those of them armed.
  std::size_t liveTimers() const { return live_.size(); }
  std::size_t enabledTimers() const {
    return static_cast<std::size_t>(
        std::count_if(live_.begin(), live_.end(), [](const FakeTimer* t) { return t->enabled_; }));
  }
  std::uint64_t firedCount() const { return fired_; }

 private:
  class FakeTimer final : public Timer {
   public:
    FakeTimer(FakeTimers* owner, std::function<void()> callback)
        : owner_(owner), callback_(std::move(callback)) {}
    ~FakeTimer() override {
      if (owner_ != nullptr) {
        owner_->forget(this);
      }
    }
    void enable(Duration after) override {
      if (owner_ == nullptr) {
        return;
      }
      deadline_ = owner_->clock_.now() + std::max(after, Duration(0));
      order_ = ++owner_->armed_;
      enabled_ = true;
    }
    void disable() override { enabled_ = false; }
    bool enabled() const override { return enabled_; }

   private:
    friend class FakeTimers;
    FakeTimers* owner_;
    std::function<void()> callback_;
    MonoTime deadline_{};
    std::uint64_t order_ = 0;
    bool enabled_ = false;
  };

  FakeTimer* earliest() const {
    FakeTimer* best = nullptr;
    for (FakeTimer* t : live_) {
      if (t->enabled_ && (best == nullptr || t->deadline_ < best->deadline_ ||
                          (t->deadline_ == best->deadline_ && t->order_ < best->order_))) {
        best = t;
      }
    }
    return best;
  }

  std::optional<MonoTime> nextDeadline() const override {
    const FakeTimer* t = earliest();
    return t != nullptr ? std::optional<MonoTime>(t->deadline_) : std::nullopt;
  }

  void fireNext() override {
    FakeTimer* t = earliest();
    if (t == nullptr) {
      return;
    }
    t->enabled_ = false;
    ++fired_;
    firing_ = t;
    // A copy, so that a timer wrongly destroyed by its own callback fails the test, not ASan.
    const std::function<void()> callback = t->callback_;
    callback();
    firing_ = nullptr;
  }

  void forget(FakeTimer* t) {
    if (firing_ == t) {
      ADD_FAILURE() << "a timer was destroyed inside its own callback";
      firing_ = nullptr;
    }
    std::erase(live_, t);
  }

  ManualClock& clock_;
  std::vector<FakeTimer*> live_;
  FakeTimer* firing_ = nullptr;
  std::uint64_t armed_ = 0;
  std::uint64_t fired_ = 0;
};

}  // namespace sipedge::testing
