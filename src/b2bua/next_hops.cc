#include "sipedge/b2bua/next_hops.h"

#include <algorithm>

namespace sipedge::b2bua {

NextHopSet::NextHopSet(std::vector<NextHop> hops, HealthSettings health)
    : hops_(std::move(hops)), states_(hops_.size()), health_(health) {}

std::vector<std::size_t> NextHopSet::candidates(Random& random) const {
  std::vector<std::size_t> up_hops;
  for (std::size_t i = 0; i < hops_.size(); ++i) {
    if (states_[i].up) {
      up_hops.push_back(i);
    }
  }
  std::stable_sort(up_hops.begin(), up_hops.end(), [this](std::size_t a, std::size_t b) {
    return hops_[a].priority < hops_[b].priority;
  });
  // Within each priority: repeatedly pick by weight (RFC 2782: weight-0 hops come last).
  std::vector<std::size_t> out;
  out.reserve(up_hops.size());
  std::size_t begin = 0;
  while (begin < up_hops.size()) {
    std::size_t end = begin;
    while (end < up_hops.size() && hops_[up_hops[end]].priority == hops_[up_hops[begin]].priority) {
      ++end;
    }
    std::vector<std::size_t> group(up_hops.begin() + static_cast<std::ptrdiff_t>(begin),
                                   up_hops.begin() + static_cast<std::ptrdiff_t>(end));
    while (!group.empty()) {
      std::uint32_t total = 0;
      for (std::size_t i : group) {
        total += hops_[i].weight;
      }
      std::size_t chosen = 0;
      if (total == 0) {  // only weight-0 hops left: any order
        chosen = random.below(static_cast<std::uint32_t>(group.size()));
      } else {
        std::uint32_t pick = random.below(total);
        for (std::size_t k = 0; k < group.size(); ++k) {
          const std::uint32_t w = hops_[group[k]].weight;
          if (pick < w) {
            chosen = k;
            break;
          }
          pick -= w;
        }
      }
      out.push_back(group[chosen]);
      group.erase(group.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
    begin = end;
  }
  return out;
}

void NextHopSet::reportSuccess(std::size_t index) {
  State& s = states_[index];
  s.failures = 0;
  if (!s.up && ++s.successes >= health_.successes) {
    s.up = true;
    s.successes = 0;
  }
}

void NextHopSet::reportFailure(std::size_t index) {
  State& s = states_[index];
  s.successes = 0;
  if (s.up && ++s.failures >= health_.failures) {
    s.up = false;
    s.failures = 0;
  }
}

std::size_t NextHopSet::upCount() const {
  return static_cast<std::size_t>(
      std::count_if(states_.begin(), states_.end(), [](const State& s) { return s.up; }));
}

}  // namespace sipedge::b2bua
