#include "sipedge/txn/branch.h"

#include <cstdint>

#include "sipedge/base/strings.h"

namespace sipedge::txn {
namespace {

constexpr std::string_view kPrefix = "z9hG4bK-w";

}  // namespace

std::string makeBranch(unsigned worker, Random& random) {
  std::string out(kPrefix);
  appendHex(out, worker, 1);
  out.push_back('-');
  for (int i = 0; i < 4; ++i) {
    appendHex(out, random.below(0x10000), 4);
  }
  return out;
}

std::optional<unsigned> workerOfBranch(std::string_view branch) {
  if (branch.size() <= kPrefix.size() || branch.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  std::string_view rest = branch.substr(kPrefix.size());
  std::size_t dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 2 || dash + 1 >= rest.size()) {
    return std::nullopt;
  }
  unsigned worker = 0;
  for (char c : rest.substr(0, dash)) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    worker = worker * 16 + d;
  }
  return worker;
}

}  // namespace sipedge::txn
