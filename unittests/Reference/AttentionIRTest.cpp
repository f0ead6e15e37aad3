//===- AttentionIRTest.cpp - attn.attention through the interpreter -------===//
//
// attn IR written as the front end emits it, run by the interpreter and
// compared with the independent loops of Naive.h or hand-computed sets.
//
//===----------------------------------------------------------------------===//

#include "Naive.h"
#include "TestUtil.h"

#include "attn/Reference/Random.h"
#include "attn/Support/Neighborhood.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir::attn::reference;
using namespace testutil;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// Bottom-right causal window of 20 + h keys with a per-head soft-cap; sizes
// come from tensor.dim + index_cast outside the regions.
const char *kWindowCap = R"mlir(
func.func @attn(%q: tensor<?x4x?x16xf32>, %k: tensor<?x2x?x16xf32>,
                %v: tensor<?x2x?x8xf32>)
    -> (tensor<?x4x?x8xf32>, tensor<?x4x?xf32>) {
  %c2 = arith.constant 2 : index
  %Lx = tensor.dim %q, %c2 : tensor<?x4x?x16xf32>
  %Sx = tensor.dim %k, %c2 : tensor<?x2x?x16xf32>
  %L = arith.index_cast %Lx : index to i64
  %S = arith.index_cast %Sx : index to i64
  %o, %lse = attn.attention %q, %k, %v
      : tensor<?x4x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x8xf32>
      -> tensor<?x4x?x8xf32>, tensor<?x4x?xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %off = arith.subi %S, %L : i64
      %ii = arith.addi %i, %off : i64
      %causal = arith.cmpi sle, %j, %ii : i64
      %d = arith.subi %ii, %j : i64
      %c20 = arith.constant 20 : i64
      %w = arith.addi %c20, %h : i64
      %near = arith.cmpi slt, %d, %w : i64
      %keep = arith.andi %causal, %near : i1
      attn.yield %keep : i1
    }
    score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
      %c5 = arith.constant 5.0 : f32
      %hf = arith.sitofp %h : i64 to f32
      %cap = arith.addf %c5, %hf : f32
      %x = arith.divf %s, %cap : f32
      %t = math.tanh %x : f32
      %y = arith.mulf %cap, %t : f32
      attn.yield %y : f32
    }
  return %o, %lse : tensor<?x4x?x8xf32>, tensor<?x4x?xf32>
}
)mlir";

TEST(AttentionIR, WindowSoftCapGQAMatchesNaive) {
  const int64_t B = 2, H = 4, G = 2, L = 37, S = 53;
  RefTensor q = randomNormal({B, H, L, 16}, 1), k = randomNormal({B, G, S, 16}, 2),
            v = randomNormal({B, G, S, 8}, 3);
  auto results = run(kWindowCap, {q, k, v});
  ASSERT_EQ(results.size(), 2u);
  RefTensor out, lse;
  naive::attention(
      q, k, v, 0.25,
      [&](int64_t, int64_t h, int64_t i, int64_t j) {
        return j <= i + (S - L) && (i + (S - L)) - j < 20 + h;
      },
      [](double s, int64_t, int64_t h, int64_t, int64_t) {
        return (5.0 + h) * std::tanh(s / (5.0 + h));
      },
      out, lse);
  EXPECT_LT(relErr(results[0], out), 1e-13);
  EXPECT_LT(relErr(results[1], lse), 1e-13);
}

// Document mask from an i64 input and ALiBi slopes from an f32 input, with an
// explicit scale; the document read is guarded by nothing, so a short `doc`
// is an out-of-range read.
const char *kDocAlibi = R"mlir(
func.func @doc(%q: tensor<?x?x?x8xf32>, %k: tensor<?x?x?x8xf32>,
               %v: tensor<?x?x?x8xf32>, %doc: tensor<?x?xi64>,
               %slopes: tensor<?xf32>) -> tensor<?x?x?x8xf32> {
  %scale = arith.constant 0.5 : f32
  %o = attn.attention %q, %k, %v scale(%scale)
      inputs(%doc, %slopes : tensor<?x?xi64>, tensor<?xf32>)
      : tensor<?x?x?x8xf32>, tensor<?x?x?x8xf32>, tensor<?x?x?x8xf32>
      -> tensor<?x?x?x8xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<?x?xi64>, %sl: tensor<?xf32>):
      %bi = arith.index_cast %b : i64 to index
      %ii = arith.index_cast %i : i64 to index
      %ji = arith.index_cast %j : i64 to index
      %di = tensor.extract %d[%bi, %ii] : tensor<?x?xi64>
      %dj = tensor.extract %d[%bi, %ji] : tensor<?x?xi64>
      %same = arith.cmpi eq, %di, %dj : i64
      attn.yield %same : i1
    }
    score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<?x?xi64>, %sl: tensor<?xf32>):
      %hi = arith.index_cast %h : i64 to index
      %m = tensor.extract %sl[%hi] : tensor<?xf32>
      %dist = arith.subi %j, %i : i64
      %df = arith.sitofp %dist : i64 to f32
      %bias = arith.mulf %m, %df : f32
      %y = arith.addf %s, %bias : f32
      attn.yield %y : f32
    }
  return %o : tensor<?x?x?x8xf32>
}
)mlir";

TEST(AttentionIR, DocumentMaskAndAlibiFromInputs) {
  const int64_t B = 2, H = 3, L = 29;
  RefTensor q = randomNormal({B, H, L, 8}, 4), k = randomNormal({B, H, L, 8}, 5),
            v = randomNormal({B, H, L, 8}, 6);
  RefTensor doc({B, L});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < L; ++i)
      doc.at({b, i}) = (i * (b + 2)) / 11; // a few documents per batch
  RefTensor slopes({H}, {0.5, 0.25, 0.125});
  auto results = run(kDocAlibi, {q, k, v, doc, slopes});
  ASSERT_EQ(results.size(), 1u);
  RefTensor out, lse;
  naive::attention(
      q, k, v, 0.5,
      [&](int64_t b, int64_t, int64_t i, int64_t j) {
        return doc.at({b, i}) == doc.at({b, j});
      },
      [&](double s, int64_t, int64_t h, int64_t i, int64_t j) {
        return s + slopes.at({h}) * double(j - i);
      },
      out, lse);
  EXPECT_LT(relErr(results[0], out), 1e-13);
}

TEST(AttentionIR, OutOfRangeReadIsReportedWithLocationAndIndices) {
  RefTensor q = randomNormal({1, 1, 5, 8}, 7);
  RefTensor doc({1, 3}, 0.0); // 5 tokens, 3 document ids
  std::string msg =
      runError(kDocAlibi, {q, q, q, doc, RefTensor({1}, 0.5)});
  EXPECT_NE(msg.find("input:16:13: tensor.extract"), std::string::npos) << msg;
  EXPECT_NE(msg.find("index [0, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape [1, 3]"), std::string::npos) << msg;
}

// A mask keeping only rows i != 2, and a score of -inf on row 3.
const char *kMaskedRows = R"mlir(
func.func @rows(%q: tensor<1x1x5x4xf32>, %k: tensor<1x1x6x4xf32>,
                %v: tensor<1x1x6x3xf32>) -> (tensor<1x1x5x3xf32>, tensor<1x1x5xf32>) {
  %o, %lse = attn.attention %q, %k, %v
      : tensor<1x1x5x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x3xf32>
      -> tensor<1x1x5x3xf32>, tensor<1x1x5xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %c2 = arith.constant 2 : i64
      %keep = arith.cmpi ne, %i, %c2 : i64
      attn.yield %keep : i1
    }
    score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
      %c3 = arith.constant 3 : i64
      %is3 = arith.cmpi eq, %i, %c3 : i64
      %ninf = arith.constant 0xFF800000 : f32
      %y = arith.select %is3, %ninf, %s : f32
      attn.yield %y : f32
    }
  return %o, %lse : tensor<1x1x5x3xf32>, tensor<1x1x5xf32>
}
)mlir";

TEST(AttentionIR, FullyMaskedRowsGiveZeroAndMinusInf) {
  RefTensor q = randomNormal({1, 1, 5, 4}, 8), k = randomNormal({1, 1, 6, 4}, 9),
            v = randomNormal({1, 1, 6, 3}, 10);
  auto r = run(kMaskedRows, {q, k, v});
  ASSERT_EQ(r.size(), 2u);
  for (int64_t i = 0; i < 5; ++i) {
    bool masked = i == 2 || i == 3;
    EXPECT_EQ(r[1].at({0, 0, i}) == -kInf, masked) << i;
    for (int64_t e = 0; e < 3; ++e) {
      EXPECT_FALSE(std::isnan(r[0].at({0, 0, i, e})));
      if (masked)
        EXPECT_EQ(r[0].at({0, 0, i, e}), 0.0);
    }
  }
}

/// attn.attention over one token axis of `n` positions with q = k = 0 and
/// v = identity, so row i of the output is uniform over i's kept keys: the
/// kept set can be read back. `maskBody` computes %keep from %i, %j, %n.
std::string oneHotProgram(int64_t n, const std::string &maskBody) {
  return llvm::formatv(R"mlir(
func.func @nb(%q: tensor<1x1x{0}x1xf32>, %v: tensor<1x1x{0}x{0}xf32>)
    -> tensor<1x1x{0}x{0}xf32> {{
  %n = arith.constant {0} : i64
  %o = attn.attention %q, %q, %v
      : tensor<1x1x{0}x1xf32>, tensor<1x1x{0}x1xf32>, tensor<1x1x{0}x{0}xf32>
      -> tensor<1x1x{0}x{0}xf32>
    mask {{
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      {1}
      attn.yield %keep : i1
    }
  return %o : tensor<1x1x{0}x{0}xf32>
}
)mlir",
                       n, maskBody)
      .str();
}

/// The kept keys of every query under `maskBody` (see oneHotProgram).
std::vector<std::vector<int64_t>> keptSets(int64_t n, const std::string &maskBody) {
  RefTensor q({1, 1, n, 1}, 0.0), v({1, 1, n, n}, 0.0);
  for (int64_t j = 0; j < n; ++j)
    v.at({0, 0, j, j}) = 1.0;
  auto r = run(oneHotProgram(n, maskBody), {q, v});
  std::vector<std::vector<int64_t>> sets(n);
  if (r.empty())
    return sets;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (r[0].at({0, 0, i, j}) > 0)
        sets[i].push_back(j);
  return sets;
}

std::string neighborhoodBody(int64_t size, int64_t dilation, bool causal) {
  return llvm::formatv(R"mlir(%size = arith.constant {0} : i64
      %dil = arith.constant {1} : i64
      %keep = attn.neighborhood %i, %j extent %n size %size dilation %dil {2}: i1)mlir",
                       size, dilation, causal ? "causal " : "")
      .str();
}

using Set = std::vector<int64_t>;

TEST(AttentionIR, NattenRuleHandComputed) {
  auto odd = keptSets(10, neighborhoodBody(3, 1, false));
  EXPECT_EQ(odd[0], (Set{0, 1, 2}));
  EXPECT_EQ(odd[5], (Set{4, 5, 6}));
  EXPECT_EQ(odd[9], (Set{7, 8, 9}));
  // Even size: size/2 keys before the query, size/2 - 1 after.
  auto even = keptSets(10, neighborhoodBody(4, 1, false));
  EXPECT_EQ(even[5], (Set{3, 4, 5, 6}));
  EXPECT_EQ(even[0], (Set{0, 1, 2, 3}));
  EXPECT_EQ(even[9], (Set{6, 7, 8, 9}));
  // Dilation 2 on 11 positions: classes {0,2,...,10} (6) and {1,...,9} (5).
  auto dil = keptSets(11, neighborhoodBody(3, 2, false));
  EXPECT_EQ(dil[9], (Set{5, 7, 9}));
  EXPECT_EQ(dil[10], (Set{6, 8, 10}));
  EXPECT_EQ(dil[4], (Set{2, 4, 6}));
  EXPECT_EQ(dil[1], (Set{1, 3, 5}));
  EXPECT_EQ(dil[0], (Set{0, 2, 4}));
  // Causal, dilation 2: same class, g - size + 1 <= g' <= g.
  auto causal = keptSets(10, neighborhoodBody(3, 2, true));
  EXPECT_EQ(causal[7], (Set{3, 5, 7}));
  EXPECT_EQ(causal[2], (Set{0, 2}));
  EXPECT_EQ(causal[0], (Set{0}));
  // Every non-causal query has exactly `size` neighbours.
  for (const Set &s : dil)
    EXPECT_EQ(s.size(), 3u);
}

TEST(AttentionIR, NeighborhoodLargerThanItsClassIsAnError) {
  // 5 positions, dilation 2: class 1 = {1, 3} is shorter than 3.
  RefTensor q({1, 1, 5, 1}, 0.0), v({1, 1, 5, 5}, 0.0);
  std::string msg = runError(oneHotProgram(5, neighborhoodBody(3, 2, false)), {q, v});
  EXPECT_NE(msg.find("attn.neighborhood"), std::string::npos) << msg;
  EXPECT_NE(msg.find("query 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input:"), std::string::npos) << msg;
}

TEST(AttentionIR, FullWidthNeighborhoodEqualsDenseAndWideWindowEqualsCausal) {
  const int64_t n = 37;
  auto dense = keptSets(n, "%keep = arith.constant true");
  auto wide = keptSets(n, neighborhoodBody(n, 1, false));
  EXPECT_EQ(wide, dense);
  EXPECT_EQ(dense[17].size(), size_t(n));
  auto causal = keptSets(n, "%keep = arith.cmpi sle, %j, %i : i64");
  auto window = keptSets(n, R"mlir(%w = arith.constant 37 : i64
      %c = arith.cmpi sle, %j, %i : i64
      %d = arith.subi %i, %j : i64
      %near = arith.cmpi slt, %d, %w : i64
      %keep = arith.andi %c, %near : i1)mlir");
  EXPECT_EQ(window, causal);
  EXPECT_EQ(keptSets(n, neighborhoodBody(n, 1, true)), causal);
  EXPECT_EQ(causal[5], (Set{0, 1, 2, 3, 4, 5}));
}

// Two token axes: a 2-D neighborhood written with two attn.neighborhood ops.
const char *kTwoAxes = R"mlir(
func.func @na2d(%q: tensor<1x2x5x7x4xf32>, %k: tensor<1x2x5x7x4xf32>,
                %v: tensor<1x2x5x7x4xf32>) -> tensor<1x2x5x7x4xf32> {
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %xi = tensor.dim %q, %c2 : tensor<1x2x5x7x4xf32>
  %yi = tensor.dim %q, %c3 : tensor<1x2x5x7x4xf32>
  %X = arith.index_cast %xi : index to i64
  %Y = arith.index_cast %yi : index to i64
  %o = attn.attention %q, %k, %v
      : tensor<1x2x5x7x4xf32>, tensor<1x2x5x7x4xf32>, tensor<1x2x5x7x4xf32>
      -> tensor<1x2x5x7x4xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i0: i64, %i1: i64, %j0: i64, %j1: i64):
      %s3 = arith.constant 3 : i64
      %d1 = arith.constant 1 : i64
      %d2 = arith.constant 2 : i64
      %a = attn.neighborhood %i0, %j0 extent %X size %s3 dilation %d1 : i1
      %c = attn.neighborhood %i1, %j1 extent %Y size %s3 dilation %d2 : i1
      %keep = arith.andi %a, %c : i1
      attn.yield %keep : i1
    }
  return %o : tensor<1x2x5x7x4xf32>
}
)mlir";

TEST(AttentionIR, TwoTokenAxesMatchFlattenedNaive) {
  const int64_t X = 5, Y = 7;
  RefTensor q = randomNormal({1, 2, X, Y, 4}, 11), k = randomNormal({1, 2, X, Y, 4}, 12),
            v = randomNormal({1, 2, X, Y, 4}, 13);
  auto r = run(kTwoAxes, {q, k, v});
  ASSERT_EQ(r.size(), 1u);
  RefTensor out, lse;
  naive::attention(
      reshaped(q, {1, 2, X * Y, 4}), reshaped(k, {1, 2, X * Y, 4}),
      reshaped(v, {1, 2, X * Y, 4}), 0.5,
      [&](int64_t, int64_t, int64_t i, int64_t j) {
        return mlir::attn::neighborhoodContains(i / Y, j / Y, X, 3, 1, false) &&
               mlir::attn::neighborhoodContains(i % Y, j % Y, Y, 3, 2, false);
      },
      nullptr, out, lse);
  EXPECT_LT(relErr(reshaped(r[0], {1, 2, X * Y, 4}), out), 1e-13);
}

// Heads are dynamic, so the verifier cannot see that G does not divide H.
const char *kDynamicHeads = R"mlir(
func.func @gqa(%q: tensor<1x?x4x8xf32>, %k: tensor<1x?x4x8xf32>,
               %v: tensor<1x?x4x8xf32>) -> tensor<1x?x4x8xf32> {
  %o = attn.attention %q, %k, %v
      : tensor<1x?x4x8xf32>, tensor<1x?x4x8xf32>, tensor<1x?x4x8xf32>
      -> tensor<1x?x4x8xf32>
  return %o : tensor<1x?x4x8xf32>
}
)mlir";

TEST(AttentionIR, ShapeErrorsAreClear) {
  RefTensor q({1, 3, 4, 8}), kv({1, 2, 4, 8});
  std::string msg = runError(kDynamicHeads, {q, kv, kv});
  EXPECT_NE(msg.find("input:4:8: attn.attention"), std::string::npos) << msg;
  EXPECT_NE(msg.find("G = 2 do not divide the query heads H = 3"),
            std::string::npos)
      << msg;
  // An argument that contradicts the signature.
  msg = runError(kDynamicHeads, {RefTensor({1, 2, 5, 8}), kv, kv});
  EXPECT_NE(msg.find("argument #0 has shape [1, 2, 5, 8]"), std::string::npos)
      << msg;
  msg = runError(kDynamicHeads, {q, kv});
  EXPECT_NE(msg.find("takes 3 arguments, given 2"), std::string::npos) << msg;
}

TEST(AttentionIR, UnknownOpIsReportedWithItsLocation) {
  const char *src = R"mlir(
func.func @f(%x: f32) -> f32 {
  %y = math.sin %x : f32
  return %y : f32
}
)mlir";
  std::string msg = runError(src, {RefTensor::scalar(1.0)});
  EXPECT_NE(msg.find("input:3:8: math.sin: operation not supported"),
            std::string::npos)
      << msg;
}

} // namespace
