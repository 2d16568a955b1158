#pragma once

// Property checks for the fuzz targets: a violated property prints the expression and aborts, so
// libFuzzer (and the CTest replay driver) report it as a crash with the input that caused it.
// Active in every build, NDEBUG included: it is SIPEDGE_RELEASE_ASSERT under a name that says
// what a failure means here.

#include "sipedge/base/assert.h"

#define FUZZ_CHECK(expr) SIPEDGE_RELEASE_ASSERT(expr)
