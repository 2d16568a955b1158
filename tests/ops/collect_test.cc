// ops::collect on real workers: each sample runs on its worker's thread, results come back to
// the home loop in worker order.

#include "sipedge/ops/collect.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>

#include "running_worker.h"

namespace sipedge::ops {
namespace {

using testing::RunningWorker;

struct Sampled {
  unsigned index;
  std::thread::id thread;
};

TEST(CollectTest, SamplesOnEachWorkerAndDeliversOnHomeInWorkerOrder) {
  RunningWorker home("home");
  RunningWorker w0("w0");
  RunningWorker w1("w1");
  RunningWorker w2("w2");
  std::promise<std::pair<std::vector<Sampled>, std::thread::id>> result;
  collect<Sampled>(
      home.worker(), {&w0.worker(), &w1.worker(), &w2.worker()},
      [](unsigned i) {
        return Sampled{i, std::this_thread::get_id()};
      },
      [&result](std::vector<Sampled> all) {
        result.set_value({std::move(all), std::this_thread::get_id()});
      });
  auto [all, done_thread] = result.get_future().get();
  EXPECT_EQ(done_thread, home.threadId());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].index, 0u);
  EXPECT_EQ(all[1].index, 1u);
  EXPECT_EQ(all[2].index, 2u);
  EXPECT_EQ(all[0].thread, w0.threadId());
  EXPECT_EQ(all[1].thread, w1.threadId());
  EXPECT_EQ(all[2].thread, w2.threadId());
}

TEST(CollectTest, ReadsPerWorkerStateWithoutLocks) {
  RunningWorker home("home");
  RunningWorker w0("w0");
  RunningWorker w1("w1");
  // Plain counters, each touched only on its own worker's thread.
  std::vector<std::uint64_t> counters(2, 0);
  for (int i = 0; i < 100; ++i) {
    w0.worker().post([&counters] { ++counters[0]; });
    w1.worker().post([&counters] { counters[1] += 2; });
  }
  std::promise<std::vector<std::uint64_t>> result;
  collect<std::uint64_t>(
      home.worker(), {&w0.worker(), &w1.worker()}, [&counters](unsigned i) { return counters[i]; },
      [&result](std::vector<std::uint64_t> all) { result.set_value(std::move(all)); });
  // Posts run in order, so the samples see every increment posted before them.
  EXPECT_EQ(result.get_future().get(), (std::vector<std::uint64_t>{100, 200}));
}

TEST(CollectTest, TheHomeWorkerMayAlsoBeSampled) {
  RunningWorker home("home");
  RunningWorker w1("w1");
  std::promise<std::vector<std::string>> result;
  collect<std::string>(
      home.worker(), {&home.worker(), &w1.worker()},
      [](unsigned i) { return "worker" + std::to_string(i); },
      [&result](std::vector<std::string> all) { result.set_value(std::move(all)); });
  EXPECT_EQ(result.get_future().get(), (std::vector<std::string>{"worker0", "worker1"}));
}

TEST(CollectTest, NoWorkersDeliversAnEmptyVectorOnHome) {
  RunningWorker home("home");
  std::promise<std::pair<std::size_t, std::thread::id>> result;
  collect<int>(
      home.worker(), {}, [](unsigned) { return 1; },
      [&result](std::vector<int> all) {
        result.set_value({all.size(), std::this_thread::get_id()});
      });
  auto [size, thread] = result.get_future().get();
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(thread, home.threadId());
}

TEST(CollectTest, AStoppedWorkerMeansDoneNeverRuns) {
  // Documented: the workers must be running. A stopped worker's posted sample is destroyed with
  // the worker, unrun, and `done` with it.
  RunningWorker home("home");
  bool done_ran = false;
  {
    loop::Worker stopped("stopped");  // never runs
    collect<int>(
        home.worker(), {&stopped}, [](unsigned) { return 1; },
        [&done_ran](std::vector<int>) { done_ran = true; });
  }
  // Let the home loop finish anything it had (nothing should arrive).
  std::promise<void> flushed;
  home.worker().post([&flushed] { flushed.set_value(); });
  flushed.get_future().get();
  EXPECT_FALSE(done_ran);
}

}  // namespace
}  // namespace sipedge::ops
