#pragma once

// One result type for the whole code base (STYLE S18). g++ 12 has std::expected only under C++23
// and clang 14 cannot compile libstdc++'s <expected>, so we use tl::expected behind an alias.

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace sipedge {

// A generic error for code that has no richer domain error type.
struct Error {
  std::string message;
  bool operator==(const Error&) const = default;
};

template <class T, class E = Error>
using Result = tl::expected<T, E>;

template <class E>
[[nodiscard]] tl::unexpected<std::decay_t<E>> fail(E&& e) {
  return tl::unexpected<std::decay_t<E>>(std::forward<E>(e));
}

}  // namespace sipedge
