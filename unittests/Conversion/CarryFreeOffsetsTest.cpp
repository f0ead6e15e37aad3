//===- CarryFreeOffsetsTest.cpp - digit sums for box offsets --------------===//
//
// carryFreeOffsets (LoweringUtils.h) splits the box offsets of d + c into d's
// digits plus c's; the kernels rely on it being used only where that equals
// the digits of d + c for every d the thread's part takes.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

/// The digits of `v` in the row-major box `tile`.
SmallVector<int64_t> digitsOf(int64_t v, ArrayRef<int64_t> tile) {
  SmallVector<int64_t> digits(tile.size());
  for (int64_t axis = tile.size() - 1; axis >= 0; --axis) {
    digits[axis] = axis == 0 ? v : v % tile[axis];
    v /= tile[axis];
  }
  return digits;
}

class CarryFreeOffsets : public ::testing::Test {
protected:
  CarryFreeOffsets() {
    context.loadDialect<arith::ArithDialect, func::FuncDialect>();
    module = ModuleOp::create(UnknownLoc::get(&context));
    builder.emplace(UnknownLoc::get(&context), module->getBody(),
                    module->getBody()->begin());
  }

  /// The constant each returned offset adds to the dynamic digit it was
  /// given (0 when the digit is returned as is); empty when refused.
  std::optional<SmallVector<int64_t>>
  addedConstants(ArrayRef<int64_t> dynamicValues, int64_t c,
                 ArrayRef<int64_t> tile) {
    SmallVector<Value> digits;
    for (size_t axis = 0; axis < tile.size(); ++axis)
      digits.push_back(
          arith::ConstantIndexOp::create(*builder, 1000 + axis).getResult());
    SmallVector<Value> offsets =
        carryFreeOffsets(*builder, digits, dynamicValues, c, tile);
    if (offsets.empty())
      return std::nullopt;
    SmallVector<int64_t> added;
    for (auto [digit, offset] : llvm::zip(digits, offsets)) {
      if (offset == digit) {
        added.push_back(0);
        continue;
      }
      auto add = offset.getDefiningOp<arith::AddIOp>();
      APInt value;
      EXPECT_TRUE(add && add.getLhs() == digit &&
                  matchPattern(add.getRhs(), m_ConstantInt(&value)));
      added.push_back(value.getSExtValue());
    }
    return added;
  }

  /// Checks the promise: where an answer is given, digits(d) + the added
  /// constants are the digits of d + c for every d.
  void expectExact(ArrayRef<int64_t> dynamicValues, int64_t c,
                   ArrayRef<int64_t> tile) {
    std::optional<SmallVector<int64_t>> added =
        addedConstants(dynamicValues, c, tile);
    ASSERT_TRUE(added);
    for (int64_t d : dynamicValues) {
      SmallVector<int64_t> sum = digitsOf(d, tile);
      for (auto [digit, a] : llvm::zip(sum, *added))
        digit += a;
      EXPECT_EQ(sum, digitsOf(d + c, tile)) << "d = " << d << ", c = " << c;
    }
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::optional<ImplicitLocOpBuilder> builder;
};

TEST_F(CarryFreeOffsets, RowsOfAFourBySixteenBox) {
  // mma rows warp·16 + g (4 warps) plus 8 · half: the inner digit never
  // carries into the outer one.
  SmallVector<int64_t> rows;
  for (int64_t warp = 0; warp < 4; ++warp)
    for (int64_t g = 0; g < 8; ++g)
      rows.push_back(warp * 16 + g);
  expectExact(rows, 0, {4, 16});
  expectExact(rows, 8, {4, 16});
}

TEST_F(CarryFreeOffsets, ColumnsOfSixteenByFourKeyTiles) {
  // Columns 2t (t < 4) plus 8n + odd in 16 x 4 key tiles.
  SmallVector<int64_t> columns{0, 2, 4, 6};
  for (int64_t n = 0; n < 8; ++n)
    for (int64_t odd = 0; odd < 2; ++odd)
      expectExact(columns, 8 * n + odd, {16, 4});
}

TEST_F(CarryFreeOffsets, RefusesWhenADigitCarries) {
  // 8 x 8 rows g + 8 · half with rows per warp 4 would carry: 7 + 4 >= 8.
  SmallVector<int64_t> rows{0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_FALSE(addedConstants(rows, 4, {8, 8}));
  // Columns 2t plus an odd 3 in 4-wide rows: 2 + 3 >= 4.
  EXPECT_FALSE(addedConstants({0, 2, 4, 6}, 3, {16, 4}));
}

TEST_F(CarryFreeOffsets, OneAxisAlwaysAdds) {
  // One axis has no inner digit to carry: d + c itself.
  expectExact({0, 5, 17, 31}, 32, {128});
}

} // namespace
