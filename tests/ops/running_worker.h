#pragma once

// A loop::Worker running on its own thread for the ops tests; exit() and join on destruction.

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "sipedge/loop/worker.h"

namespace sipedge::ops::testing {

class RunningWorker {
 public:
  explicit RunningWorker(std::string name) : worker_(std::move(name)) {
    std::promise<std::thread::id> started;
    auto id = started.get_future();
    thread_ = std::thread([this, started = std::move(started)]() mutable {
      started.set_value(std::this_thread::get_id());
      worker_.run();
    });
    id_ = id.get();
  }
  ~RunningWorker() {
    worker_.exit();
    thread_.join();
  }
  RunningWorker(const RunningWorker&) = delete;
  RunningWorker& operator=(const RunningWorker&) = delete;

  loop::Worker& worker() { return worker_; }
  std::thread::id threadId() const { return id_; }

  // Runs `fn` on the worker's thread and waits for it.
  template <class Fn>
  auto call(Fn fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto done = std::make_shared<std::promise<R>>();
    auto result = done->get_future();
    worker_.post([done, &fn] {
      if constexpr (std::is_void_v<R>) {
        fn();
        done->set_value();
      } else {
        done->set_value(fn());
      }
    });
    return result.get();
  }

 private:
  loop::Worker worker_;
  std::thread thread_;
  std::thread::id id_;
};

}  // namespace sipedge::ops::testing
