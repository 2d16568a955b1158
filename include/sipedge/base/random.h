#pragma once

// Randomness is injected (STYLE S2): production code uses a seeded engine on each worker, tests a
// scripted sequence.

#include <cstdint>
#include <random>

namespace sipedge {

class Random {
 public:
  virtual ~Random() = default;
  // A uniformly distributed value in [0, bound); bound > 0.
  virtual std::uint32_t below(std::uint32_t bound) = 0;
};

class EngineRandom final : public Random {
 public:
  explicit EngineRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint32_t below(std::uint32_t bound) override {
    return std::uniform_int_distribution<std::uint32_t>(0, bound - 1)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace sipedge
