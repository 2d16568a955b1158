#pragma once

// Time and timers as interfaces (STYLE S2, S14): the pure core receives time, and code with
// timers gets them from a TimerFactory, so tests drive both by hand.

#include <chrono>
#include <functional>
#include <memory>

namespace sipedge {

using Duration = std::chrono::milliseconds;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
};

// A one-shot timer owned by its user: destroying it cancels it, so its callback never runs after.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void enable(Duration after) = 0;  // (re)arms
  virtual void disable() = 0;
  virtual bool enabled() const = 0;
};
using TimerPtr = std::unique_ptr<Timer>;

class TimerFactory {
 public:
  virtual ~TimerFactory() = default;
  [[nodiscard]] virtual TimerPtr createTimer(std::function<void()> callback) = 0;
};

}  // namespace sipedge
