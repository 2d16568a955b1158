// The layer's transaction table: the slot map (ids, generations, slot reuse) and the
// open-addressing key indexes (collisions, deletion inside probe chains, growth), each checked
// against std::unordered_map as a model over many random operations.

#include "../../src/txn/table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace sipedge::txn {
namespace {

std::unique_ptr<Transaction> transaction(bool client, std::string text, std::size_t hash) {
  auto t = std::make_unique<Transaction>();
  t->key = Key{std::move(text), hash};
  if (client) {
    t->role = ClientSide{};
  } else {
    t->role = ServerSide{};
  }
  return t;
}

std::unique_ptr<Transaction> transaction(bool client, const std::string& text) {
  return transaction(client, text, std::hash<std::string_view>()(text));
}

constexpr std::uint64_t kSlotMask = TransactionTable::kMaxSlots - 1;

// ---- TransactionTable ----

TEST(TxnTable, InsertFindRemove) {
  TransactionTable table(3);
  Transaction& server = table.insert(transaction(false, "a"));
  Transaction& client = table.insert(transaction(true, "a"));  // the sides are apart
  EXPECT_EQ(table.size(), 2u);
  EXPECT_NE(server.id, 0u);
  EXPECT_NE(server.id, client.id);
  EXPECT_EQ(workerOfId(server.id), 3u);
  EXPECT_EQ(workerOfId(client.id), 3u);
  EXPECT_EQ(table.find(server.id), &server);
  EXPECT_EQ(table.find(client.id), &client);
  EXPECT_EQ(table.findByKey(false, server.key), &server);
  EXPECT_EQ(table.findByKey(true, client.key), &client);
  EXPECT_EQ(table.findByKey(false, transaction(false, "b")->key), nullptr);

  const std::uint64_t id = server.id;
  std::unique_ptr<Transaction> gone = table.remove(server);
  ASSERT_EQ(gone.get(), &server);  // handed back: references stay valid until it is freed
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.find(id), nullptr);
  EXPECT_EQ(table.findByKey(false, gone->key), nullptr);
  EXPECT_EQ(table.findByKey(true, client.key), &client);
  EXPECT_EQ(table.remove(*gone), nullptr);  // removed already
  EXPECT_EQ(table.size(), 1u);
}

TEST(TxnTable, IdZeroAndForeignIdsFindNothing) {
  TransactionTable mine(0);
  Transaction& t = mine.insert(transaction(false, "a"));
  EXPECT_NE(t.id, 0u);  // worker 0, slot 0: the generation keeps the id from being 0
  EXPECT_EQ(mine.find(0), nullptr);
  const std::uint64_t other_worker = t.id | (std::uint64_t{1} << kWorkerIdShift);
  EXPECT_EQ(mine.find(other_worker), nullptr);
  EXPECT_EQ(mine.find(t.id + 1), nullptr);  // a slot that does not exist
}

TEST(TxnTable, StaleIdsNeverFindTheSlotsNextOccupant) {
  TransactionTable table(1);
  std::vector<std::uint64_t> old_ids;
  Transaction* t = &table.insert(transaction(false, "k"));
  for (int i = 0; i < 1000; ++i) {
    old_ids.push_back(t->id);
    ASSERT_TRUE(table.remove(*t));
    EXPECT_EQ(table.find(old_ids.back()), nullptr);  // freed, not yet reused
    t = &table.insert(transaction(false, "k"));
    ASSERT_EQ(t->id & kSlotMask, old_ids.back() & kSlotMask);  // the same slot, reused
  }
  for (std::uint64_t id : old_ids) {
    EXPECT_NE(id, t->id);
    EXPECT_EQ(table.find(id), nullptr);
  }
  EXPECT_EQ(table.find(t->id), t);
  EXPECT_EQ(table.findByKey(false, t->key), t);
}

TEST(TxnTable, ASlotWhoseGenerationIsUsedUpIsNeverReused) {
  TransactionTable table(0);
  constexpr std::uint32_t kLast = (std::uint32_t{1} << TransactionTable::kGenerationBits) - 1;
  ASSERT_TRUE(table.remove(table.insert(transaction(false, "a"))));
  table.setGenerationForTest(0, kLast);
  Transaction& last = table.insert(transaction(false, "b"));
  ASSERT_EQ(last.id & kSlotMask, 0u);
  const std::uint64_t last_id = last.id;
  EXPECT_EQ(table.find(last_id), &last);
  ASSERT_TRUE(table.remove(last));
  Transaction& next = table.insert(transaction(false, "c"));
  EXPECT_EQ(next.id & kSlotMask, 1u);  // a new slot: slot 0 would wrap to its first ids
  EXPECT_EQ(table.find(last_id), nullptr);
  Transaction& after = table.insert(transaction(false, "d"));
  EXPECT_EQ(after.id & kSlotMask, 2u);
  EXPECT_EQ(table.size(), 2u);
}

TEST(TxnTable, AnEqualKeyKeepsTheFirstTransactionIndexed) {
  TransactionTable table(0);
  Transaction& first = table.insert(transaction(false, "same"));
  Transaction& second = table.insert(transaction(false, "same"));
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.findByKey(false, second.key), &first);
  EXPECT_EQ(table.find(second.id), &second);
  ASSERT_TRUE(table.remove(second));  // its key stood for the first one: that stays
  EXPECT_EQ(table.findByKey(false, first.key), &first);
  Transaction& third = table.insert(transaction(false, "same"));
  ASSERT_TRUE(table.remove(first));
  EXPECT_EQ(table.findByKey(false, third.key), nullptr);  // as unordered_map::emplace left it
  EXPECT_EQ(table.find(third.id), &third);
}

TEST(TxnTable, EqualHashesAreToldApartByTheKeyText) {
  TransactionTable table(0);
  std::vector<Transaction*> all;
  for (int i = 0; i < 50; ++i) {
    all.push_back(&table.insert(transaction(i % 2 == 0, "key" + std::to_string(i), 42)));
  }
  for (Transaction* t : all) {
    EXPECT_EQ(table.findByKey(t->isClient(), t->key), t);
    EXPECT_EQ(table.findByKey(!t->isClient(), t->key), nullptr);
  }
  EXPECT_EQ(table.findByKey(false, Key{"key99", 42}), nullptr);
}

// ---- KeyIndex ----

// Values are indexes into a vector of keys.
struct IndexFixture {
  std::vector<Key> keys;
  KeyIndex index;
  auto keyOf() const {
    return [this](std::uint32_t v) -> const Key& { return keys[v]; };
  }
  std::uint32_t add(std::string text, std::size_t hash) {
    keys.push_back(Key{std::move(text), hash});
    const auto v = static_cast<std::uint32_t>(keys.size() - 1);
    EXPECT_TRUE(index.insert(keys[v], v, keyOf()));
    return v;
  }
  std::uint32_t find(std::uint32_t v) const { return index.find(keys[v], keyOf()); }
};

// A hash whose home entry is `home` in an index of the fixture's capacity.
std::size_t hashWithHome(const KeyIndex& index, std::size_t home, std::size_t after = 0) {
  for (std::size_t h = after + 1;; ++h) {
    if (index.homeForTest(h) == home) {
      return h;
    }
  }
}

TEST(TxnKeyIndex, CollidingKeysAndDeletionInTheMiddleOfAChain) {
  IndexFixture f;
  const std::uint32_t a = f.add("a", 7);
  const std::uint32_t b = f.add("b", 7);
  const std::uint32_t c = f.add("c", 7);
  const std::uint32_t d = f.add("d", 7);
  EXPECT_EQ(f.index.find(Key{"e", 7}, f.keyOf()), KeyIndex::kNone);
  EXPECT_TRUE(f.index.erase(7, b));
  EXPECT_FALSE(f.index.erase(7, b));
  EXPECT_FALSE(f.index.erase(8, c));  // a value is found under its own hash only
  EXPECT_EQ(f.find(a), a);
  EXPECT_EQ(f.find(b), KeyIndex::kNone);
  EXPECT_EQ(f.find(c), c);
  EXPECT_EQ(f.find(d), d);
  EXPECT_EQ(f.index.size(), 3u);
}

TEST(TxnKeyIndex, ChainsOfDifferentHomesWrappingAroundTheEnd) {
  IndexFixture f;
  f.add("seed", 1);  // allocates the first 16 entries
  ASSERT_EQ(f.index.capacity(), 16u);
  const std::size_t last = f.index.capacity() - 1;
  // One chain over entries 14, 15, 0, 1, 2 mixing homes 14, 15 and 0, with the seed somewhere.
  const std::size_t h14 = hashWithHome(f.index, last - 1);
  const std::size_t h15 = hashWithHome(f.index, last);
  const std::size_t h0 = hashWithHome(f.index, 0);
  const std::size_t h0b = hashWithHome(f.index, 0, h0);
  const std::uint32_t a = f.add("a", h14);
  const std::uint32_t b = f.add("b", h14);
  const std::uint32_t c = f.add("c", h15);
  const std::uint32_t d = f.add("d", h0);
  const std::uint32_t e = f.add("e", h0b);
  ASSERT_EQ(f.index.capacity(), 16u);  // six keys: no growth yet

  // The head of the chain: every later entry must stay reachable from its home.
  ASSERT_TRUE(f.index.erase(h14, a));
  for (std::uint32_t v : {b, c, d, e}) {
    EXPECT_EQ(f.find(v), v) << f.keys[v].text;
  }
  // An entry past the wrap whose successors are at their home or behind it.
  ASSERT_TRUE(f.index.erase(h0, d));
  for (std::uint32_t v : {b, c, e}) {
    EXPECT_EQ(f.find(v), v) << f.keys[v].text;
  }
  ASSERT_TRUE(f.index.erase(h15, c));
  EXPECT_EQ(f.find(b), b);
  EXPECT_EQ(f.find(e), e);
  EXPECT_EQ(f.find(a), KeyIndex::kNone);
  EXPECT_EQ(f.find(c), KeyIndex::kNone);
  EXPECT_EQ(f.find(d), KeyIndex::kNone);
  EXPECT_EQ(f.index.size(), 3u);
}

TEST(TxnKeyIndex, GrowsByDoublingAndStaysAtMostHalfFull) {
  IndexFixture f;
  std::size_t capacity = 0;
  for (std::uint32_t i = 0; i < 100000; ++i) {
    f.add("key" + std::to_string(i), std::hash<std::uint32_t>()(i));
    if (f.index.capacity() != capacity) {
      EXPECT_TRUE(capacity == 0 || f.index.capacity() == capacity * 2);
      capacity = f.index.capacity();
    }
    ASSERT_LE(f.index.size() * 2, f.index.capacity());
  }
  EXPECT_EQ(f.index.capacity(), 262144u);
  for (std::uint32_t v = 0; v < f.keys.size(); ++v) {
    ASSERT_EQ(f.find(v), v);
  }
}

// ---- against a model ----

TEST(TxnTable, RandomOperationsMatchUnorderedMaps) {
  std::mt19937 random(20240611);
  TransactionTable table(5);
  // The model: the old layer's maps.
  std::unordered_map<std::uint64_t, Transaction*> by_id;
  std::unordered_map<Key, std::uint64_t> keys[2];  // server, client
  std::vector<std::uint64_t> live;
  std::vector<std::uint64_t> dead;
  std::vector<std::unique_ptr<Transaction>> graveyard;

  // Few distinct texts (equal keys happen) and few distinct hashes (collisions happen).
  auto randomKey = [&] {
    const unsigned n = random() % 3000;
    return Key{"k" + std::to_string(n), n % 700};
  };
  for (int op = 0; op < 300000; ++op) {
    const unsigned what = random() % 10;
    if (what < 4 || live.empty()) {
      const bool client = random() % 2 == 0;
      Key key = randomKey();
      Transaction& t = table.insert(transaction(client, key.text, key.hash));
      ASSERT_NE(t.id, 0u);
      ASSERT_EQ(workerOfId(t.id), 5u);
      ASSERT_TRUE(by_id.emplace(t.id, &t).second);  // never an id still live
      keys[client].emplace(t.key, t.id);
      live.push_back(t.id);
    } else if (what < 7) {
      const std::size_t i = random() % live.size();
      Transaction* t = by_id.at(live[i]);
      auto& k = keys[t->isClient()];
      if (auto it = k.find(t->key); it != k.end() && it->second == t->id) {
        k.erase(it);
      }
      by_id.erase(t->id);
      std::unique_ptr<Transaction> gone = table.remove(*t);
      ASSERT_EQ(gone.get(), t);
      dead.push_back(t->id);
      live[i] = live.back();
      live.pop_back();
      graveyard.push_back(std::move(gone));
      if (graveyard.size() > 100) {
        graveyard.erase(graveyard.begin(), graveyard.begin() + 50);
      }
    } else if (what < 9) {
      const bool client = random() % 2 == 0;
      const Key key = randomKey();
      auto it = keys[client].find(key);
      Transaction* expected = it != keys[client].end() ? by_id.at(it->second) : nullptr;
      ASSERT_EQ(table.findByKey(client, key), expected);
    } else {
      const std::uint64_t id = !dead.empty() && random() % 2 == 0 ? dead[random() % dead.size()]
                                                                  : live[random() % live.size()];
      auto it = by_id.find(id);
      ASSERT_EQ(table.find(id), it != by_id.end() ? it->second : nullptr);
    }
    ASSERT_EQ(table.size(), by_id.size());
    ASSERT_EQ(table.keysForTest(false).size(), keys[0].size());
    ASSERT_EQ(table.keysForTest(true).size(), keys[1].size());
  }
  for (const auto& side : keys) {
    for (const auto& [key, id] : side) {
      ASSERT_EQ(table.findByKey(by_id.at(id)->isClient(), key), by_id.at(id));
    }
  }
}

TEST(TxnKeyIndex, RandomOperationsMatchAnUnorderedMap) {
  std::mt19937 random(7);
  IndexFixture f;
  std::unordered_map<Key, std::uint32_t> model;
  std::vector<std::uint32_t> indexed;
  for (int op = 0; op < 500000; ++op) {
    const unsigned what = random() % 3;
    const unsigned n = random() % 5000;
    const Key key{"k" + std::to_string(n), n % 1200};  // equal hashes for different texts
    if (what == 0) {
      f.keys.push_back(key);
      const auto v = static_cast<std::uint32_t>(f.keys.size() - 1);
      const bool added = model.emplace(key, v).second;
      ASSERT_EQ(f.index.insert(key, v, f.keyOf()), added);
      if (added) {
        indexed.push_back(v);
      }
    } else if (what == 1 && !indexed.empty()) {
      const std::size_t i = random() % indexed.size();
      const std::uint32_t v = indexed[i];
      ASSERT_TRUE(f.index.erase(f.keys[v].hash, v));
      model.erase(f.keys[v]);
      indexed[i] = indexed.back();
      indexed.pop_back();
    } else {
      auto it = model.find(key);
      ASSERT_EQ(f.index.find(key, f.keyOf()), it != model.end() ? it->second : KeyIndex::kNone);
    }
    ASSERT_EQ(f.index.size(), model.size());
    ASSERT_LE(f.index.size() * 2, f.index.capacity());
  }
  for (const auto& [key, v] : model) {
    ASSERT_EQ(f.index.find(key, f.keyOf()), v);
  }
}

}  // namespace
}  // namespace sipedge::txn
