#include <algorithm>
#include <tuple>

#include "sipedge/location/location.h"

namespace sipedge::location {

void sortForUse(std::vector<Binding>& bindings) {
  std::stable_sort(bindings.begin(), bindings.end(), [](const Binding& a, const Binding& b) {
    return std::tie(b.q, b.updated, a.contact) < std::tie(a.q, a.updated, b.contact);
  });
}

std::string formatQ(std::uint16_t q) {
  if (q >= 1000) {
    return "1";
  }
  if (q == 0) {
    return "0";
  }
  std::string frac = std::to_string(1000 + q).substr(1);  // three digits
  while (frac.back() == '0') {
    frac.pop_back();
  }
  return "0." + frac;
}

}  // namespace sipedge::location
