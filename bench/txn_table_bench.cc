// The transaction layer's table: the old structure (an unordered_map from id to transaction plus
// one from key to id for each side) against txn::TransactionTable (a slot map plus open-addressing
// key indexes), at 400,000 live transactions (3,000 calls/s with 32 s wait timers), half server,
// half client.
//
//   lookup_hit    findByKey for a live key (a retransmission, a response), random order
//   lookup_miss   findByKey for a key no transaction has (a new request)
//   find_id       find by id (a timer, a send error, a TU call)
//   churn         the oldest transaction ends and a new one starts: remove + insert
//   baseline      reading the probe key alone, which every lookup above includes
//
// Keys are built like txn::serverKey's (branch, sent-by, method: about 60 bytes, on the heap) and
// hashed like key.cc. Both tables hold real Transactions; churn reuses the removed Transaction
// with the next key, so that it times the tables, not the allocation of a Transaction.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "../src/txn/table.h"

namespace {

using sipedge::txn::ClientSide;
using sipedge::txn::Key;
using sipedge::txn::ServerSide;
using sipedge::txn::Transaction;
using sipedge::txn::TransactionTable;

constexpr std::size_t kLive = 400000;
constexpr std::size_t kKeys = 2 * kLive;  // a multiple of kLive (see Fixture)
constexpr std::size_t kProbes = 1 << 16;

// The layer's table before the slot map, as layer.cc had it.
class OldTable {
 public:
  Transaction& insert(std::unique_ptr<Transaction> t) {
    t->id = next_id_++;
    (t->isClient() ? client_keys_ : server_keys_).emplace(t->key, t->id);
    Transaction& ref = *t;
    table_.emplace(ref.id, std::move(t));
    return ref;
  }
  std::unique_ptr<Transaction> remove(const Transaction& t) {
    auto& keys = t.isClient() ? client_keys_ : server_keys_;
    if (auto k = keys.find(t.key); k != keys.end() && k->second == t.id) {
      keys.erase(k);
    }
    auto it = table_.find(t.id);
    if (it == table_.end()) {
      return nullptr;
    }
    std::unique_ptr<Transaction> out = std::move(it->second);
    table_.erase(it);
    return out;
  }
  Transaction* find(std::uint64_t id) const {
    auto it = table_.find(id);
    return it != table_.end() ? it->second.get() : nullptr;
  }
  Transaction* findByKey(bool client, const Key& key) const {
    const auto& keys = client ? client_keys_ : server_keys_;
    auto it = keys.find(key);
    return it != keys.end() ? find(it->second) : nullptr;
  }

 private:
  std::unordered_map<std::uint64_t, std::unique_ptr<Transaction>> table_;
  std::unordered_map<Key, std::uint64_t> server_keys_;
  std::unordered_map<Key, std::uint64_t> client_keys_;
  std::uint64_t next_id_ = 1;
};

class NewTable : public TransactionTable {
 public:
  NewTable() : TransactionTable(0) {}
};

// Key k (of kKeys) belongs to a server transaction when k is even. The live keys are
// step .. step + kLive - 1 (mod kKeys); the transaction of live key k sits in ring[k % kLive].
const std::vector<Key>& keys() {
  static const std::vector<Key> all = [] {
    std::vector<Key> out(kKeys);
    std::mt19937_64 random(1);
    char text[128];
    for (std::size_t k = 0; k < kKeys; ++k) {
      const bool client = k % 2 == 1;
      const int n = std::snprintf(text, sizeof text, "3261\x1fz9hG4bK%016llx%08llx\x1f%s\x1f%s\x1f",
                                  static_cast<unsigned long long>(random()),
                                  static_cast<unsigned long long>(random() >> 32),
                                  client ? "203.0.113.5:5060" : "198.51.100.7:5070",
                                  k % 4 < 2 ? "INVITE" : "BYE");
      out[k].text.assign(text, static_cast<std::size_t>(n));
      out[k].hash = std::hash<std::string_view>()(out[k].text);
    }
    return out;
  }();
  return all;
}

std::unique_ptr<Transaction> transaction(const Key& key, bool client) {
  auto t = std::make_unique<Transaction>();
  t->key = key;
  if (client) {
    t->role = ClientSide{};
  } else {
    t->role = ServerSide{};
  }
  return t;
}

template <class Table>
struct Fixture {
  Table table;
  std::vector<Transaction*> ring = std::vector<Transaction*>(kLive);
  std::vector<std::uint64_t> ids = std::vector<std::uint64_t>(kLive);  // of ring[i]
  std::vector<std::uint32_t> offsets = std::vector<std::uint32_t>(kProbes);
  std::size_t step = 0;

  Fixture() {
    for (std::size_t k = 0; k < kLive; ++k) {
      ring[k] = &table.insert(transaction(keys()[k], k % 2 == 1));
      ids[k] = ring[k]->id;
    }
    std::mt19937 random(2);
    for (auto& o : offsets) {
      o = static_cast<std::uint32_t>(random() % kLive);
    }
  }
  static Fixture& get() {
    static Fixture f;
    return f;
  }
};

// What every lookup pays before it reaches a table: reading a probe key that is not in the cache.
void probeKeyOnly(benchmark::State& state) {
  const auto& f = Fixture<NewTable>::get();
  std::size_t i = 0;
  for (auto _ : state) {
    const Key& key = keys()[(f.step + f.offsets[i++ % kProbes]) % kKeys];
    benchmark::DoNotOptimize(key.hash + static_cast<std::size_t>(key.text.back()));
  }
}

template <class Table>
void lookupHit(benchmark::State& state) {
  auto& f = Fixture<Table>::get();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t k = (f.step + f.offsets[i++ % kProbes]) % kKeys;
    Transaction* t = f.table.findByKey(k % 2 == 1, keys()[k]);
    if (t == nullptr) {
      state.SkipWithError("a live key was not found");
      break;
    }
    benchmark::DoNotOptimize(t->state);
  }
}

template <class Table>
void lookupMiss(benchmark::State& state) {
  auto& f = Fixture<Table>::get();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t k = (f.step + kLive + f.offsets[i++ % kProbes]) % kKeys;
    Transaction* t = f.table.findByKey(k % 2 == 1, keys()[k]);
    if (t != nullptr) {
      state.SkipWithError("a dead key was found");
      break;
    }
    benchmark::DoNotOptimize(t);
  }
}

template <class Table>
void findId(benchmark::State& state) {
  auto& f = Fixture<Table>::get();
  std::size_t i = 0;
  for (auto _ : state) {
    Transaction* t = f.table.find(f.ids[f.offsets[i++ % kProbes]]);
    if (t == nullptr) {
      state.SkipWithError("a live id was not found");
      break;
    }
    benchmark::DoNotOptimize(t->state);
  }
}

template <class Table>
void churn(benchmark::State& state) {
  auto& f = Fixture<Table>::get();
  for (auto _ : state) {
    const std::size_t r = f.step % kLive;
    std::unique_ptr<Transaction> t = f.table.remove(*f.ring[r]);
    const std::size_t k = (f.step + kLive) % kKeys;  // the same side as the removed key
    t->key = keys()[k];
    f.ring[r] = &f.table.insert(std::move(t));
    f.ids[r] = f.ring[r]->id;
    ++f.step;
  }
}

BENCHMARK(probeKeyOnly)->Name("baseline/probe_key_only");
BENCHMARK(lookupHit<OldTable>)->Name("lookup_hit/old_unordered_maps");
BENCHMARK(lookupHit<NewTable>)->Name("lookup_hit/new_slot_map");
BENCHMARK(lookupMiss<OldTable>)->Name("lookup_miss/old_unordered_maps");
BENCHMARK(lookupMiss<NewTable>)->Name("lookup_miss/new_slot_map");
BENCHMARK(findId<OldTable>)->Name("find_id/old_unordered_maps");
BENCHMARK(findId<NewTable>)->Name("find_id/new_slot_map");
BENCHMARK(churn<OldTable>)->Name("churn/old_unordered_maps");
BENCHMARK(churn<NewTable>)->Name("churn/new_slot_map");

}  // namespace

BENCHMARK_MAIN();
