//===- NeighborhoodTest.cpp - NATTEN's rule and floor arithmetic ----------===//

#include "attn/Support/Neighborhood.h"

#include "gtest/gtest.h"

#include <vector>

using namespace mlir::attn;

namespace {

/// Keys in the neighborhood of `i`, in increasing order.
std::vector<int64_t> neighbours(int64_t i, int64_t n, int64_t size,
                                int64_t dilation, bool causal = false) {
  std::vector<int64_t> keys;
  for (int64_t j = 0; j < n; ++j)
    if (neighborhoodContains(i, j, n, size, dilation, causal))
      keys.push_back(j);
  return keys;
}

TEST(FloorArithmetic, MatchesPython) {
  EXPECT_EQ(floorDiv(7, 2), 3);
  EXPECT_EQ(floorDiv(-7, 2), -4);
  EXPECT_EQ(floorDiv(7, -2), -4);
  EXPECT_EQ(floorDiv(-7, -2), 3);
  EXPECT_EQ(floorDiv(-8, 2), -4);
  EXPECT_EQ(floorMod(7, 3), 1);
  EXPECT_EQ(floorMod(-7, 3), 2);
  EXPECT_EQ(floorMod(7, -3), -2);
  EXPECT_EQ(floorMod(-6, 3), 0);
}

TEST(Neighborhood, OddSizeIsCentredAwayFromBorders) {
  EXPECT_EQ(neighbours(5, 10, 3, 1), (std::vector<int64_t>{4, 5, 6}));
}

TEST(Neighborhood, BordersShiftTheWindowInside) {
  EXPECT_EQ(neighbours(0, 10, 3, 1), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(neighbours(9, 10, 3, 1), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(neighbours(1, 10, 5, 1), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(Neighborhood, EvenSizePutsHalfBeforeAndHalfMinusOneAfter) {
  // size 4: two keys before the query, one after.
  EXPECT_EQ(neighbours(5, 10, 4, 1), (std::vector<int64_t>{3, 4, 5, 6}));
}

TEST(Neighborhood, DilationClassesOfUnequalLength) {
  // n = 7, d = 2: class 0 = {0,2,4,6} (4 long), class 1 = {1,3,5} (3 long).
  EXPECT_EQ(residueClassLength(7, 0, 2), 4);
  EXPECT_EQ(residueClassLength(7, 1, 2), 3);
  EXPECT_EQ(neighbours(6, 7, 3, 2), (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(neighbours(3, 7, 3, 2), (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(neighbours(1, 7, 3, 2), (std::vector<int64_t>{1, 3, 5}));
  // A size the short class cannot hold has no neighborhood there.
  EXPECT_TRUE(neighbours(1, 7, 4, 2).empty());
  EXPECT_FALSE(neighborhoodIsValid(1, 7, 4, 2));
  EXPECT_TRUE(neighborhoodIsValid(0, 7, 4, 2));
  EXPECT_EQ(neighbours(0, 7, 4, 2), (std::vector<int64_t>{0, 2, 4, 6}));
}

TEST(Neighborhood, EveryQueryHasExactlySizeNeighbours) {
  for (int64_t n : {5, 8, 13})
    for (int64_t d : {1, 2, 3})
      for (int64_t size : {1, 2, 3, 4})
        for (int64_t i = 0; i < n; ++i) {
          if (!neighborhoodIsValid(i, n, size, d))
            continue;
          EXPECT_EQ(static_cast<int64_t>(neighbours(i, n, size, d).size()), size)
              << "n=" << n << " d=" << d << " size=" << size << " i=" << i;
        }
}

TEST(Neighborhood, CausalKeepsTheLastSizeOfTheClass) {
  EXPECT_EQ(neighbours(5, 10, 3, 1, /*causal=*/true), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(neighbours(1, 10, 3, 1, true), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(neighbours(7, 10, 3, 2, true), (std::vector<int64_t>{3, 5, 7}));
}

TEST(Neighborhood, OutOfRangeAndInvalidParametersAreFalse) {
  EXPECT_FALSE(neighborhoodContains(-1, 0, 10, 3, 1, false));
  EXPECT_FALSE(neighborhoodContains(0, 10, 10, 3, 1, false));
  EXPECT_FALSE(neighborhoodContains(0, 0, 10, 0, 1, false));
  EXPECT_FALSE(neighborhoodContains(0, 0, 10, 3, 0, false));
}

} // namespace
