#include "sipedge/txn/branch.h"

#include <gtest/gtest.h>

#include <set>

#include "../support/fake_random.h"
#include "sipedge/txn/key.h"

namespace sipedge::txn {
namespace {

TEST(BranchTest, NamesItsWorkerAndIsAnRfc3261Branch) {
  EngineRandom random(7);
  for (unsigned worker : {0u, 1u, 9u, 15u, 16u, 255u}) {
    std::string b = makeBranch(worker, random);
    EXPECT_TRUE(isRfc3261Branch(b)) << b;
    EXPECT_EQ(workerOfBranch(b), worker) << b;
  }
}

TEST(BranchTest, BranchesDiffer) {
  EngineRandom random(1);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(seen.insert(makeBranch(0, random)).second);
  }
}

TEST(BranchTest, OthersBranchesNameNoWorker) {
  for (std::string_view b : {"z9hG4bK74bf9", "z9hG4bK-w", "z9hG4bK-w-1", "z9hG4bK-wx-1",
                             "z9hG4bK-w1", "z9hG4bK-w123-1", "z9hG4bK-w1-", "xyz-w1-2", ""}) {
    EXPECT_FALSE(workerOfBranch(b).has_value()) << b;
  }
}

}  // namespace
}  // namespace sipedge::txn
