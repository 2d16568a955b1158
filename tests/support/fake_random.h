#pragma once

// A Random that returns a scripted sequence (each value taken modulo the bound), then zeros.

#include <cstdint>
#include <vector>

#include "sipedge/base/random.h"

namespace sipedge::testing {

class FakeRandom final : public Random {
 public:
  explicit FakeRandom(std::vector<std::uint32_t> script = {}) : script_(std::move(script)) {}
  std::uint32_t below(std::uint32_t bound) override {
    bounds.push_back(bound);
    const std::uint32_t v = next_ < script_.size() ? script_[next_++] : 0;
    return v % bound;
  }
  std::vector<std::uint32_t> bounds;  // every bound asked for, in order

 private:
  std::vector<std::uint32_t> script_;
  std::size_t next_ = 0;
};

}  // namespace sipedge::testing
