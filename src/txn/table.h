#pragma once

// The layer's transaction table, the only owner of a worker's transactions (STYLE S11): a slot map
// that finds a transaction by id with an array index and a generation check, and two
// open-addressing indexes by matching key (RFC 3261 17.1.3, 17.2.3). The indexes hold a hash
// fragment and a slot index, never the key: the key is stored once, in its Transaction. Private to
// src/txn.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sipedge/base/assert.h"
#include "sipedge/txn/key.h"
#include "sipedge/txn/layer.h"
#include "transaction.h"

namespace sipedge::txn {

// A hash index from keys to 32-bit values (slot indexes) that keeps no key: key_of(value) gives
// the key a value stands for. Linear probing over 8-byte entries, at most half full: a miss then
// probes 2.5 entries on average (Knuth), within one or two cache lines, and the entries cost at
// most 32 bytes per key, little next to the ~1.7 KB of a transaction. Deletion shifts the rest of
// the probe chain back (Knuth's algorithm R), so there are no tombstones. It grows by doubling
// and never shrinks (like the unordered_map it replaces).
class KeyIndex {
 public:
  static constexpr std::uint32_t kNone = 0xffffffff;  // no value; a value is never kNone

  // The value indexed under a key equal to `key` (Key::operator==), or kNone.
  template <class KeyOf>
  std::uint32_t find(const Key& key, const KeyOf& key_of) const;

  // Indexes `value` under `key`, unless a value is indexed under an equal key: that one stays, and
  // this returns false (as unordered_map::emplace does).
  template <class KeyOf>
  bool insert(const Key& key, std::uint32_t value, const KeyOf& key_of);

  // Removes `value` if it is indexed under a key of this hash; a value of an equal key stays.
  bool erase(std::size_t hash, std::uint32_t value);

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return entries_.size(); }
  // The entry a key of this hash probes first; capacity() > 0.
  std::size_t homeForTest(std::size_t hash) const { return home(fragmentOf(hash)); }

 private:
  struct Entry {
    std::uint32_t fragment = 0;  // fragmentOf(hash): its top bits are the home entry
    std::uint32_t value = kNone;
  };

  // Fibonacci hashing: the top bits of the product depend on every bit of the hash, so the home
  // entry is well spread even for a weak hash, and it can be recomputed from the fragment alone.
  static std::uint32_t fragmentOf(std::size_t hash) {
    return static_cast<std::uint32_t>((std::uint64_t{hash} * 0x9e3779b97f4a7c15u) >> 32);
  }
  std::size_t home(std::uint32_t fragment) const { return fragment >> shift_; }
  std::size_t mask() const { return entries_.size() - 1; }
  void grow();

  std::vector<Entry> entries_;  // a power of two in size, or empty
  std::size_t size_ = 0;
  unsigned shift_ = 32;  // 32 - log2(capacity)
};

template <class KeyOf>
std::uint32_t KeyIndex::find(const Key& key, const KeyOf& key_of) const {
  if (size_ == 0) {
    return kNone;
  }
  const std::uint32_t fragment = fragmentOf(key.hash);
  for (std::size_t i = home(fragment);; i = (i + 1) & mask()) {
    const Entry& e = entries_[i];
    if (e.value == kNone) {
      return kNone;
    }
    if (e.fragment == fragment && key_of(e.value) == key) {
      return e.value;
    }
  }
}

template <class KeyOf>
bool KeyIndex::insert(const Key& key, std::uint32_t value, const KeyOf& key_of) {
  SIPEDGE_ASSERT(value != kNone);
  if ((size_ + 1) * 2 > entries_.size()) {
    grow();
  }
  const std::uint32_t fragment = fragmentOf(key.hash);
  for (std::size_t i = home(fragment);; i = (i + 1) & mask()) {
    Entry& e = entries_[i];
    if (e.value == kNone) {
      e = Entry{fragment, value};
      ++size_;
      return true;
    }
    if (e.fragment == fragment && key_of(e.value) == key) {
      return false;
    }
  }
}

// Transactions by id and by key. An id is the worker's index in its top kWorkerIdBits (layer.h),
// then the generation of the transaction's slot, then the slot's index. A slot's generation grows
// each time the slot is freed, so the id of an ended transaction never finds the slot's next
// occupant; a slot whose generation is used up is retired, never reused, so the generation never
// wraps. 28 bits each: room for 2^28 slots, above the 10^8 transactions the configuration allows,
// and a slot retires after 2^28 - 1 transactions (at 100,000 a second on one slot, after 45
// minutes: a 16-byte slot lost).
class TransactionTable {
 public:
  static constexpr unsigned kSlotBits = 28;
  static constexpr unsigned kGenerationBits = kWorkerIdShift - kSlotBits;
  static constexpr std::size_t kMaxSlots = std::size_t{1} << kSlotBits;

  explicit TransactionTable(unsigned worker);
  ~TransactionTable();
  TransactionTable(const TransactionTable&) = delete;
  TransactionTable& operator=(const TransactionTable&) = delete;

  // Takes `t`, gives it its id and indexes it by its key, unless a transaction of its side (client
  // or server) with an equal key is indexed: that one keeps the key.
  Transaction& insert(std::unique_ptr<Transaction> t);
  // Hands `t` back and frees its slot; removes its key from the index only if the key stands for
  // `t`. Null when `t` is not in the table (removed already).
  std::unique_ptr<Transaction> remove(const Transaction& t);

  Transaction* find(std::uint64_t id) const {
    const std::size_t index = id & kSlotMask;
    if ((id >> kWorkerIdShift) != worker_ || index >= slots_.size()) {
      return nullptr;
    }
    const Slot& s = slots_[index];
    // A free slot's generation is one no id has yet; a retired slot's is its last occupant's.
    return s.generation == ((id >> kSlotBits) & kGenerationMask) ? s.transaction.get() : nullptr;
  }
  Transaction* findByKey(bool client, const Key& key) const {
    const std::uint32_t index = (client ? client_keys_ : server_keys_).find(key, keyOf());
    return index != KeyIndex::kNone ? slots_[index].transaction.get() : nullptr;
  }

  std::size_t size() const { return size_; }
  const KeyIndex& keysForTest(bool client) const { return client ? client_keys_ : server_keys_; }
  // Ages a slot as if it had been reused this often; `generation` at most 2^kGenerationBits - 1.
  void setGenerationForTest(std::uint32_t slot, std::uint32_t generation) {
    slots_[slot].generation = generation;
  }

 private:
  static constexpr std::uint64_t kSlotMask = kMaxSlots - 1;
  static constexpr std::uint64_t kGenerationMask = (std::uint64_t{1} << kGenerationBits) - 1;
  static constexpr std::uint32_t kNoSlot = KeyIndex::kNone;

  struct Slot {
    // Owned through a pointer: a Transaction& stays valid as slots_ grows, and after remove().
    std::unique_ptr<Transaction> transaction;
    std::uint32_t generation = 1;  // never 0, so that no id is 0
    std::uint32_t next_free = kNoSlot;
  };

  // The indexes' key_of: the key of the transaction in a slot.
  struct KeyOfSlot {
    const std::vector<Slot>* slots;
    const Key& operator()(std::uint32_t index) const { return (*slots)[index].transaction->key; }
  };
  KeyOfSlot keyOf() const { return KeyOfSlot{&slots_}; }

  std::vector<Slot> slots_;
  std::uint32_t free_ = kNoSlot;  // the most recently freed slot: its memory is likely cached
  std::size_t size_ = 0;
  std::uint64_t worker_;
  KeyIndex server_keys_;
  KeyIndex client_keys_;
};

}  // namespace sipedge::txn
