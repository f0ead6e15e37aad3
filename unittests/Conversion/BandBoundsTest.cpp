//===- BandBoundsTest.cpp - key bounds from a mask's band conjuncts -------===//
//
// findAxisBand (NeighborhoodWindows.h) reads `key <= query + ahead` and
// `key >= query - behind` off a mask's necessary conditions; both kernels
// then walk only the key tiles of that band. A wrong bound would drop kept
// keys, so the cases cover what must be found, what must not be, and the
// spellings the spec front end produces (`&&` around reads is an scf.if).
//
//===----------------------------------------------------------------------===//

#include "../Spec/SpecTestUtils.h"

#include "attn/Conversion/NeighborhoodWindows.h"
#include "attn/Spec/SpecToAttn.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <optional>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// The band of axis 0 of the first attention op of `mask` (a spec mask line
/// over q, k, v of [B, H, L, 16] and an i32 doc[B, L]), as (ahead constant,
/// scalar count) and (behind constant, scalar count).
struct Found {
  std::optional<std::pair<int64_t, size_t>> ahead, behind;
};

Found bandOf(llvm::StringRef mask) {
  std::string text = "attention a {\n"
                     "  q: bf16[B, H, L, 16]\n"
                     "  k: bf16[B, H, S, 16]\n"
                     "  v: bf16[B, H, S, 16]\n"
                     "  input doc: i32[B, S]\n"
                     "  mask(b, h, i, j) = " +
                     mask.str() + "\n}\n";
  spec::testing::ParseResult parsed = spec::testing::parseText(text);
  EXPECT_TRUE(parsed.ok()) << parsed.diagnostics;
  Found found;
  if (!parsed.ok())
    return found;
  MLIRContext context;
  auto module = buildModule(context, *parsed.file, *parsed.sourceMgr);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return found;
  }
  AttentionOp op;
  (*module)->walk([&](AttentionOp o) { op = o; });
  EXPECT_TRUE(op);
  if (!op)
    return found;
  BandBounds band = findAxisBand(op, 0);
  if (band.ahead)
    found.ahead = {band.ahead->constant, band.ahead->scalars.size()};
  if (band.behind)
    found.behind = {band.behind->constant, band.behind->scalars.size()};
  return found;
}

using Bound = std::pair<int64_t, size_t>;

TEST(BandBounds, Causal) {
  Found f = bandOf("j <= i");
  EXPECT_EQ(f.ahead, Bound(0, 0));
  EXPECT_FALSE(f.behind);
  EXPECT_EQ(bandOf("j < i").ahead, Bound(-1, 0));
  EXPECT_EQ(bandOf("i >= j").ahead, Bound(0, 0));
  EXPECT_EQ(bandOf("i > j + 1").ahead, Bound(-2, 0));
}

TEST(BandBounds, SlidingWindow) {
  Found f = bandOf("j <= i && i - j < 1024");
  EXPECT_EQ(f.ahead, Bound(0, 0));
  EXPECT_EQ(f.behind, Bound(1023, 0));
  EXPECT_EQ(bandOf("j <= i && i - j <= 7").behind, Bound(7, 0));
}

TEST(BandBounds, ThroughShortCircuitReads) {
  // `&&` before a read becomes an scf.if whose else yields false.
  Found f = bandOf("j <= i && doc[b, i] == doc[b, j]");
  EXPECT_EQ(f.ahead, Bound(0, 0));
  EXPECT_FALSE(f.behind);
}

TEST(BandBounds, ScalarOffsets) {
  // Bottom-right aligned cross attention: key <= query + S - L.
  Found f = bandOf("j <= i + S - L");
  EXPECT_EQ(f.ahead, Bound(0, 2));
  EXPECT_FALSE(f.behind);
}

TEST(BandBounds, NotNecessaryConditions) {
  // A disjunct bounds nothing: prefix-LM keeps j < p for every query.
  Found prefix = bandOf("j <= i || j < 16");
  EXPECT_FALSE(prefix.ahead);
  EXPECT_FALSE(prefix.behind);
  // Sinks: the causal conjunct holds, the window is one side of an `||`.
  Found sinks = bandOf("j <= i && (j < 4 || i - j < 1024)");
  EXPECT_EQ(sinks.ahead, Bound(0, 0));
  EXPECT_FALSE(sinks.behind);
  // Not a unit band: 2j <= i bounds keys by half the query.
  EXPECT_FALSE(bandOf("2 * j <= i").ahead);
  // Offsets that depend on a read are not known before the key walk.
  EXPECT_FALSE(bandOf("j <= i + doc[b, 0]").ahead);
}

} // namespace
