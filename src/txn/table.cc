#include "table.h"

#include <bit>
#include <utility>

namespace sipedge::txn {

// ---- KeyIndex ----

void KeyIndex::grow() {
  const std::size_t capacity = entries_.empty() ? 16 : entries_.size() * 2;
  SIPEDGE_RELEASE_ASSERT(capacity <= (std::size_t{1} << 32));  // homes come from 32-bit fragments
  std::vector<Entry> old(capacity);
  old.swap(entries_);
  shift_ = 32 - static_cast<unsigned>(std::countr_zero(capacity));
  for (const Entry& e : old) {
    if (e.value == kNone) {
      continue;
    }
    std::size_t i = home(e.fragment);
    while (entries_[i].value != kNone) {
      i = (i + 1) & mask();
    }
    entries_[i] = e;
  }
}

bool KeyIndex::erase(std::size_t hash, std::uint32_t value) {
  if (size_ == 0) {
    return false;
  }
  const std::uint32_t fragment = fragmentOf(hash);
  std::size_t hole = home(fragment);
  while (entries_[hole].value != value || entries_[hole].fragment != fragment) {
    if (entries_[hole].value == kNone) {
      return false;
    }
    hole = (hole + 1) & mask();
  }
  // Close the hole: a later entry of the chain moves into it when the hole lies on its probe path,
  // that is when it sits at least as far from its home as from the hole.
  for (std::size_t j = (hole + 1) & mask(); entries_[j].value != kNone; j = (j + 1) & mask()) {
    const std::size_t from_home = (j - home(entries_[j].fragment)) & mask();
    if (from_home >= ((j - hole) & mask())) {
      entries_[hole] = entries_[j];
      hole = j;
    }
  }
  entries_[hole] = Entry{};
  --size_;
  return true;
}

// ---- TransactionTable ----

TransactionTable::TransactionTable(unsigned worker) : worker_(worker) {
  SIPEDGE_RELEASE_ASSERT(worker < kMaxWorkers);
}

TransactionTable::~TransactionTable() = default;

Transaction& TransactionTable::insert(std::unique_ptr<Transaction> t) {
  std::uint32_t index = free_;
  if (index != kNoSlot) {
    free_ = slots_[index].next_free;
  } else {
    SIPEDGE_RELEASE_ASSERT(slots_.size() < kMaxSlots);
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[index];
  t->id = (worker_ << kWorkerIdShift) | (std::uint64_t{s.generation} << kSlotBits) | index;
  s.transaction = std::move(t);
  ++size_;
  Transaction& ref = *s.transaction;
  (ref.isClient() ? client_keys_ : server_keys_).insert(ref.key, index, keyOf());
  return ref;
}

std::unique_ptr<Transaction> TransactionTable::remove(const Transaction& t) {
  const auto index = static_cast<std::uint32_t>(t.id & kSlotMask);
  if (index >= slots_.size() || slots_[index].transaction.get() != &t) {
    return nullptr;
  }
  (t.isClient() ? client_keys_ : server_keys_).erase(t.key.hash, index);
  Slot& s = slots_[index];
  std::unique_ptr<Transaction> out = std::move(s.transaction);
  // A slot whose generation is used up is retired: reused, it would give out its first ids again.
  if (s.generation < kGenerationMask) {
    ++s.generation;
    s.next_free = free_;
    free_ = index;
  }
  --size_;
  return out;
}

}  // namespace sipedge::txn
