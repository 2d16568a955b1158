#pragma once

// Identifiers the B2BUA mints (DESIGN.md Concurrency): every tag and Call-ID sipedge creates names
// the worker that owns the dialog, so a request arriving on another worker's socket is handed
// over without a lookup. Tags look like "sE3-9f2c4a1b0d7e6f10" (worker 3); Call-IDs like
// "sE3-<32 hex>". The prefix "sE" and the dash make a foreign tag that parses as ours unlikely;
// if one does, the worst case is a 481 from the wrong worker, never another dialog.

#include <optional>
#include <string>
#include <string_view>

#include "sipedge/base/random.h"

namespace sipedge::b2bua {

std::string mintTag(unsigned worker, Random& random);
std::string mintCallId(unsigned worker, Random& random);
// The worker a tag or Call-ID minted by mintTag / mintCallId names; nullopt for any other text.
std::optional<unsigned> workerOfId(std::string_view id);

}  // namespace sipedge::b2bua
