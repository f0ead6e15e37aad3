//===- LinearIRTest.cpp - attn.linear_attention through the interpreter ---===//
//
// The interpreter's quadratic form against the recurrent form of Naive.h
// (computed independently), with a feature region, a decay region reading an
// input, a gate, normalize = sum and taylor2.
//
//===----------------------------------------------------------------------===//

#include "Naive.h"
#include "TestUtil.h"

#include "attn/Reference/Random.h"

using namespace mlir::attn::reference;
using namespace testutil;

namespace {

/// elu(x) + 1 feature and a decay read from an input tensor [B, H, L].
std::string decayProgram(bool normalize) {
  std::string attrs =
      normalize ? "{causal, normalize = #attn.normalize<sum>}" : "{causal}";
  return R"mlir(
func.func @la(%q: tensor<?x4x?x5xf32>, %k: tensor<?x4x?x5xf32>,
              %v: tensor<?x4x?x3xf32>, %gam: tensor<?x?x?xf32>)
    -> tensor<?x4x?x3xf32> {
  %scale = arith.constant 0.5 : f32
  %o = attn.linear_attention %q, %k, %v scale(%scale)
      inputs(%gam : tensor<?x?x?xf32>) )mlir" +
         attrs + R"mlir(
      : tensor<?x4x?x5xf32>, tensor<?x4x?x5xf32>, tensor<?x4x?x3xf32>
      -> tensor<?x4x?x3xf32>
    feature {
    ^bb0(%x: f32):
      %zero = arith.constant 0.0 : f32
      %one = arith.constant 1.0 : f32
      %pos = arith.cmpf ogt, %x, %zero : f32
      %e = math.exp %x : f32
      %p1 = arith.addf %x, %one : f32
      %y = arith.select %pos, %p1, %e : f32
      attn.yield %y : f32
    }
    decay {
    ^bb0(%b: i64, %h: i64, %t: i64, %g: tensor<?x?x?xf32>):
      %bi = arith.index_cast %b : i64 to index
      %hi = arith.index_cast %h : i64 to index
      %ti = arith.index_cast %t : i64 to index
      %y = tensor.extract %g[%bi, %hi, %ti] : tensor<?x?x?xf32>
      attn.yield %y : f32
    }
  return %o : tensor<?x4x?x3xf32>
}
)mlir";
}

TEST(LinearIR, DecayAndNormalizeMatchRecurrentForm) {
  const int64_t B = 2, H = 4, G = 4, L = 37; // the verifier wants k heads = q heads
  RefTensor q = randomNormal({B, H, L, 5}, 21), k = randomNormal({B, G, L, 5}, 22),
            v = randomNormal({B, G, L, 3}, 23),
            gam = randomUniform({B, H, L}, 0.7, 1.0, 24);
  auto elu1 = [](double x) { return x > 0 ? x + 1 : std::exp(x); };
  for (bool normalize : {false, true}) {
    auto r = run(decayProgram(normalize), {q, k, v, gam});
    ASSERT_EQ(r.size(), 1u);
    RefTensor want = naive::linearRecurrent(
        naive::mapped(q, elu1), naive::mapped(k, elu1), v,
        [&](int64_t b, int64_t h, int64_t t) { return gam.at({b, h, t}); },
        nullptr, normalize, 0.5);
    EXPECT_LT(relErr(r[0], want), 1e-12) << "normalize " << normalize;
  }
}

const char *kGate = R"mlir(
func.func @gla(%q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>,
               %v: tensor<1x2x?x3xf32>, %g: tensor<1x2x?x4xf32>)
    -> tensor<1x2x?x3xf32> {
  %o = attn.linear_attention %q, %k, %v gate(%g : tensor<1x2x?x4xf32>) {causal}
      : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32>
      -> tensor<1x2x?x3xf32>
  return %o : tensor<1x2x?x3xf32>
}
)mlir";

TEST(LinearIR, GateMatchesRecurrentForm) {
  const int64_t L = 31;
  RefTensor q = randomNormal({1, 2, L, 4}, 25), k = randomNormal({1, 2, L, 4}, 26),
            v = randomNormal({1, 2, L, 3}, 27),
            g = randomUniform({1, 2, L, 4}, 0.5, 1.0, 28);
  auto r = run(kGate, {q, k, v, g});
  ASSERT_EQ(r.size(), 1u);
  RefTensor want = naive::linearRecurrent(q, k, v, nullptr, &g, false, 1.0);
  EXPECT_LT(relErr(r[0], want), 1e-12);
}

const char *kTaylor = R"mlir(
func.func @based(%q: tensor<1x1x?x3xf32>, %k: tensor<1x1x?x3xf32>,
                 %v: tensor<1x1x?x2xf32>) -> tensor<1x1x?x2xf32> {
  %s = arith.constant 0.25 : f32
  %o = attn.linear_attention %q, %k, %v scale(%s)
      {feature_map = #attn.feature_map<taylor2>}
      : tensor<1x1x?x3xf32>, tensor<1x1x?x3xf32>, tensor<1x1x?x2xf32>
      -> tensor<1x1x?x2xf32>
  return %o : tensor<1x1x?x2xf32>
}
)mlir";

TEST(LinearIR, Taylor2NonCausalMatchesClosedForm) {
  const int64_t L = 11, D = 3;
  RefTensor q = randomNormal({1, 1, L, D}, 29), k = randomNormal({1, 1, L, D}, 30),
            v = randomNormal({1, 1, L, 2}, 31);
  auto r = run(kTaylor, {q, k, v});
  ASSERT_EQ(r.size(), 1u);
  RefTensor want({1, 1, L, 2});
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d)
        dot += q.at({0, 0, i, d}) * k.at({0, 0, j, d});
      for (int64_t e = 0; e < 2; ++e)
        want.at({0, 0, i, e}) +=
            0.25 * (1 + dot + dot * dot / 2) * v.at({0, 0, j, e});
    }
  EXPECT_LT(relErr(r[0], want), 1e-13);
}

} // namespace
