// glibc's malloc (SIPEDGE_ALLOCATOR=system, and every sanitizer or fuzzer build).

#include <malloc.h>

#include "heap.h"

namespace sipedge::app {

std::string_view allocatorName() {
  return "glibc";
}

HeapUsage heapUsage() {
  const struct mallinfo2 heap = mallinfo2();
  return HeapUsage{heap.uordblks, heap.fordblks};
}

void releaseIdleHeap() {
  malloc_trim(0);
}

}  // namespace sipedge::app
