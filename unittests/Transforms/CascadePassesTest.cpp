//===- CascadePassesTest.cpp - attn-decompose / attn-fuse-softmax in f64 ---===//
//
// The cascade passes must not change what a function computes: each case
// evaluates a function with the float64 reference before and after a pass
// pipeline on seeded random inputs and asks for agreement to 1e-9. Sizes are
// not multiples of the tile (L = 37, S = 53, tile 16), some rows are fully
// masked (their output must be 0, not NaN), heads are grouped (H = 4, G = 2).
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Reference/Interpreter.h"
#include "attn/Reference/Random.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn::reference;

namespace {

/// Parses `source`, evaluates its first function on `args` before and after
/// `pipeline`, and checks that every result agrees to 1e-9 (relative to the
/// result's largest magnitude) and holds no NaN. Returns the IR after the
/// pipeline, for structural checks.
std::string checkPipelinePreserves(llvm::StringRef source,
                                   llvm::StringRef pipeline,
                                   llvm::ArrayRef<RefTensor> args) {
  static bool registered = (attn::registerAttnPasses(), true);
  (void)registered;
  DialectRegistry registry;
  registry.insert<attn::AttnDialect, arith::ArithDialect, func::FuncDialect,
                  math::MathDialect, scf::SCFDialect, tensor::TensorDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    diagnostics += formatLocation(diag.getLocation()) + ": " + diag.str() + "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  if (!module) {
    ADD_FAILURE() << "parse error:\n" << diagnostics;
    return "";
  }
  auto func = *module->getOps<func::FuncOp>().begin();
  auto before = evaluateFunction(func, args);
  if (!before) {
    ADD_FAILURE() << "before: " << llvm::toString(before.takeError());
    return "";
  }
  PassManager pm(&context);
  // `pipeline` is the list inside builtin.module(...).
  if (failed(parsePassPipeline(pipeline, pm))) {
    ADD_FAILURE() << "bad pipeline " << pipeline.str();
    return "";
  }
  if (failed(pm.run(*module))) {
    ADD_FAILURE() << "pipeline failed:\n" << diagnostics;
    return "";
  }
  std::string ir;
  llvm::raw_string_ostream os(ir);
  module->print(os);
  auto after = evaluateFunction(func, args);
  if (!after) {
    ADD_FAILURE() << "after: " << llvm::toString(after.takeError()) << "\n"
                  << ir;
    return ir;
  }
  EXPECT_EQ(before->size(), after->size());
  for (size_t r = 0; r < std::min(before->size(), after->size()); ++r) {
    const RefTensor &x = (*before)[r], &y = (*after)[r];
    EXPECT_EQ(x.shape(), y.shape());
    if (x.shape() != y.shape())
      continue;
    double scale = 1.0, worst = 0.0;
    for (double v : x.data())
      if (std::isfinite(v))
        scale = std::max(scale, std::fabs(v));
    for (size_t n = 0; n < x.data().size(); ++n) {
      double a = x.data()[n], b = y.data()[n];
      EXPECT_FALSE(std::isnan(b)) << "result " << r << " element " << n;
      if (std::isinf(a) || std::isinf(b)) {
        EXPECT_EQ(a, b) << "result " << r << " element " << n;
        continue;
      }
      worst = std::max(worst, std::fabs(a - b));
    }
    EXPECT_LE(worst / scale, 1e-9) << "result " << r;
  }
  return ir;
}

/// Number of rows of `t` ([B, H, L, F]) at token `i` that are all zero.
bool rowIsZero(const RefTensor &t, int64_t b, int64_t h, int64_t i) {
  for (int64_t f = 0; f < t.dim(3); ++f)
    if (t.at({b, h, i, f}) != 0.0)
      return false;
  return true;
}

constexpr llvm::StringLiteral kBoth =
    "attn-decompose,attn-fuse-softmax{tile=16}";

// Causal with a late start (rows 0..3 fully masked), grouped heads, L != S.
constexpr llvm::StringLiteral kCausalGqa = R"mlir(
func.func @f(%q: tensor<2x4x?x16xf32>, %k: tensor<2x2x?x16xf32>,
             %v: tensor<2x2x?x8xf32>) -> tensor<2x4x?x8xf32> {
  %o = attn.attention %q, %k, %v : tensor<2x4x?x16xf32>, tensor<2x2x?x16xf32>,
      tensor<2x2x?x8xf32> -> tensor<2x4x?x8xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %c4 = arith.constant 4 : i64
      %causal = arith.cmpi sle, %j, %i : i64
      %late = arith.cmpi sge, %i, %c4 : i64
      %keep = arith.andi %causal, %late : i1
      attn.yield %keep : i1
    }
  return %o : tensor<2x4x?x8xf32>
}
)mlir";

std::vector<RefTensor> causalGqaArgs() {
  return {randomNormal({2, 4, 37, 16}, 1), randomNormal({2, 2, 53, 16}, 2),
          randomNormal({2, 2, 53, 8}, 3)};
}

TEST(AttnDecompose, CausalGqaFullyMaskedRows) {
  auto args = causalGqaArgs();
  std::string ir =
      checkPipelinePreserves(kCausalGqa, "attn-decompose", args);
  EXPECT_EQ(ir.find("attn.attention"), std::string::npos);
  EXPECT_NE(ir.find("attn.iota"), std::string::npos);
  // The oracle's rows 0..3 are 0: agreement above means the cascade's are too.
  auto ref = evaluateSource(kCausalGqa, "", args);
  ASSERT_TRUE(static_cast<bool>(ref)) << llvm::toString(ref.takeError());
  EXPECT_TRUE(rowIsZero((*ref)[0], 1, 3, 2));
}

TEST(AttnFuseSoftmax, CausalGqaFullyMaskedRows) {
  std::string ir = checkPipelinePreserves(kCausalGqa, kBoth, causalGqaArgs());
  EXPECT_NE(ir.find("attn.iterate"), std::string::npos);
  EXPECT_EQ(ir.find("attn.reduce  max %"), ir.rfind("attn.reduce  max %"))
      << "only the loop's max remains";
}

// Document mask from an input tensor, soft-capping score rule, explicit
// scale and the lse result.
constexpr llvm::StringLiteral kDocSoftcapLse = R"mlir(
func.func @f(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>,
             %v: tensor<1x2x?x16xf32>, %doc: tensor<1x?xi32>)
    -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) {
  %scale = arith.constant 0.3 : f32
  %o, %lse = attn.attention %q, %k, %v scale(%scale) inputs(%doc : tensor<1x?xi32>)
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>
      -> tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<1x?xi32>):
      %bi = arith.index_cast %b : i64 to index
      %ii = arith.index_cast %i : i64 to index
      %ji = arith.index_cast %j : i64 to index
      %di = tensor.extract %d[%bi, %ii] : tensor<1x?xi32>
      %dj = tensor.extract %d[%bi, %ji] : tensor<1x?xi32>
      %same = arith.cmpi eq, %di, %dj : i32
      attn.yield %same : i1
    } score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64, %d: tensor<1x?xi32>):
      %cap = arith.constant 5.0 : f32
      %x = arith.divf %s, %cap : f32
      %t = math.tanh %x : f32
      %y = arith.mulf %t, %cap : f32
      attn.yield %y : f32
    }
  return %o, %lse : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
}
)mlir";

std::vector<RefTensor> docArgs() {
  std::vector<double> doc;
  for (int64_t i = 0; i < 37; ++i)
    doc.push_back(i < 10 ? 0 : i < 30 ? 1 : 2);
  return {randomNormal({1, 2, 37, 16}, 4), randomNormal({1, 2, 37, 16}, 5),
          randomNormal({1, 2, 37, 16}, 6), RefTensor({1, 37}, doc)};
}

TEST(AttnDecompose, DocumentMaskSoftcapLse) {
  checkPipelinePreserves(kDocSoftcapLse, "attn-decompose",
                         docArgs());
}

TEST(AttnFuseSoftmax, DocumentMaskSoftcapLse) {
  // The lse reads the row max: the softmax stays 3-pass (unrecognised
  // because GM has a second use), and results still agree.
  checkPipelinePreserves(kDocSoftcapLse, kBoth, docArgs());
}

// Two token axes, default scale 1/sqrt(D) with D = 8 (not a power of 4).
constexpr llvm::StringLiteral kTwoAxes = R"mlir(
func.func @f(%q: tensor<1x2x5x3x8xf32>, %k: tensor<1x2x4x6x8xf32>,
             %v: tensor<1x2x4x6x4xf32>) -> tensor<1x2x5x3x4xf32> {
  %o = attn.attention %q, %k, %v : tensor<1x2x5x3x8xf32>, tensor<1x2x4x6x8xf32>,
      tensor<1x2x4x6x4xf32> -> tensor<1x2x5x3x4xf32>
    mask {
    ^bb0(%b: i64, %h: i64, %i0: i64, %i1: i64, %j0: i64, %j1: i64):
      %a = arith.cmpi sle, %j0, %i0 : i64
      %c = arith.cmpi sge, %j1, %i1 : i64
      %keep = arith.andi %a, %c : i1
      attn.yield %keep : i1
    }
  return %o : tensor<1x2x5x3x4xf32>
}
)mlir";

TEST(AttnDecompose, TwoTokenAxes) {
  std::string ir = checkPipelinePreserves(
      kTwoAxes, "attn-decompose,attn-fuse-softmax{tile=16}",
      {randomNormal({1, 2, 5, 3, 8}, 7), randomNormal({1, 2, 4, 6, 8}, 8),
       randomNormal({1, 2, 4, 6, 4}, 9)});
  // Two key ranks: not the one-key cascade the fuse pass knows.
  EXPECT_EQ(ir.find("attn.iterate"), std::string::npos);
}

// Linear attention: non-causal with a feature map, normalised, L != S;
// and causal with a scale.
constexpr llvm::StringLiteral kLinear = R"mlir(
func.func @f(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>,
             %v: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  %o = attn.linear_attention %q, %k, %v {normalize = #attn.normalize<sum>}
      : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
    feature {
    ^bb0(%x: f32):
      %e = math.exp %x : f32
      attn.yield %e : f32
    }
  return %o : tensor<1x2x?x4xf32>
}
)mlir";

constexpr llvm::StringLiteral kLinearCausal = R"mlir(
func.func @f(%q: tensor<2x2x?x8xf32>, %k: tensor<2x2x?x8xf32>,
             %v: tensor<2x2x?x4xf32>) -> tensor<2x2x?x4xf32> {
  %s = arith.constant 0.7 : f32
  %o = attn.linear_attention %q, %k, %v scale(%s) {causal}
      : tensor<2x2x?x8xf32>, tensor<2x2x?x8xf32>, tensor<2x2x?x4xf32> -> tensor<2x2x?x4xf32>
  return %o : tensor<2x2x?x4xf32>
}
)mlir";

TEST(AttnDecompose, LinearFeatureNormalizedCross) {
  checkPipelinePreserves(kLinear, "attn-decompose",
                         {randomNormal({1, 2, 37, 8}, 10),
                          randomNormal({1, 2, 53, 8}, 11),
                          randomNormal({1, 2, 53, 4}, 12)});
}

TEST(AttnDecompose, LinearCausalScaled) {
  checkPipelinePreserves(kLinearCausal, "attn-decompose",
                         {randomNormal({2, 2, 37, 8}, 13),
                          randomNormal({2, 2, 37, 8}, 14),
                          randomNormal({2, 2, 37, 4}, 15)});
}

// FuseMax's plain 3-pass cascade (test/Dialect/Attn/ops.mlir), ragged keys.
constexpr llvm::StringLiteral kThreePass = R"mlir(
func.func @f(%Q: tensor<?x16xf32>, %K: tensor<?x16xf32>,
             %V: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %QK = attn.einsum %Q[p, e], %K[m, e] -> [p, m]
      : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x?xf32>
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

TEST(AttnFuseSoftmax, PlainThreePassRaggedKeys) {
  for (int64_t tile : {1, 16, 53, 64}) {
    std::string pipeline =
        "attn-fuse-softmax{tile=" + std::to_string(tile) + "}";
    std::string ir = checkPipelinePreserves(
        kThreePass, pipeline,
        {randomNormal({37, 16}, 16), randomNormal({53, 16}, 17),
         randomNormal({53, 8}, 18)});
    EXPECT_NE(ir.find("attn.iterate"), std::string::npos) << "tile " << tile;
  }
}

} // namespace
