#pragma once

// The in-memory part shared by both stores: each AOR's bindings, kept in sortForUse order. Not
// thread-safe: the stores wrap it in their std::shared_mutex (lookups shared, edits exclusive).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sipedge/base/strings.h"
#include "sipedge/location/location.h"

namespace sipedge::location {

class BindingTable {
 public:
  std::vector<Binding> lookup(std::string_view aor, UnixSeconds now) const;
  // Store::update's semantics. Returns the AOR's new set (empty: the AOR was removed) when
  // `change` returned true, valid until the next edit; nullptr when it returned false.
  const std::vector<Binding>* update(std::string_view aor, UnixSeconds now,
                                     const std::function<bool(std::vector<Binding>&)>& change);
  std::vector<Binding> all(UnixSeconds now) const;
  std::size_t purge(UnixSeconds now);
  // Adds loaded bindings (any order, any AORs), keeping each AOR's list sorted.
  void load(std::vector<Binding> bindings);
  // The gauges and the counters this table keeps (aors, bindings, updates, purged).
  void addStats(StoreStats& stats) const;

 private:
  StringMap<std::vector<Binding>> aors_;
  std::uint64_t bindings_ = 0;
  std::uint64_t updates_ = 0;
  std::uint64_t purged_ = 0;
};

}  // namespace sipedge::location
