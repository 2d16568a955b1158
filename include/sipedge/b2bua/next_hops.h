#pragma once

// The internal next hops (DESIGN.md routing): an ordered candidate list per request (priority,
// then weight, RFC 2782 style), and each hop's health from OPTIONS pings and from relayed
// requests. Pure: the B2BUA sends the pings and reports the outcomes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sipedge/base/random.h"
#include "sipedge/transport/sender.h"

namespace sipedge::b2bua {

struct NextHop {
  std::string name;
  transport::Destination destination;  // side Internal
  unsigned priority = 1;
  unsigned weight = 1;
};

struct HealthSettings {
  unsigned failures = 2;   // consecutive failures that mark a hop down
  unsigned successes = 1;  // consecutive successes that mark it up again
};

class NextHopSet {
 public:
  NextHopSet(std::vector<NextHop> hops, HealthSettings health);

  // Indexes of the hops that are up, in the order to try: by priority, and within one priority
  // a weighted random order. Empty when none is up (or none is configured).
  std::vector<std::size_t> candidates(Random& random) const;

  void reportSuccess(std::size_t index);
  void reportFailure(std::size_t index);

  std::size_t size() const { return hops_.size(); }
  const NextHop& hop(std::size_t index) const { return hops_[index]; }
  bool up(std::size_t index) const { return states_[index].up; }
  std::size_t upCount() const;

 private:
  struct State {
    bool up = true;
    unsigned failures = 0;
    unsigned successes = 0;
  };
  std::vector<NextHop> hops_;
  std::vector<State> states_;
  HealthSettings health_;
};

}  // namespace sipedge::b2bua
