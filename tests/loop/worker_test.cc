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

TEST(WorkerTest, TimersInSharedDurationQueuesAndTheHeapFireInDeadlineOrder) {
  // Durations in whole 10 ms go to libevent's common-timeout queues, others to its heap; beyond
  // the queue limit, to the heap as well. The order must not depend on where a timer is kept.
  Worker w("w5");
  std::vector<int> order;
  std::vector<TimerPtr> timers;
  const int durations[] = {60, 31, 20, 51, 40};  // ms; 31 and 51 are heap timers
  for (int round = 0; round < 3; ++round) {
    for (int d : durations) {
      const int tag = d * 10 + round;
      timers.push_back(w.createTimer([&order, tag] { order.push_back(tag); }));
      timers.back()->enable(milliseconds(d));
    }
  }
  // More distinct queue-eligible durations than there are queues: the rest use the heap.
  std::vector<TimerPtr> many;
  for (int i = 0; i < 80; ++i) {
    many.push_back(w.createTimer([] {}));
    many.back()->enable(milliseconds(1000 + 10 * i));
  }
  for (TimerPtr& t : many) {
    t->disable();
  }
  // Moved from a queue to the heap and back: fires once, at its last deadline.
  int moved = 0;
  TimerPtr mover = w.createTimer([&] { ++moved; });
  mover->enable(milliseconds(20));
  mover->enable(milliseconds(33));
  mover->enable(milliseconds(70));
  TimerPtr end = w.createTimer([&] { w.exit(); });
  end->enable(milliseconds(90));
  w.run();
  // By duration; within one duration, a queue keeps the order of enabling (equal deadlines in
  // the heap may come in any order: libevent's clock is coarse).
  std::vector<int> by_duration;
  std::vector<int> queued;
  for (int tag : order) {
    by_duration.push_back(tag / 10);
    if (tag / 10 % 10 == 0) {
      queued.push_back(tag);
    }
  }
  EXPECT_EQ(by_duration,
            (std::vector<int>{20, 20, 20, 31, 31, 31, 40, 40, 40, 51, 51, 51, 60, 60, 60}));
  EXPECT_EQ(queued, (std::vector<int>{200, 201, 202, 400, 401, 402, 600, 601, 602}));
  EXPECT_EQ(moved, 1);
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
