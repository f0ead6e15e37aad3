//===- KernelsTest.cpp - the direct float64 kernels -----------------------===//
//
// The kernels against independent implementations (Naive.h) on random inputs
// whose sizes are multiples of nothing, plus the edge cases of DESIGN §3.1.
//
//===----------------------------------------------------------------------===//

#include "Naive.h"

#include "attn/Reference/Kernels.h"
#include "attn/Reference/Random.h"
#include "attn/Support/Neighborhood.h"

#include "gtest/gtest.h"

using namespace mlir::attn::reference;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

/// Fails the test with the error's message when `e` holds one.
template <typename T> T unwrap(llvm::Expected<T> e) {
  if (!e) {
    ADD_FAILURE() << llvm::toString(e.takeError());
    return T();
  }
  return std::move(*e);
}

double relErr(const RefTensor &a, const RefTensor &b) {
  return unwrap(relativeError(a, b));
}

TEST(SoftmaxAttention, MatchesNaiveWithMaskScoreAndGQA) {
  const int64_t B = 2, H = 4, G = 2, L = 37, S = 53, D = 16, Dv = 8;
  RefTensor q = randomNormal({B, H, L, D}, 1), k = randomNormal({B, G, S, D}, 2),
            v = randomNormal({B, G, S, Dv}, 3);
  // Bottom-right causal with a window, and a soft-cap that depends on h.
  auto keep = [&](int64_t, int64_t h, int64_t i, int64_t j) {
    return j <= i + (S - L) && (i + (S - L)) - j < 20 + h;
  };
  auto cap = [](double s, int64_t, int64_t h, int64_t, int64_t) {
    return (5.0 + h) * std::tanh(s / (5.0 + h));
  };
  auto mask = [&](int64_t b, int64_t h, llvm::ArrayRef<int64_t> i,
                    llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
    return keep(b, h, i[0], j[0]);
  };
  auto score = [&](double s, int64_t b, int64_t h, llvm::ArrayRef<int64_t> i,
                      llvm::ArrayRef<int64_t> j) -> llvm::Expected<double> {
    return cap(s, b, h, i[0], j[0]);
  };
  AttentionResult got = unwrap(softmaxAttention(q, k, v, 0.3, mask, score));
  RefTensor out, lse;
  naive::attention(q, k, v, 0.3, keep, cap, out, lse);
  EXPECT_LT(relErr(got.output, out), 1e-13);
  EXPECT_LT(relErr(got.lse, lse), 1e-13);

  // Default scale and no rules.
  got = unwrap(softmaxAttention(q, k, v, std::nullopt));
  naive::attention(q, k, v, 0.25, nullptr, nullptr, out, lse);
  EXPECT_LT(relErr(got.output, out), 1e-13);
  EXPECT_LT(relErr(got.lse, lse), 1e-13);
}

TEST(SoftmaxAttention, TwoTokenAxesEqualFlattenedOne) {
  // A 2-D neighborhood over [X, Y] = [5, 7] equals 1-D attention over 35
  // positions with the same rule written on flat indices.
  const int64_t X = 5, Y = 7, D = 4;
  RefTensor q = randomNormal({1, 2, X, Y, D}, 4), k = randomNormal({1, 2, X, Y, D}, 5),
            v = randomNormal({1, 2, X, Y, D}, 6);
  auto rule = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    return mlir::attn::neighborhoodContains(i0, j0, X, 3, 1, false) &&
           mlir::attn::neighborhoodContains(i1, j1, Y, 3, 2, false);
  };
  auto mask2 = [&](int64_t, int64_t, llvm::ArrayRef<int64_t> i,
                     llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
    return rule(i[0], i[1], j[0], j[1]);
  };
  AttentionResult two = unwrap(softmaxAttention(q, k, v, std::nullopt, mask2));
  RefTensor q1({1, 2, X * Y, D}, q.data()), k1({1, 2, X * Y, D}, k.data()),
      v1({1, 2, X * Y, D}, v.data());
  RefTensor out, lse;
  naive::attention(
      q1, k1, v1, 0.5,
      [&](int64_t, int64_t, int64_t i, int64_t j) {
        return rule(i / Y, i % Y, j / Y, j % Y);
      },
      nullptr, out, lse);
  EXPECT_EQ(two.output.shapeString(), "[1, 2, 5, 7, 4]");
  EXPECT_LT(relErr(RefTensor({1, 2, X * Y, D}, two.output.data()), out), 1e-13);
  EXPECT_LT(relErr(RefTensor({1, 2, X * Y}, two.lse.data()), lse), 1e-13);
}

TEST(SoftmaxAttention, FullyMaskedRowsGiveZeroAndMinusInf) {
  RefTensor q = randomNormal({1, 1, 4, 3}, 7), k = randomNormal({1, 1, 5, 3}, 8),
            v = randomNormal({1, 1, 5, 2}, 9);
  // Row 1 masked by the mask, row 2 by -inf scores, others partly.
  auto mask = [](int64_t, int64_t, llvm::ArrayRef<int64_t> i,
                   llvm::ArrayRef<int64_t> j) -> llvm::Expected<bool> {
    return i[0] != 1 && j[0] <= i[0];
  };
  auto score = [](double s, int64_t, int64_t, llvm::ArrayRef<int64_t> i,
                     llvm::ArrayRef<int64_t>) -> llvm::Expected<double> {
    return i[0] == 2 ? -kInf : s;
  };
  AttentionResult r = unwrap(softmaxAttention(q, k, v, 1.0, mask, score));
  for (int64_t row : {1, 2}) {
    EXPECT_EQ(r.lse.at({0, 0, row}), -kInf);
    for (int64_t e = 0; e < 2; ++e)
      EXPECT_EQ(r.output.at({0, 0, row, e}), 0.0);
  }
  // Row 0 sees only key 0: output is v[0] and lse is the score.
  EXPECT_DOUBLE_EQ(r.output.at({0, 0, 0, 1}), v.at({0, 0, 0, 1}));
  double s00 = 0;
  for (int64_t d = 0; d < 3; ++d)
    s00 += q.at({0, 0, 0, d}) * k.at({0, 0, 0, d});
  EXPECT_DOUBLE_EQ(r.lse.at({0, 0, 0}), s00);
  for (double x : r.output.data())
    EXPECT_FALSE(std::isnan(x));
}

TEST(SoftmaxAttention, HugeScoresStayFinite) {
  // exp(1000) overflows without the max subtraction.
  RefTensor q({1, 1, 1, 1}, 100.0), k({1, 1, 2, 1}, {10.0, 9.99}),
      v({1, 1, 2, 1}, {1.0, 3.0});
  AttentionResult r = unwrap(softmaxAttention(q, k, v, 1.0));
  double p1 = 1.0 / (1.0 + std::exp(-1.0));
  EXPECT_NEAR(r.output.data()[0], p1 * 1.0 + (1 - p1) * 3.0, 1e-12);
  EXPECT_NEAR(r.lse.data()[0], 1000.0 + std::log1p(std::exp(-1.0)), 1e-12);
}

TEST(SoftmaxAttention, ErrorsAreClear) {
  RefTensor q({1, 3, 2, 4}), k({1, 2, 2, 4}), v({1, 2, 2, 4});
  auto r = softmaxAttention(q, k, v, std::nullopt);
  ASSERT_FALSE(bool(r));
  std::string msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("do not divide"), std::string::npos) << msg;
  auto r2 = softmaxAttention(q, RefTensor({1, 3, 2, 5}), RefTensor({1, 3, 2, 4}),
                             std::nullopt);
  ASSERT_FALSE(bool(r2));
  msg = llvm::toString(r2.takeError());
  EXPECT_NE(msg.find("head dim"), std::string::npos) << msg;
  // A callback's error comes back unchanged.
  auto bad = [](int64_t, int64_t, llvm::ArrayRef<int64_t>,
                  llvm::ArrayRef<int64_t>) -> llvm::Expected<bool> {
    return llvm::createStringError("out of range");
  };
  auto r3 = softmaxAttention(RefTensor({1, 2, 2, 4}), k, v, 1.0, bad);
  ASSERT_FALSE(bool(r3));
  EXPECT_EQ(llvm::toString(r3.takeError()), "out of range");
}

TEST(LinearAttention, QuadraticEqualsRecurrentWithDecayAndNormalize) {
  const int64_t B = 2, H = 4, G = 2, L = 37, D = 5, Dv = 3;
  RefTensor q = randomNormal({B, H, L, D}, 11), k = randomNormal({B, G, L, D}, 12),
            v = randomNormal({B, G, L, Dv}, 13);
  auto gammaOf = [](int64_t b, int64_t h, int64_t t) {
    return 0.8 + 0.15 * std::sin(double(b + 3 * h + 7 * t));
  };
  auto elu1 = [](double x) { return x > 0 ? x + 1 : std::exp(x); };
  auto feature = [&](double x) -> llvm::Expected<double> { return elu1(x); };
  auto decay = [&](int64_t b, int64_t h, int64_t t) -> llvm::Expected<double> {
    return gammaOf(b, h, t);
  };
  RefTensor fq = naive::mapped(q, elu1), fk = naive::mapped(k, elu1);
  for (bool normalize : {false, true}) {
    LinearAttentionOptions opts;
    opts.causal = true;
    opts.normalizeSum = normalize;
    opts.scale = 0.5;
    RefTensor got = unwrap(linearAttention(q, k, v, opts, feature, decay));
    RefTensor want =
        naive::linearRecurrent(fq, fk, v, gammaOf, nullptr, normalize, 0.5);
    EXPECT_LT(relErr(got, want), 1e-12) << "normalize " << normalize;
  }
}

TEST(LinearAttention, GateActsPerKeyChannel) {
  const int64_t B = 1, H = 2, L = 23, D = 4, Dv = 3;
  RefTensor q = randomNormal({B, H, L, D}, 14), k = randomNormal({B, H, L, D}, 15),
            v = randomNormal({B, H, L, Dv}, 16),
            gate = randomUniform({B, H, L, D}, 0.5, 1.0, 17);
  LinearAttentionOptions opts;
  opts.causal = true;
  RefTensor got = unwrap(linearAttention(q, k, v, opts, nullptr, nullptr, &gate));
  RefTensor want = naive::linearRecurrent(q, k, v, nullptr, &gate, false, 1.0);
  EXPECT_LT(relErr(got, want), 1e-12);
}

TEST(LinearAttention, NonCausalAndTaylor2) {
  const int64_t L = 9, S = 13, D = 3, Dv = 2;
  RefTensor q = randomNormal({1, 1, L, D}, 18), k = randomNormal({1, 1, S, D}, 19),
            v = randomNormal({1, 1, S, Dv}, 20);
  LinearAttentionOptions opts;
  opts.taylor2 = true;
  RefTensor got = unwrap(linearAttention(q, k, v, opts));
  // φ(q)·φ(k) = 1 + q·k + (q·k)² / 2 for Based's map.
  for (int64_t i = 0; i < L; ++i)
    for (int64_t e = 0; e < Dv; ++e) {
      double want = 0;
      for (int64_t j = 0; j < S; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += q.at({0, 0, i, d}) * k.at({0, 0, j, d});
        want += (1 + dot + dot * dot / 2) * v.at({0, 0, j, e});
      }
      EXPECT_NEAR(got.at({0, 0, i, e}), want, 1e-12 * (1 + std::fabs(want)));
    }
  EXPECT_EQ(taylor2Features({1.0, 2.0}).size(), 7u);
}

TEST(LinearAttention, NormalizeZeroOverZeroIsZero) {
  // φ = 0 everywhere: every sum is 0 / 0.
  RefTensor q({1, 1, 3, 2}, 0.0), k({1, 1, 3, 2}, 1.0), v({1, 1, 3, 2}, 1.0);
  LinearAttentionOptions opts;
  opts.causal = true;
  opts.normalizeSum = true;
  RefTensor got = unwrap(linearAttention(q, k, v, opts));
  for (double x : got.data())
    EXPECT_EQ(x, 0.0);
}

TEST(LinearAttention, ErrorsAreClear) {
  RefTensor q({1, 1, 3, 2}), k({1, 1, 4, 2}), v({1, 1, 4, 2});
  LinearAttentionOptions opts;
  opts.causal = true;
  auto r = linearAttention(q, k, v, opts);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("causal needs"),
            std::string::npos);
  RefTensor gate({1, 1, 3, 3});
  auto r2 = linearAttention(q, q, q, opts, nullptr, nullptr, &gate);
  ASSERT_FALSE(bool(r2));
  EXPECT_NE(llvm::toString(r2.takeError()).find("gate"), std::string::npos);
}

} // namespace
