#pragma once

// Gathering one value from each worker without locks (STYLE S8, S39): the sample runs on the
// worker that owns the counters, and only its result crosses threads, through Worker::post.
//
//   collect<WorkerCounts>(admin_loop, workers,
//       [&](unsigned i) { return nodes[i]->counts(); },       // on worker i's thread
//       [reply](std::vector<WorkerCounts> all) { ... });       // on admin_loop's thread
//
// Requirements, because nothing here can cancel posted work:
// - `home` and every worker must be running (or about to run) and must outlive the collection.
//   A worker whose run() has returned never runs posted work: its sample never runs, and `done`
//   never runs either (the pending closures are destroyed with that worker). The admin server
//   answers such a scrape with 503 after its reply timeout, so a stopped worker costs a scrape,
//   never a hang. Stop the admin listener before the workers (STYLE S16).
// - `sample` is copied once per worker; each copy runs and is destroyed on that worker's thread.
//   It must only touch state of the worker it runs on (its argument is the worker's index in
//   `workers`) and capture nothing that another thread may free first.
// - `done` runs on `home`'s thread exactly once, with the values in worker order. It is
//   destroyed on `home`'s thread too, unless a stopped worker keeps the collection from ending.
// - T is copied across threads: it must be copy-constructible (a struct of counts is).
// May be called from any thread. With no workers, `done` is posted to `home` with an empty vector.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "sipedge/loop/worker.h"

namespace sipedge::ops {

template <class T>
void collect(loop::Worker& home, const std::vector<loop::Worker*>& workers,
             std::function<T(unsigned index)> sample, std::function<void(std::vector<T>)> done) {
  // Touched only on `home`'s thread: each worker's result is posted there before it is stored.
  struct State {
    std::vector<std::optional<T>> results;
    std::size_t remaining = 0;
    std::function<void(std::vector<T>)> done;
  };
  auto state = std::make_shared<State>();
  state->results.resize(workers.size());
  state->remaining = workers.size();
  state->done = std::move(done);
  if (workers.empty()) {
    home.post([state] {
      auto finish = std::move(state->done);
      finish({});
    });
    return;
  }
  for (unsigned i = 0; i < workers.size(); ++i) {
    loop::Worker* home_ptr = &home;
    workers[i]->post([home_ptr, state, sample, i]() mutable {
      T value = sample(i);
      // Moved on, so the worker drops no reference to the shared state.
      home_ptr->post([state = std::move(state), i, value = std::move(value)]() mutable {
        state->results[i].emplace(std::move(value));
        if (--state->remaining > 0) {
          return;
        }
        std::vector<T> all;
        all.reserve(state->results.size());
        for (auto& r : state->results) {
          all.push_back(std::move(*r));
        }
        auto finish = std::move(state->done);
        finish(std::move(all));
      });
    });
  }
}

}  // namespace sipedge::ops
