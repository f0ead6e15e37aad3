//===- CascadeTest.cpp - cascade ops and scalar ops through the interpreter -===//
//
// DESIGN §2's claim, checked in float64: the 3-pass softmax cascade
// (einsum/reduce/map), FuseMax's 1-pass cascade (split/slice/iterate with
// running max, denominator and numerator) and attn.attention without a mask
// compute the same thing. The key rank (53) is not a multiple of the tile
// (16): the last tile is padded and a split validity vector masks the pad.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "attn/Reference/Random.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

using namespace mlir::attn::reference;
using namespace testutil;

namespace {

const char *kThreePass = R"mlir(
func.func @softmax_3pass(%Q: tensor<?x16xf32>, %K: tensor<?x16xf32>,
                         %V: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %QK0 = attn.einsum %Q[p, e], %K[m, e] -> [p, m]
      : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x?xf32>
  %QK = attn.map %QK0[p, m] -> [p, m] : tensor<?x?xf32> -> tensor<?x?xf32> {
  ^bb0(%x: f32):
    %s = arith.constant 0.25 : f32
    %y = arith.mulf %x, %s : f32
    attn.yield %y : f32
  }
  %GM = attn.reduce max %QK[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %SN = attn.map %QK[p, m], %GM[p] -> [p, m]
      : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> {
  ^bb0(%x: f32, %mx: f32):
    %d = arith.subf %x, %mx : f32
    %e = math.exp %d : f32
    attn.yield %e : f32
  }
  %SD = attn.reduce sum %SN[p, m] -> [p] : tensor<?x?xf32> -> tensor<?xf32>
  %SNV = attn.einsum %SN[p, m], %V[m, f] -> [p, f]
      : tensor<?x?xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %AV = attn.map %SNV[p, f], %SD[p] -> [p, f]
      : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32> {
  ^bb0(%n: f32, %s: f32):
    %r = arith.divf %n, %s : f32
    attn.yield %r : f32
  }
  return %AV : tensor<?x8xf32>
}
)mlir";

const char *kOnePass = R"mlir(
func.func @fusemax_1pass(%Q: tensor<?x16xf32>, %K: tensor<?x16xf32>,
                         %V: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %P = tensor.dim %Q, %c0 : tensor<?x16xf32>
  %M = tensor.dim %K, %c0 : tensor<?x16xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %K2 = attn.split %K[m, e] -> [m1, m0, e] by 16 pad 0.0
      : tensor<?x16xf32> -> tensor<?x16x16xf32>
  %V2 = attn.split %V[m, f] -> [m1, m0, f] by 16 pad 0.0
      : tensor<?x8xf32> -> tensor<?x16x8xf32>
  %ones = tensor.splat %one[%M] : tensor<?xf32>
  %W = attn.split %ones[m] -> [m1, m0] by 16 pad 0.0
      : tensor<?xf32> -> tensor<?x16xf32>
  %M1 = tensor.dim %K2, %c0 : tensor<?x16x16xf32>
  %RM0 = tensor.splat %ninf[%P] : tensor<?xf32>
  %RD0 = tensor.splat %zero[%P] : tensor<?xf32>
  %RNV0 = tensor.splat %zero[%P] : tensor<?x8xf32>
  %RM, %RD, %RNV = attn.iterate m1 < %M1
      init(%RM0, %RD0, %RNV0 : tensor<?xf32>, tensor<?xf32>, tensor<?x8xf32>)
      -> tensor<?xf32>, tensor<?xf32>, tensor<?x8xf32> {
  ^bb0(%m1: index, %rm: tensor<?xf32>, %rd: tensor<?xf32>, %rnv: tensor<?x8xf32>):
    %Kt = attn.slice %K2[m1, m0, e] at m1 = %m1 : tensor<?x16x16xf32> -> tensor<16x16xf32>
    %Vt = attn.slice %V2[m1, m0, f] at m1 = %m1 : tensor<?x16x8xf32> -> tensor<16x8xf32>
    %Wt = attn.slice %W[m1, m0] at m1 = %m1 : tensor<?x16xf32> -> tensor<16xf32>
    %QK0 = attn.einsum %Q[p, e], %Kt[m0, e] -> [p, m0]
        : tensor<?x16xf32>, tensor<16x16xf32> -> tensor<?x16xf32>
    %QK = attn.map %QK0[p, m0], %Wt[m0] -> [p, m0]
        : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32> {
    ^bb0(%x: f32, %w: f32):
      %s = arith.constant 0.25 : f32
      %xs = arith.mulf %x, %s : f32
      %valid = arith.cmpf ogt, %w, %zero : f32
      %y = arith.select %valid, %xs, %ninf : f32
      attn.yield %y : f32
    }
    %LM = attn.reduce max %QK[p, m0] -> [p] : tensor<?x16xf32> -> tensor<?xf32>
    %RMn = attn.map %rm[p], %LM[p] -> [p] : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32> {
    ^bb0(%a: f32, %b: f32):
      %mx = arith.maximumf %a, %b : f32
      attn.yield %mx : f32
    }
    %SLN = attn.map %QK[p, m0], %RMn[p] -> [p, m0]
        : tensor<?x16xf32>, tensor<?xf32> -> tensor<?x16xf32> {
    ^bb0(%x: f32, %mx: f32):
      %d = arith.subf %x, %mx : f32
      %e = math.exp %d : f32
      attn.yield %e : f32
    }
    %PRM = attn.map %rm[p], %RMn[p] -> [p] : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32> {
    ^bb0(%old: f32, %new: f32):
      %d = arith.subf %old, %new : f32
      %e = math.exp %d : f32
      attn.yield %e : f32
    }
    %SLD = attn.reduce sum %SLN[p, m0] -> [p] : tensor<?x16xf32> -> tensor<?xf32>
    %RDn = attn.map %PRM[p], %rd[p], %SLD[p] -> [p]
        : tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?xf32> {
    ^bb0(%c: f32, %r: f32, %s: f32):
      %t = arith.mulf %c, %r : f32
      %u = arith.addf %t, %s : f32
      attn.yield %u : f32
    }
    %SLNV = attn.einsum %SLN[p, m0], %Vt[m0, f] -> [p, f]
        : tensor<?x16xf32>, tensor<16x8xf32> -> tensor<?x8xf32>
    %RNVn = attn.map %PRM[p], %rnv[p, f], %SLNV[p, f] -> [p, f]
        : tensor<?xf32>, tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32> {
    ^bb0(%c: f32, %r: f32, %s: f32):
      %t = arith.mulf %c, %r : f32
      %u = arith.addf %t, %s : f32
      attn.yield %u : f32
    }
    attn.yield %RMn, %RDn, %RNVn : tensor<?xf32>, tensor<?xf32>, tensor<?x8xf32>
  }
  %AV = attn.map %RNV[p, f], %RD[p] -> [p, f]
      : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32> {
  ^bb0(%n: f32, %d: f32):
    %r = arith.divf %n, %d : f32
    attn.yield %r : f32
  }
  return %AV : tensor<?x8xf32>
}
)mlir";

const char *kDense = R"mlir(
func.func @dense(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>,
                 %v: tensor<1x1x?x8xf32>) -> tensor<1x1x?x8xf32> {
  %o = attn.attention %q, %k, %v
      : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x8xf32>
      -> tensor<1x1x?x8xf32>
  return %o : tensor<1x1x?x8xf32>
}
)mlir";

TEST(Cascade, ThreePassEqualsOnePassEqualsAttention) {
  const int64_t P = 37, M = 53;
  RefTensor Q = randomNormal({P, 16}, 41), K = randomNormal({M, 16}, 42),
            V = randomNormal({M, 8}, 43);
  auto three = run(kThreePass, {Q, K, V});
  auto one = run(kOnePass, {Q, K, V});
  auto dense = run(kDense, {reshaped(Q, {1, 1, P, 16}), reshaped(K, {1, 1, M, 16}),
                            reshaped(V, {1, 1, M, 8})});
  ASSERT_EQ(three.size(), 1u);
  ASSERT_EQ(one.size(), 1u);
  ASSERT_EQ(dense.size(), 1u);
  EXPECT_EQ(three[0].shapeString(), "[37, 8]");
  EXPECT_LT(relErr(one[0], three[0]), 1e-13);
  EXPECT_LT(relErr(reshaped(dense[0], {P, 8}), three[0]), 1e-13);
}

TEST(Cascade, SplitWithoutPadNeedsAMultiple) {
  const char *src = R"mlir(
func.func @s(%K: tensor<?x4xf32>) -> tensor<?x8x4xf32> {
  %K2 = attn.split %K[m, e] -> [m1, m0, e] by 8 : tensor<?x4xf32> -> tensor<?x8x4xf32>
  return %K2 : tensor<?x8x4xf32>
}
)mlir";
  std::string msg = runError(src, {RefTensor({13, 4})});
  EXPECT_NE(msg.find("attn.split: extent 13 is not a multiple of tile 8"),
            std::string::npos)
      << msg;
  auto ok = run(src, {RefTensor({16, 4}, 1.0)});
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].shapeString(), "[2, 8, 4]");
}

TEST(Cascade, ReduceMinAndEinsumOuterProduct) {
  const char *src = R"mlir(
func.func @r(%a: tensor<2x3xf32>, %b: tensor<4xf32>)
    -> (tensor<3xf32>, tensor<2x3x4xf32>) {
  %m = attn.reduce min %a[x, y] -> [y] : tensor<2x3xf32> -> tensor<3xf32>
  %o = attn.einsum %a[x, y], %b[z] -> [x, y, z]
      : tensor<2x3xf32>, tensor<4xf32> -> tensor<2x3x4xf32>
  return %m, %o : tensor<3xf32>, tensor<2x3x4xf32>
}
)mlir";
  RefTensor a({2, 3}, {1, 5, -2, 0, 7, 3}), b({4}, {1, 2, 3, 4});
  auto r = run(src, {a, b});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].data(), (std::vector<double>{0, 5, -2}));
  EXPECT_EQ(r[1].at({1, 1, 3}), 28.0);
  EXPECT_EQ(r[1].at({0, 2, 0}), -2.0);
}

TEST(ScalarOps, ArithMathScf) {
  const char *src = R"mlir(
func.func @s(%a: i64, %b: i64, %x: f32) -> (i64, i64, i64, i64, f32, i1, f32) {
  %fd = arith.floordivsi %a, %b : i64
  %d = arith.divsi %a, %b : i64
  %r = arith.remsi %a, %b : i64
  %mx = arith.maxsi %a, %b : i64
  %e = math.exp2 %x : f32
  %c = arith.cmpf olt, %x, %e : f32
  %y = scf.if %c -> (f32) {
    %t = math.sqrt %e : f32
    scf.yield %t : f32
  } else {
    %n = arith.negf %x : f32
    scf.yield %n : f32
  }
  return %fd, %d, %r, %mx, %e, %c, %y : i64, i64, i64, i64, f32, i1, f32
}
)mlir";
  auto r = run(src, {RefTensor::scalar(-7), RefTensor::scalar(2),
                     RefTensor::scalar(3.0)});
  ASSERT_EQ(r.size(), 7u);
  std::vector<double> got;
  for (const RefTensor &t : r)
    got.push_back(t.data()[0]);
  EXPECT_EQ(got, (std::vector<double>{-4, -3, -1, 2, 8, 1, std::sqrt(8.0)}));
  std::string msg = runError(src, {RefTensor::scalar(-7), RefTensor::scalar(0),
                                   RefTensor::scalar(3.0)});
  EXPECT_NE(msg.find("input:3:9: arith.floordivsi: division by zero"),
            std::string::npos)
      << msg;
}

} // namespace

namespace {

TEST(Unsupported, ErrorsNameTheOpInsideRegionsAndOnTensors) {
  // An unknown op inside a mask region: its own location, not the attention's.
  const char *inRegion = R"mlir(
func.func @f(%q: tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32> {
  %o = attn.attention %q, %q, %q
      : tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>
      -> tensor<1x1x2x4xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %x = arith.shli %i, %j : i64
      %keep = arith.cmpi sle, %x, %i : i64
      attn.yield %keep : i1
    }
  return %o : tensor<1x1x2x4xf32>
}
)mlir";
  std::string msg = runError(inRegion, {RefTensor({1, 1, 2, 4})});
  EXPECT_NE(msg.find("input:8:12: arith.shli: operation not supported"),
            std::string::npos)
      << msg;
  // Element-wise arith on tensors is refused rather than misread.
  const char *onTensors = R"mlir(
func.func @g(%a: tensor<3xf32>) -> tensor<3xf32> {
  %b = arith.addf %a, %a : tensor<3xf32>
  return %b : tensor<3xf32>
}
)mlir";
  msg = runError(onTensors, {RefTensor({3})});
  EXPECT_NE(msg.find("input:3:8: arith.addf: element-wise"), std::string::npos)
      << msg;
}

} // namespace

namespace {

TEST(Api, EvaluateFunctionOnACallersModule) {
  // The way the compiler's own tests call the oracle: their context, their
  // module, one of its functions.
  mlir::DialectRegistry registry;
  registry.insert<mlir::attn::AttnDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::math::MathDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(
      std::string(kDense) + kThreePass, &context, "api");
  ASSERT_TRUE(module);
  auto dense = module->lookupSymbol<mlir::func::FuncOp>("dense");
  auto three = module->lookupSymbol<mlir::func::FuncOp>("softmax_3pass");
  ASSERT_TRUE(dense && three);
  RefTensor Q = randomNormal({5, 16}, 51), K = randomNormal({7, 16}, 52),
            V = randomNormal({7, 8}, 53);
  auto a = unwrap(evaluateFunction(three, {Q, K, V}));
  auto b = unwrap(evaluateFunction(
      dense, {reshaped(Q, {1, 1, 5, 16}), reshaped(K, {1, 1, 7, 16}),
              reshaped(V, {1, 1, 7, 8})}));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_LT(relErr(reshaped(b[0], {5, 8}), a[0]), 1e-13);
  // evaluateSource picks a function by name.
  auto byName = unwrap(evaluateSource(std::string(kDense) + kThreePass,
                                      "softmax_3pass", {Q, K, V}));
  ASSERT_EQ(byName.size(), 1u);
  EXPECT_EQ(byName[0].data(), a[0].data());
}

} // namespace
