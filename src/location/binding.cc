#include <algorithm>
#include <tuple>

#include "sipedge/location/location.h"

namespace sipedge::location {

void sortForUse(std::vector<Binding>& bindings) {
  std::stable_sort(bindings.begin(), bindings.end(), [](const Binding& a, const Binding& b) {
    return std::tie(b.q, b.updated, a.contact) < std::tie(a.q, a.updated, b.contact);
  });
}

}  // namespace sipedge::location
