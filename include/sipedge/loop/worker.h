#pragma once

// One libevent loop per thread (STYLE S8): the worker owns its event_base, runs callbacks posted
// from other threads, makes timers, and frees objects at the end of a loop iteration so that no
// object is destroyed inside its own callback (STYLE S11).

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sipedge/base/time.h"

struct event_base;
struct event;

namespace sipedge::loop {

// Anything that may be handed to Worker::deferredDelete.
class Deletable {
 public:
  virtual ~Deletable() = default;
};

class Worker final : public TimerFactory, public Clock {
 public:
  explicit Worker(std::string name);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  const std::string& name() const { return name_; }

  // Runs the loop on the calling thread until exit() is called.
  void run();
  // Stops run() after the current iteration. Safe from any thread.
  void exit();

  // Runs `fn` on the worker's thread, in posting order. Safe from any thread.
  void post(std::function<void()> fn);

  // Frees `object` at the end of the current loop iteration. Worker thread only.
  void deferredDelete(std::unique_ptr<Deletable> object);

  // Timers on this loop. Worker thread only.
  [[nodiscard]] TimerPtr createTimer(std::function<void()> callback) override;
  MonoTime now() const override;

  // For the modules that integrate with libevent (transport, dns). Worker thread only.
  event_base* base() { return base_; }

  struct TimeoutQueues;  // the timers' shared-duration queues (worker.cc)

 private:
  static void onPosted(int fd, short what, void* self);
  static void onCleanup(int fd, short what, void* self);
  void drainPosted();

  std::string name_;
  event_base* base_ = nullptr;
  std::unique_ptr<TimeoutQueues> queues_;  // timers' shared-duration queues
  event* posted_event_ = nullptr;
  event* cleanup_event_ = nullptr;
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by mutex_
  std::vector<std::unique_ptr<Deletable>> to_delete_;
};

}  // namespace sipedge::loop
