#pragma once

// The heap of `sipedge run`, whichever allocator the binary was built with (SIPEDGE_ALLOCATOR:
// heap_jemalloc.cc or heap_system.cc is compiled in).

#include <cstddef>
#include <string_view>

namespace sipedge::app {

struct HeapUsage {
  std::size_t in_use = 0;  // bytes handed out to the program
  std::size_t idle = 0;    // bytes the allocator holds, resident, that nothing uses
};

// "jemalloc" or "glibc".
std::string_view allocatorName();

HeapUsage heapUsage();

// Gives the idle pages back to the system (the allocator's locks are taken briefly).
void releaseIdleHeap();

}  // namespace sipedge::app
