//===- ScheduleAttrTest.cpp - #attn.schedule helpers and verifier ---------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

class ScheduleAttrTest : public ::testing::Test {
protected:
  ScheduleAttrTest() { context.loadDialect<AttnDialect>(); }

  /// Builds a schedule through the verifying getter; returns null and keeps
  /// the message when the verifier refuses it.
  ScheduleAttr make(ArrayRef<int64_t> tileQ, ArrayRef<int64_t> tileKv,
                    int64_t warps, int64_t stages, int64_t splitKv,
                    ArrayRef<int64_t> tileDilation = {}) {
    lastError.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      lastError = diag.str();
      return success();
    });
    return ScheduleAttr::getChecked(
        [&] { return emitError(UnknownLoc::get(&context)); }, &context, tileQ,
        tileKv, warps, stages, splitKv, tileDilation);
  }

  MLIRContext context;
  std::string lastError;
};

TEST_F(ScheduleAttrTest, TileCountsRoundUp) {
  ScheduleAttr s = make({128}, {64}, 4, 2, 1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s.getNumTokenAxes(), 1u);
  EXPECT_EQ(s.getNumQueryTiles({1000}), 8);
  EXPECT_EQ(s.getNumQueryTiles({1024}), 8);
  EXPECT_EQ(s.getNumQueryTiles({1025}), 9);
  EXPECT_EQ(s.getQueryTileVolume(), 128);
  EXPECT_EQ(s.getKeyTileVolume(), 64);
}

TEST_F(ScheduleAttrTest, MultiAxisTilesMultiply) {
  ScheduleAttr s = make({16, 8}, {16, 8}, 4, 2, 1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s.getQueryTileVolume(), 128);
  // 128 x 128 image: 8 x 16 tiles; 100 x 100: 7 x 13.
  EXPECT_EQ(s.getNumQueryTiles({128, 128}), 128);
  EXPECT_EQ(s.getNumQueryTiles({100, 100}), 91);
}

TEST_F(ScheduleAttrTest, DilatedAxesCountTilesPerResidueClass) {
  ScheduleAttr s = make({16, 8}, {8, 8}, 4, 2, 1, {4, 1});
  ASSERT_TRUE(s);
  EXPECT_EQ(s.getDilation(0), 4);
  EXPECT_EQ(s.getDilation(1), 1);
  // 128 rows in 4 classes of 32: 2 tiles each; 130 rows: classes of 33,
  // 33, 32, 32 positions, 3 tiles each (one more than ceil(130 / 16) = 9
  // overall would give).
  EXPECT_EQ(s.getNumQueryTiles({128, 128}), 8 * 16);
  EXPECT_EQ(s.getNumQueryTiles({130, 8}), 12 * 1);
  EXPECT_EQ(make({16, 8}, {8, 8}, 4, 2, 1).getDilation(0), 1);
}

TEST_F(ScheduleAttrTest, VerifierRefusesBadSchedules) {
  EXPECT_FALSE(make({128, 8}, {64}, 4, 2, 1));
  EXPECT_NE(lastError.find("tile_kv has 1"), std::string::npos) << lastError;
  EXPECT_FALSE(make({0}, {64}, 4, 2, 1));
  EXPECT_NE(lastError.find("positive"), std::string::npos) << lastError;
  EXPECT_FALSE(make({128}, {64}, 3, 2, 1));
  EXPECT_NE(lastError.find("power of two"), std::string::npos) << lastError;
  EXPECT_FALSE(make({128}, {64}, 4, 0, 1));
  EXPECT_NE(lastError.find("stages"), std::string::npos) << lastError;
  EXPECT_FALSE(make({128}, {64}, 4, 2, 0));
  EXPECT_NE(lastError.find("split_kv"), std::string::npos) << lastError;
  EXPECT_FALSE(make({16, 8}, {8, 8}, 4, 2, 1, {4}));
  EXPECT_NE(lastError.find("tile_dilation has 1"), std::string::npos)
      << lastError;
  EXPECT_FALSE(make({16, 8}, {8, 8}, 4, 2, 1, {4, 0}));
  EXPECT_NE(lastError.find("dilations must be positive"), std::string::npos)
      << lastError;
}

} // namespace
