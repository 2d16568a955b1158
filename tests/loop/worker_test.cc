// The worker on a real libevent loop. These tests assert order and thread, never durations.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sipedge/loop/worker.h"

namespace sipedge::loop {
namespace {

using std::chrono::milliseconds;

TEST(WorkerTest, PostFromOtherThreadsRunsInOrderOnTheWorkerThread) {
  Worker w("w0");
  std::thread::id worker_thread;
  std::vector<int> seen;
  std::thread t([&] {
    worker_thread = std::this_thread::get_id();
    w.run();
  });
  std::vector<std::thread> posters;
  std::atomic<int> off_thread{0};
  for (int p = 0; p < 4; ++p) {
    posters.emplace_back([&, p] {
      for (int i = 0; i < 250; ++i) {
        w.post([&, p, i] {
          if (std::this_thread::get_id() != worker_thread) {
            ++off_thread;
          }
          seen.push_back(p * 1000 + i);
        });
      }
    });
  }
  for (auto& th : posters) {
    th.join();
  }
  w.exit();
  t.join();
  EXPECT_EQ(off_thread.load(), 0);
  ASSERT_EQ(seen.size(), 1000u);
  // Each poster's items ran in the order it posted them.
  std::vector<int> last(4, -1);
  for (int v : seen) {
    EXPECT_GT(v % 1000, last[v / 1000]);
    last[v / 1000] = v % 1000;
  }
}

TEST(WorkerTest, TimersFireByDeadlineAndCancelWhenDestroyedOrDisabled) {
  Worker w("w1");
  std::vector<std::string> order;
  TimerPtr late = w.createTimer([&] {
    order.push_back("late");
    w.exit();
  });
  TimerPtr early = w.createTimer([&] { order.push_back("early"); });
  TimerPtr middle = w.createTimer([&] { order.push_back("middle"); });
  TimerPtr destroyed = w.createTimer([&] { order.push_back("destroyed"); });
  TimerPtr disabled = w.createTimer([&] { order.push_back("disabled"); });
  late.get()->enable(milliseconds(40));
  middle->enable(milliseconds(20));
  early->enable(milliseconds(1));
  destroyed->enable(milliseconds(5));
  disabled->enable(milliseconds(5));
  EXPECT_TRUE(disabled->enabled());
  disabled->disable();
  EXPECT_FALSE(disabled->enabled());
  destroyed.reset();
  w.run();
  EXPECT_EQ(order, (std::vector<std::string>{"early", "middle", "late"}));
  EXPECT_FALSE(late->enabled());
}

TEST(WorkerTest, ReArmingATimerFromItsCallback) {
  Worker w("w2");
  int fired = 0;
  TimerPtr t;
  t = w.createTimer([&] {
    if (++fired < 3) {
      t->enable(milliseconds(1));
    } else {
      w.exit();
    }
  });
  t->enable(milliseconds(1));
  w.run();
  EXPECT_EQ(fired, 3);
}

struct Tracked : Deletable {
  explicit Tracked(std::vector<std::string>& log) : log_(log) {}
  ~Tracked() override { log_.push_back("deleted"); }
  std::vector<std::string>& log_;
};

TEST(WorkerTest, DeferredDeleteFreesAfterTheCallbackReturns) {
  Worker w("w3");
  std::vector<std::string> log;
  w.post([&] {
    w.deferredDelete(std::make_unique<Tracked>(log));
    log.push_back("callback done");
    w.post([&] {
      log.push_back("next iteration");
      w.exit();
    });
  });
  w.run();
  EXPECT_EQ(log, (std::vector<std::string>{"callback done", "deleted", "next iteration"}));
}

TEST(WorkerTest, ObjectsStillQueuedAreFreedWhenTheWorkerStops) {
  std::vector<std::string> log;
  {
    Worker w("w4");
    w.post([&] {
      w.deferredDelete(std::make_unique<Tracked>(log));
      w.exit();
    });
    w.run();
  }
  EXPECT_EQ(log, (std::vector<std::string>{"deleted"}));
}

TEST(WorkerTest, ClockIsMonotonic) {
  Worker w("w5");
  const MonoTime a = w.now();
  const MonoTime b = w.now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace sipedge::loop
