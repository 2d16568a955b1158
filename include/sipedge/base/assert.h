#pragma once

// Assertion tiers (STYLE S20). Never assert on anything a peer, DNS, the directory or the
// configuration can cause: those are errors, returned as values.

#include <cstdio>
#include <cstdlib>

namespace sipedge::detail {
[[noreturn]] inline void assertFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "sipedge: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace sipedge::detail

// Unrecoverable: checked in every build.
#define SIPEDGE_RELEASE_ASSERT(expr)                              \
  do {                                                            \
    if (!(expr)) {                                                \
      ::sipedge::detail::assertFailed(#expr, __FILE__, __LINE__); \
    }                                                             \
  } while (false)

// A provable invariant: checked in debug builds only.
#ifdef NDEBUG
#define SIPEDGE_ASSERT(expr) \
  do {                       \
    (void)sizeof(expr);      \
  } while (false)
#else
#define SIPEDGE_ASSERT(expr) SIPEDGE_RELEASE_ASSERT(expr)
#endif
