#pragma once

// Property checks for the fuzz targets: a violated property prints what failed and aborts, so
// libFuzzer (and the CTest replay driver) report it as a crash with the input that caused it.
// Unlike SIPEDGE_ASSERT these are active in every build, NDEBUG included.

#include <cstdio>
#include <cstdlib>

namespace sipedge::fuzz {

[[noreturn]] inline void propertyViolated(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "fuzz property violated: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace sipedge::fuzz

#define FUZZ_CHECK(expr)                                            \
  do {                                                              \
    if (!(expr)) {                                                  \
      ::sipedge::fuzz::propertyViolated(#expr, __FILE__, __LINE__); \
    }                                                               \
  } while (false)
