#pragma once

// The fuzz input read as a stream of choices, for the targets whose input is structured (a
// machine's events, a DNS answer script, a policy and a request) rather than text. Past the end
// every read gives 0, so any input, even an empty one, is a complete script.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sipedge::fuzz {

class Bytes {
 public:
  Bytes(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool empty() const { return i_ >= n_; }
  std::uint8_t next() { return i_ < n_ ? d_[i_++] : 0; }
  std::uint16_t next16() {
    const std::uint16_t hi = next();
    return static_cast<std::uint16_t>((hi << 8) | next());
  }
  bool bit() { return (next() & 1) != 0; }
  template <typename T, std::size_t N>
  const T& pick(const std::array<T, N>& options) {
    return options[next() % N];
  }
  // Up to `n` raw bytes (fewer at the end of the input).
  std::string take(std::size_t n) {
    std::string out;
    while (n-- > 0 && !empty()) {
      out.push_back(static_cast<char>(next()));
    }
    return out;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t i_ = 0;
};

}  // namespace sipedge::fuzz
