#pragma once

// Via branches that sipedge mints (RFC 3261 8.1.1.7) carry the index of the worker that owns the
// client transaction (DESIGN.md Concurrency), so that a response arriving on another worker's
// socket is handed over without a lookup or a lock: "z9hG4bK" "-w" HEX(worker) "-" RANDOM.

#include <optional>
#include <string>
#include <string_view>

#include "sipedge/base/random.h"

namespace sipedge::txn {

// A new branch for a client transaction owned by `worker`, with 64 bits of randomness.
std::string makeBranch(unsigned worker, Random& random);

// The worker a branch minted by makeBranch names; nullopt for anyone else's branch.
std::optional<unsigned> workerOfBranch(std::string_view branch);

}  // namespace sipedge::txn
