#include "sipedge/b2bua/ids.h"

#include "sipedge/base/strings.h"

namespace sipedge::b2bua {

namespace {

// "sE<worker hex>-" and `words` random 32-bit words as 8 hex digits each.
std::string mintId(unsigned worker, Random& random, int words) {
  std::string out = "sE";
  out.reserve(4 + 8 * static_cast<std::size_t>(words));
  appendHex(out, worker);
  out.push_back('-');
  for (int i = 0; i < words; ++i) {
    appendHex(out, random.below(0xffffffffu), 8);
  }
  return out;
}

}  // namespace

std::string mintTag(unsigned worker, Random& random) {
  return mintId(worker, random, 2);
}

std::string mintCallId(unsigned worker, Random& random) {
  return mintId(worker, random, 4);
}

std::optional<unsigned> workerOfId(std::string_view id) {
  if (id.size() < 5 || id[0] != 's' || id[1] != 'E') {
    return std::nullopt;
  }
  unsigned worker = 0;
  std::size_t i = 2;
  for (; i < id.size() && i < 5; ++i) {
    const char c = id[i];
    if (c == '-') {
      break;
    }
    int v = -1;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    }
    if (v < 0) {
      return std::nullopt;
    }
    worker = worker * 16 + static_cast<unsigned>(v);
  }
  if (i == 2 || i >= id.size() || id[i] != '-') {
    return std::nullopt;
  }
  return worker;
}

}  // namespace sipedge::b2bua
