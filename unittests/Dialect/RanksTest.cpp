//===- RanksTest.cpp - named-rank bookkeeping -----------------------------===//

#include "attn/Dialect/Attn/IR/Ranks.h"

#include "gtest/gtest.h"

using namespace mlir::attn;

namespace {

TEST(Ranks, FindsDuplicates) {
  EXPECT_EQ(findDuplicateRank({"p", "m", "e"}), std::nullopt);
  EXPECT_EQ(findDuplicateRank({"p", "m", "p"}), std::optional<llvm::StringRef>("p"));
  EXPECT_EQ(findDuplicateRank({}), std::nullopt);
}

TEST(Ranks, UnionKeepsFirstAppearanceOrder) {
  RankList a{"p", "e"}, b{"m", "e"}, c{"f", "p"};
  EXPECT_EQ(unionOfRanks({a, b, c}), (RankList{"p", "e", "m", "f"}));
}

TEST(Ranks, DroppedRanksAreTheSummedOnes) {
  // QK[p, m] = Σ_e Q[p, e] · K[m, e]
  RankList q{"p", "e"}, k{"m", "e"};
  EXPECT_EQ(droppedRanks({q, k}, {"p", "m"}), (RankList{"e"}));
  // A full reduction drops everything.
  EXPECT_EQ(droppedRanks({q}, {}), (RankList{"p", "e"}));
  // A transpose drops nothing.
  EXPECT_TRUE(droppedRanks({q}, {"e", "p"}).empty());
}

TEST(Ranks, FindRank) {
  EXPECT_EQ(findRank({"m1", "m0", "p"}, "m0"), std::optional<unsigned>(1));
  EXPECT_EQ(findRank({"m1", "m0", "p"}, "e"), std::nullopt);
}

TEST(Ranks, SplitReplacesOneRankByTwoFreshOnes) {
  EXPECT_EQ(findSplitDim({"m", "e"}, {"m1", "m0", "e"}), std::optional<unsigned>(0));
  EXPECT_EQ(findSplitDim({"p", "m"}, {"p", "m1", "m0"}), std::optional<unsigned>(1));
  EXPECT_EQ(findSplitDim({"p", "m", "e"}, {"p", "m1", "m0", "e"}),
            std::optional<unsigned>(1));
  // Not one more rank.
  EXPECT_EQ(findSplitDim({"m", "e"}, {"m1", "e"}), std::nullopt);
  // The other ranks must stay in place.
  EXPECT_EQ(findSplitDim({"m", "e"}, {"e", "m1", "m0"}), std::nullopt);
  // New ranks must not reuse a name of the operand.
  EXPECT_EQ(findSplitDim({"m", "e"}, {"m", "m0", "e"}), std::nullopt);
  EXPECT_EQ(findSplitDim({"m", "e"}, {"e", "m0", "e"}), std::nullopt);
  EXPECT_EQ(findSplitDim({"m"}, {"x", "x"}), std::nullopt);
}

TEST(Ranks, ExtentsConflictOnlyWhenBothStatic) {
  RankExtents extents;
  EXPECT_TRUE(extents.bind("e", 64));
  EXPECT_TRUE(extents.bind("e", 64));
  EXPECT_FALSE(extents.bind("e", 32));
  EXPECT_EQ(extents.lookup("e"), std::optional<int64_t>(64));
  // Dynamic extents (negative) match anything and bind nothing.
  EXPECT_TRUE(extents.bind("p", -1));
  EXPECT_EQ(extents.lookup("p"), std::nullopt);
  EXPECT_TRUE(extents.bind("p", 7));
  EXPECT_FALSE(extents.bind("p", 8));
  EXPECT_TRUE(extents.bind("e", -1));
}

} // namespace
