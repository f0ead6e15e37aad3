//===- SpecToIRTest.cpp - generated IR computes what the spec says --------===//
//
// Compiles small specs to attn IR, runs the IR with the float64 reference
// interpreter, and compares with the reference's direct kernels driven by the
// same rule written in C++. This pins the IR conventions (floor division,
// short-circuit guards around input reads, region argument order, sizes
// read from tensor.dim) to the spec's meaning.
//
//===----------------------------------------------------------------------===//

#include "SpecTestUtils.h"

#include "attn/Reference/Interpreter.h"
#include "attn/Reference/Kernels.h"
#include "attn/Reference/Random.h"
#include "attn/Spec/SpecToAttn.h"
#include "attn/Support/Neighborhood.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir::attn;
using namespace mlir::attn::spec;
using namespace mlir::attn::spec::testing;
using reference::RefTensor;

namespace {

/// Compiles `text` and evaluates its first function on `args`.
std::vector<RefTensor> run(llvm::StringRef text,
                           llvm::ArrayRef<RefTensor> args) {
  ParseResult parsed = parseText(text);
  EXPECT_TRUE(parsed.ok()) << parsed.diagnostics;
  if (!parsed.ok())
    return {};
  mlir::MLIRContext context;
  auto module = buildModule(context, *parsed.file, *parsed.sourceMgr);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return {};
  }
  auto func = *(*module)->getOps<mlir::func::FuncOp>().begin();
  auto results = reference::evaluateFunction(func, args);
  if (!results) {
    ADD_FAILURE() << llvm::toString(results.takeError());
    return {};
  }
  return std::move(*results);
}

void expectNear(const RefTensor &actual, const RefTensor &expected) {
  ASSERT_EQ(actual.shape(), expected.shape());
  for (int64_t n = 0; n < actual.numElements(); ++n) {
    double a = actual.data()[n], e = expected.data()[n];
    if (std::isinf(e)) {
      EXPECT_EQ(a, e) << "element " << n;
      continue;
    }
    EXPECT_NEAR(a, e, 1e-9 * (1.0 + std::fabs(e))) << "element " << n;
  }
}

TEST(SpecToIR, SinksWindowGqaWithLse) {
  RefTensor q = reference::randomNormal({2, 4, 9, 8}, 1);
  RefTensor k = reference::randomNormal({2, 2, 9, 8}, 2);
  RefTensor v = reference::randomNormal({2, 2, 9, 4}, 3);
  auto results = run(R"(
attention w {
  q: f32[B, H, L, 8]
  k: f32[B, G, S, 8]
  v: f32[B, G, S, 4]
  const sink = 2, window = 3
  output lse
  mask(b, h, i, j) = j <= i && (j < sink || i - j < window)
}
)",
                     {q, k, v});
  ASSERT_EQ(results.size(), 2u);
  auto expected = reference::softmaxAttention(
      q, k, v, std::nullopt,
      [](int64_t, int64_t, llvm::ArrayRef<int64_t> i,
         llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
        return j[0] <= i[0] && (j[0] < 2 || i[0] - j[0] < 3);
      });
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
  expectNear(results[0], expected->output);
  expectNear(results[1], expected->lse);
}

TEST(SpecToIR, FloorDivisionAndModuloOfNegatives) {
  RefTensor q = reference::randomNormal({1, 1, 7, 4}, 4);
  RefTensor k = reference::randomNormal({1, 1, 7, 4}, 5);
  RefTensor v = reference::randomNormal({1, 1, 7, 4}, 6);
  auto results = run(R"(
attention f {
  q: f32[B, H, L, 4]
  k: f32[B, H, L, 4]
  v: f32[B, H, L, 4]
  mask(b, h, i, j) = (i - j) % 3 == 1 || (j - i) / 2 == -2
}
)",
                     {q, k, v});
  ASSERT_EQ(results.size(), 1u);
  auto expected = reference::softmaxAttention(
      q, k, v, std::nullopt,
      [](int64_t, int64_t, llvm::ArrayRef<int64_t> i,
         llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
        return floorMod(i[0] - j[0], 3) == 1 ||
               floorDiv(j[0] - i[0], 2) == -2;
      });
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
  expectNear(results[0], expected->output);
}

TEST(SpecToIR, GuardedInputReadsNeverRunOutOfRange) {
  // slash[b, h, i - j] would read index -1.. without the causal guard; the
  // interpreter reports such a read as an error.
  RefTensor q = reference::randomNormal({1, 2, 6, 4}, 7);
  RefTensor k = reference::randomNormal({1, 2, 6, 4}, 8);
  RefTensor v = reference::randomNormal({1, 2, 6, 4}, 9);
  RefTensor vertical = reference::randomIntegers({1, 2, 6}, 0, 1, 10);
  RefTensor slash = reference::randomIntegers({1, 2, 6}, 0, 1, 11);
  RefTensor doc = reference::randomIntegers({1, 6}, 0, 1, 12);
  auto results = run(R"(
attention vs {
  q: f32[B, H, L, 4]
  k: f32[B, H, L, 4]
  v: f32[B, H, L, 4]
  input vertical: bool[B, H, L], slash: bool[B, H, L], doc: i32[B, L]
  mask(b, h, i, j) = j <= i && (vertical[b, h, j] || slash[b, h, i - j]) && (i - j >= 0 ? doc[b, i - j] >= 0 : false)
}
)",
                     {q, k, v, vertical, slash, doc});
  ASSERT_EQ(results.size(), 1u);
  auto expected = reference::softmaxAttention(
      q, k, v, std::nullopt,
      [&](int64_t b, int64_t h, llvm::ArrayRef<int64_t> i,
          llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
        return j[0] <= i[0] && (vertical.at({b, h, j[0]}) != 0 ||
                                slash.at({b, h, i[0] - j[0]}) != 0);
      });
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
  expectNear(results[0], expected->output);
}

TEST(SpecToIR, DocumentsAlibiSoftcapAndScale) {
  RefTensor q = reference::randomNormal({2, 2, 5, 4}, 13);
  RefTensor k = reference::randomNormal({2, 2, 5, 4}, 14);
  RefTensor v = reference::randomNormal({2, 2, 5, 3}, 15);
  RefTensor doc = reference::randomIntegers({2, 5}, 0, 2, 16);
  auto results = run(R"(
attention d {
  q: f32[B, H, L, 4]
  k: f32[B, H, L, 4]
  v: f32[B, H, L, 3]
  input doc: i32[B, L]
  const cap = 5.0
  scale = 0.5
  mask(b, h, i, j) = j <= i && doc[b, i] == doc[b, j]
  score(s, b, h, i, j) = cap * tanh((s - exp(-8.0 * (h + 1) / H) * (i - j)) / cap)
}
)",
                     {q, k, v, doc});
  ASSERT_EQ(results.size(), 1u);
  auto expected = reference::softmaxAttention(
      q, k, v, 0.5,
      [&](int64_t b, int64_t, llvm::ArrayRef<int64_t> i,
          llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
        return j[0] <= i[0] && doc.at({b, i[0]}) == doc.at({b, j[0]});
      },
      [](double s, int64_t, int64_t h, llvm::ArrayRef<int64_t> i,
         llvm::ArrayRef<int64_t> j) -> llvm::Expected<double> {
        double slope = std::exp(-8.0 * (h + 1) / 2.0);
        return 5.0 * std::tanh((s - slope * double(i[0] - j[0])) / 5.0);
      });
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
  expectNear(results[0], expected->output);
}

TEST(SpecToIR, DilatedNeighborhood2D) {
  RefTensor q = reference::randomNormal({1, 1, 6, 5, 4}, 17);
  RefTensor k = reference::randomNormal({1, 1, 6, 5, 4}, 18);
  RefTensor v = reference::randomNormal({1, 1, 6, 5, 4}, 19);
  auto results = run(R"(
attention na {
  q: f32[B, H, X, Y, 4]
  k: f32[B, H, X, Y, 4]
  v: f32[B, H, X, Y, 4]
  mask(b, h, [x, y], [kx, ky]) = neighborhood(x, kx, X, 3, 2) && neighborhood_causal(y, ky, Y, 2, 1)
}
)",
                     {q, k, v});
  ASSERT_EQ(results.size(), 1u);
  auto expected = reference::softmaxAttention(
      q, k, v, std::nullopt,
      [](int64_t, int64_t, llvm::ArrayRef<int64_t> i,
         llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
        return neighborhoodContains(i[0], j[0], 6, 3, 2, false) &&
               neighborhoodContains(i[1], j[1], 5, 2, 1, true);
      });
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
  expectNear(results[0], expected->output);
}

TEST(SpecToIR, Softmax3PassCascadeIsAttention) {
  RefTensor q = reference::randomNormal({5, 4}, 20);
  RefTensor k = reference::randomNormal({7, 4}, 21);
  RefTensor v = reference::randomNormal({7, 3}, 22);
  auto results = run(R"(
cascade softmax_3pass {
  input Q: f32[P, E], K: f32[M, E], V: f32[M, F]
  QK[p, m]  = Q[p, e] * K[m, e]
  GM[p]     = max(m: QK[p, m])
  SN[p, m]  = exp(QK[p, m] - GM[p])
  SD[p]     = sum(m: SN[p, m])
  SNV[p, f] = SN[p, m] * V[m, f]
  output AV[p, f] = SNV[p, f] / SD[p]
}
)",
                     {q, k, v});
  ASSERT_EQ(results.size(), 1u);
  RefTensor q4({1, 1, 5, 4}, q.data()), k4({1, 1, 7, 4}, k.data()),
      v4({1, 1, 7, 3}, v.data());
  auto expected = reference::softmaxAttention(q4, k4, v4, 1.0);
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
  expectNear(results[0], RefTensor({5, 3}, expected->output.data()));
}

TEST(SpecToIR, CascadeImplicitSumUnderANonProduct) {
  RefTensor x = reference::randomNormal({3, 4}, 23);
  RefTensor w = reference::randomIntegers({4}, -2, 2, 24);
  auto results = run(R"(
cascade c {
  input X: f32[P, E], W: i32[E]
  output S[p] = exp(X[p, e]) * W[e] - 1
}
)",
                     {x, w});
  ASSERT_EQ(results.size(), 1u);
  RefTensor expected({3});
  for (int64_t p = 0; p < 3; ++p)
    for (int64_t e = 0; e < 4; ++e)
      expected.at({p}) += std::exp(x.at({p, e})) * w.at({e}) - 1.0;
  expectNear(results[0], expected);
}

TEST(SpecToIR, LinearAttentionWithFeatureDecayAndNormalize) {
  RefTensor q = reference::randomNormal({1, 2, 6, 4}, 25);
  RefTensor k = reference::randomNormal({1, 2, 6, 4}, 26);
  RefTensor v = reference::randomNormal({1, 2, 6, 3}, 27);
  auto results = run(R"(
linear_attention l {
  q: f32[B, H, L, 4]
  k: f32[B, H, L, 4]
  v: f32[B, H, L, 3]
  causal
  feature(x) = x > 0.0 ? x + 1.0 : exp(x)
  decay(b, h, t) = 0.5 + 0.25 * h + 0.01 * (t % 2)
  normalize = sum
}
)",
                     {q, k, v});
  ASSERT_EQ(results.size(), 1u);
  reference::LinearAttentionOptions options;
  options.causal = true;
  options.normalizeSum = true;
  auto expected = reference::linearAttention(
      q, k, v, options,
      [](double x) -> llvm::Expected<double> {
        return x > 0.0 ? x + 1.0 : std::exp(x);
      },
      [](int64_t, int64_t h, int64_t t) -> llvm::Expected<double> {
        return 0.5 + 0.25 * h + 0.01 * double(t % 2);
      });
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
  expectNear(results[0], *expected);
}

TEST(SpecToIR, EveryExampleVerifies) {
  // buildModule verifies; this names the example that would not.
  for (const char *name :
       {"causal", "sinks_window", "vertical_slash", "softmax_3pass",
        "gated_linear", "based", "decode", "neighborhood_3d_causal"}) {
    std::string path = std::string(ATTN_SOURCE_DIR) + "/examples/" + name +
                       ".attn";
    auto buffer = llvm::MemoryBuffer::getFile(path);
    ASSERT_TRUE(bool(buffer)) << path;
    ParseResult parsed = parseText((*buffer)->getBuffer(), path);
    ASSERT_TRUE(parsed.ok()) << parsed.diagnostics;
    mlir::MLIRContext context;
    auto module = buildModule(context, *parsed.file, *parsed.sourceMgr);
    EXPECT_TRUE(bool(module)) << name << ": "
                              << (module ? "" : llvm::toString(module.takeError()));
  }
}

TEST(SpecToIR, UnknownBlockNameIsAnError) {
  ParseResult parsed = parseText("attention a { q: f32[B, H, L, 8]\n"
                                 "k: f32[B, H, L, 8]\nv: f32[B, H, L, 8] }");
  ASSERT_TRUE(parsed.ok()) << parsed.diagnostics;
  mlir::MLIRContext context;
  IRGenOptions options;
  options.blockName = "b";
  auto module = buildModule(context, *parsed.file, *parsed.sourceMgr, options);
  ASSERT_FALSE(bool(module));
  EXPECT_EQ(llvm::toString(module.takeError()),
            "no block named 'b'; the spec defines: a");
}

} // namespace
