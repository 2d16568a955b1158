// BindingTable (the in-memory bindings both stores serve lookups from) and the memory-only store.

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "binding_table.h"

namespace sipedge::location {

namespace {

bool expiredAt(const Binding& b, UnixSeconds now) {
  return b.expires <= now;
}

void appendUnexpired(const std::vector<Binding>& from, UnixSeconds now, std::vector<Binding>& to) {
  for (const Binding& b : from) {
    if (!expiredAt(b, now)) {
      to.push_back(b);
    }
  }
}

}  // namespace

std::vector<Binding> BindingTable::lookup(std::string_view aor, UnixSeconds now) const {
  std::vector<Binding> out;
  if (auto it = aors_.find(aor); it != aors_.end()) {
    appendUnexpired(it->second, now, out);
  }
  return out;
}

const std::vector<Binding>* BindingTable::update(
    std::string_view aor, UnixSeconds now,
    const std::function<bool(std::vector<Binding>&)>& change) {
  static const std::vector<Binding> kRemoved;
  auto it = aors_.find(aor);
  std::vector<Binding> edited;
  if (it != aors_.end()) {
    edited.reserve(it->second.size() + 1);
    appendUnexpired(it->second, now, edited);
  }
  if (!change(edited)) {
    return nullptr;
  }
  ++updates_;
  // What `change` added already expired (an Expires of 0 left in) is dropped as well.
  std::erase_if(edited, [now](const Binding& b) { return expiredAt(b, now); });
  for (Binding& b : edited) {
    if (b.aor != aor) {
      b.aor = std::string(aor);
    }
  }
  sortForUse(edited);
  if (it != aors_.end()) {
    bindings_ -= it->second.size();
  }
  bindings_ += edited.size();
  if (edited.empty()) {
    if (it != aors_.end()) {
      aors_.erase(it);
    }
    return &kRemoved;
  }
  if (it != aors_.end()) {
    it->second = std::move(edited);
    return &it->second;
  }
  return &aors_.emplace(std::string(aor), std::move(edited)).first->second;
}

std::vector<Binding> BindingTable::all(UnixSeconds now) const {
  std::vector<const std::pair<const std::string, std::vector<Binding>>*> entries;
  entries.reserve(aors_.size());
  for (const auto& entry : aors_) {
    entries.push_back(&entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::vector<Binding> out;
  out.reserve(bindings_);
  for (const auto* entry : entries) {
    appendUnexpired(entry->second, now, out);
  }
  return out;
}

std::size_t BindingTable::purge(UnixSeconds now) {
  std::size_t removed = 0;
  for (auto it = aors_.begin(); it != aors_.end();) {
    removed += std::erase_if(it->second, [now](const Binding& b) { return expiredAt(b, now); });
    if (it->second.empty()) {
      it = aors_.erase(it);
    } else {
      ++it;
    }
  }
  bindings_ -= removed;
  purged_ += removed;
  return removed;
}

void BindingTable::load(std::vector<Binding> bindings) {
  std::map<std::string, std::vector<Binding>> grouped;
  for (Binding& b : bindings) {
    grouped[b.aor].push_back(std::move(b));
  }
  for (auto& [aor, list] : grouped) {
    std::vector<Binding>& target = aors_[aor];
    bindings_ += list.size();
    target.insert(target.end(), std::make_move_iterator(list.begin()),
                  std::make_move_iterator(list.end()));
    sortForUse(target);
  }
}

void BindingTable::addStats(StoreStats& stats) const {
  stats.aors = aors_.size();
  stats.bindings = bindings_;
  stats.updates = updates_;
  stats.purged = purged_;
}

namespace {

class MemoryStore final : public Store {
 public:
  std::vector<Binding> lookup(std::string_view aor, UnixSeconds now) const override {
    std::shared_lock lock(mutex_);
    return table_.lookup(aor, now);
  }

  void update(std::string_view aor, UnixSeconds now,
              const std::function<bool(std::vector<Binding>&)>& change) override {
    std::unique_lock lock(mutex_);
    (void)table_.update(aor, now, change);
  }

  std::vector<Binding> all(UnixSeconds now) const override {
    std::shared_lock lock(mutex_);
    return table_.all(now);
  }

  std::size_t purge(UnixSeconds now) override {
    std::unique_lock lock(mutex_);
    return table_.purge(now);
  }

  StoreStats stats() const override {
    StoreStats s;
    std::shared_lock lock(mutex_);
    table_.addStats(s);
    return s;
  }

 private:
  mutable std::shared_mutex mutex_;
  BindingTable table_;
};

}  // namespace

std::unique_ptr<Store> makeMemoryStore() {
  return std::make_unique<MemoryStore>();
}

}  // namespace sipedge::location
