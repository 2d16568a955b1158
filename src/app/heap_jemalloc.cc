// jemalloc (SIPEDGE_ALLOCATOR=jemalloc, the default): Debian's libjemalloc replaces malloc and
// free for the whole process.

#include <jemalloc/jemalloc.h>

#include <cstdint>

#include "heap.h"

// Read by jemalloc at its first allocation. No time-based decay: freed pages stay with jemalloc,
// as with glibc, so that a steady load does not give pages back only to fault them in (zeroed)
// again a few seconds later (that cost ~3% of the CPU per call with a 5 s decay). `sipedge run`'s
// heap releaser gives them back when most of the heap is idle (releaseIdleHeap).
extern "C" {
// NOLINTNEXTLINE(readability-identifier-naming): the name is jemalloc's.
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}

namespace sipedge::app {
namespace {

std::size_t statistic(const char* name) {
  std::size_t value = 0;
  std::size_t size = sizeof value;
  return mallctl(name, &value, &size, nullptr, 0) == 0 ? value : 0;
}

}  // namespace

std::string_view allocatorName() {
  return "jemalloc";
}

HeapUsage heapUsage() {
  std::uint64_t epoch = 1;
  std::size_t size = sizeof epoch;
  mallctl("epoch", &epoch, &size, &epoch, size);  // refreshes the statistics below
  const std::size_t allocated = statistic("stats.allocated");
  const std::size_t resident = statistic("stats.resident");
  return HeapUsage{allocated, resident > allocated ? resident - allocated : 0};
}

#define SIPEDGE_STRINGIFY_(x) #x
#define SIPEDGE_STRINGIFY(x) SIPEDGE_STRINGIFY_(x)

void releaseIdleHeap() {
  mallctl("arena." SIPEDGE_STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", nullptr, nullptr, nullptr, 0);
}

}  // namespace sipedge::app
