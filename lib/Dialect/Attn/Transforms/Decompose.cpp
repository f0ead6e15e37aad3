//===- Decompose.cpp - attn.attention and attn.linear_attention as cascades ===//
//
// attn-decompose: the high-level ops become the Einsum cascades of DESIGN §2,
// so that the fuse passes and the cascade lowering see one form. The mask and
// score regions become the body of one attn.map whose extra operands are the
// coordinates (attn.iota) of the ranks the regions read; grouped-query heads
// are broadcast with a 0/1 einsum, which is exact and needs no static head
// counts.
//
//===----------------------------------------------------------------------===//

#include "CascadeBuilder.h"

#include "attn/Dialect/Attn/Transforms/Cascade.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNDECOMPOSEPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

#define DEBUG_TYPE "attn-decompose"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cascade;

namespace {
/// Rank names of one attention op's cascade: batch, query head, query and key
/// token axes, head dims.
struct AttnRanks {
  StringRef b, h, g, e, f;
  SmallVector<StringRef> p, m;

  AttnRanks(CascadeBuilder &cb, unsigned tokenAxes)
      : b(cb.name("b")), h(cb.name("h")), g(cb.name("g")), e(cb.name("e")),
        f(cb.name("f")) {
    for (unsigned a = 0; a < tokenAxes; ++a) {
      p.push_back(tokenAxes == 1 ? cb.name("p") : cb.name("p" + llvm::Twine(a)));
      m.push_back(tokenAxes == 1 ? cb.name("m") : cb.name("m" + llvm::Twine(a)));
    }
  }
  /// [b, head, tokens..., dim]
  RankList tensor(StringRef head, llvm::ArrayRef<StringRef> tokens,
                  StringRef dim) const {
    RankList r{b, head};
    r.append(tokens.begin(), tokens.end());
    r.push_back(dim);
    return r;
  }
  /// [b, h, p..., m...]: the scores.
  RankList scores() const {
    RankList r = queries();
    r.append(m.begin(), m.end());
    return r;
  }
  /// [b, h, p...]: one entry per query row.
  RankList queries() const {
    RankList r{b, h};
    r.append(p.begin(), p.end());
    return r;
  }
};
} // namespace

/// Whether the head counts of `q` and `kv` are statically the same (no
/// grouped-query broadcast needed).
static bool sameHeads(Value q, Value kv) {
  int64_t hq = cast<ShapedType>(q.getType()).getDimSize(1);
  int64_t hk = cast<ShapedType>(kv.getType()).getDimSize(1);
  return q == kv || (!ShapedType::isDynamic(hq) && hq == hk);
}

static Value dimAsI64(OpBuilder &b, Location loc, Value t, int64_t dim) {
  Value d = tensor::DimOp::create(b, loc, t, dim);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), d);
}

/// The coordinates of dimension `dim` of `t`, bound to `rank`.
static Ranked iotaOf(CascadeBuilder &cb, Value t, int64_t dim, StringRef rank) {
  OpBuilder &b = cb.builder();
  Value extent = tensor::DimOp::create(b, cb.getLoc(), t, dim);
  int64_t n = cast<ShapedType>(t.getType()).getDimSize(dim);
  auto type = RankedTensorType::get({n}, b.getI64Type());
  return cb.bind(IotaOp::create(b, cb.getLoc(), type, extent), {rank});
}

/// `x` as f32 (the cascade computes in f32, DESIGN §2 numerics).
static Value toF32(OpBuilder &b, Location loc, Value x) {
  Type f32 = b.getF32Type();
  if (x.getType() == f32)
    return x;
  if (x.getType().getIntOrFloatBitWidth() < 32)
    return arith::ExtFOp::create(b, loc, f32, x);
  return arith::TruncFOp::create(b, loc, f32, x);
}

/// `x` (f32) as `type`.
static Value fromF32(OpBuilder &b, Location loc, Value x, Type type) {
  if (type == x.getType())
    return x;
  if (type.getIntOrFloatBitWidth() < 32)
    return arith::TruncFOp::create(b, loc, type, x);
  return arith::ExtFOp::create(b, loc, type, x);
}

/// Key or value tensor `kv` ([b, g, m..., d]) seen with the query's heads
/// ([b, h, m..., d]). With G kv heads among H query heads, query head h
/// reads kv head h / (H / G): KH = Σ_g E[h, g] · KV[.., g, ..] with
/// E[h, g] = (g == h / (H / G)), which multiplies by 1 and adds zeros (exact).
/// `sel` caches E between the key and the value.
static Ranked broadcastHeads(CascadeBuilder &cb, const AttnRanks &r, Value q,
                             Value kv, StringRef dim, Value &sel) {
  if (sameHeads(q, kv))
    return cb.bind(kv, r.tensor(r.h, r.m, dim));
  Type f32 = cb.builder().getF32Type();
  Ranked kvg = cb.bind(kv, r.tensor(r.g, r.m, dim));
  RankList out = r.tensor(r.h, r.m, dim);
  if (sel)
    return cb.bind(cb.einsum({kvg, Ranked{sel, {r.h, r.g}}}, out, f32), out);
  OpBuilder &b = cb.builder();
  Location loc = cb.getLoc();
  Ranked hi = iotaOf(cb, q, 1, r.h);
  Ranked gi = iotaOf(cb, kv, 1, r.g);
  Value numH = dimAsI64(b, loc, q, 1), numG = dimAsI64(b, loc, kv, 1);
  sel = cb.map({hi, gi}, {r.h, r.g}, f32,
                     [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       Value group = arith::DivSIOp::create(b, loc, numH, numG);
                       Value kvHead = arith::DivSIOp::create(b, loc, a[0], group);
                       Value same = arith::CmpIOp::create(
                           b, loc, arith::CmpIPredicate::eq, a[1], kvHead);
                       Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
                       Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
                       return arith::SelectOp::create(b, loc, same, one, zero);
                     });
  return cb.bind(cb.einsum({kvg, Ranked{sel, {r.h, r.g}}}, out, f32), out);
}

/// Clones the ops of `region`'s block (not its terminator) with `mapping` and
/// returns the mapped yielded value.
static Value inlineRegion(OpBuilder &b, Region &region, IRMapping &mapping) {
  Block &block = region.front();
  for (Operation &op : block.without_terminator())
    b.clone(op, mapping);
  return mapping.lookupOrDefault(
      cast<YieldOp>(block.getTerminator()).getValues()[0]);
}

/// exp(x − m) with m = 0 where the row maximum is −inf (a fully masked row),
/// so that such a row yields zeros instead of NaN.
static Value guardedExp(OpBuilder &b, Location loc, Value x, Value mx) {
  Type f32 = b.getF32Type();
  Value ninf = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(f32, -std::numeric_limits<double>::infinity()));
  Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, 0.0));
  Value empty =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mx, ninf);
  Value safe = arith::SelectOp::create(b, loc, empty, zero, mx);
  Value d = arith::SubFOp::create(b, loc, x, safe);
  return math::ExpOp::create(b, loc, d);
}

/// n / d, with 0 where d is 0 (a fully masked row: n is 0 too).
static Value guardedDiv(OpBuilder &b, Location loc, Value n, Value d) {
  Value zero =
      arith::ConstantOp::create(b, loc, b.getFloatAttr(d.getType(), 0.0));
  Value none = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, d, zero);
  Value q = arith::DivFOp::create(b, loc, n, d);
  return arith::SelectOp::create(b, loc, none, zero, q);
}

/// Ends with `value` typed like `result` (a tensor.cast where the cascade
/// knows fewer static extents than the op's result type).
static Value castTo(OpBuilder &b, Location loc, Value value, Type result) {
  if (value.getType() == result)
    return value;
  return tensor::CastOp::create(b, loc, result, value);
}

LogicalResult mlir::attn::decomposeAttention(RewriterBase &rewriter,
                                             AttentionOp op) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  CascadeBuilder cb(rewriter, loc);
  const unsigned n = op.getNumTokenAxes();
  AttnRanks r(cb, n);
  Type f32 = rewriter.getF32Type();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  const int64_t headDim = cast<ShapedType>(q.getType()).getShape().back();

  RankList qR = r.tensor(r.h, r.p, r.e);
  cb.bind(q, qR);
  RankList outR = r.tensor(r.h, r.p, r.f);
  cb.bind(op.getOutput(), outR);
  Value sel;
  Ranked kh = broadcastHeads(cb, r, q, k, r.e, sel);
  Ranked vh = broadcastHeads(cb, r, q, v, r.f, sel);

  // Scale Q before the product (one multiply per q element, not per score).
  Value scale = op.getScale();
  if (!scale) {
    Value d = cb.constantFloat(f32, static_cast<double>(headDim));
    scale = math::RsqrtOp::create(rewriter, loc, d);
  }
  Value qs = cb.map({{q, qR}}, qR, f32,
                    [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                      return arith::MulFOp::create(b, loc, toF32(b, loc, a[0]),
                                                   scale);
                    });
  RankList sR = r.scores(), rowR = r.queries();
  Value s = cb.einsum({{qs, qR}, kh}, sR, f32);

  // Mask and score rule: one map over the scores and the coordinates that
  // the regions read. Block arguments of the mask: (b, h, i..., j...,
  // inputs...); of the score: (s, b, h, i..., j..., inputs...).
  if (op.hasMask() || op.hasScore()) {
    const unsigned numCoords = 2 + 2 * n;
    SmallVector<Ranked> operands{{s, sR}};
    SmallVector<int> argOf(numCoords, -1);
    for (unsigned c = 0; c < numCoords; ++c) {
      bool used =
          (op.hasMask() && !op.getMask().front().getArgument(c).use_empty()) ||
          (op.hasScore() &&
           !op.getScore().front().getArgument(c + 1).use_empty());
      if (!used)
        continue;
      argOf[c] = operands.size();
      if (c < 2)
        operands.push_back(iotaOf(cb, q, c, c == 0 ? r.b : r.h));
      else if (c < 2 + n)
        operands.push_back(iotaOf(cb, q, c, r.p[c - 2]));
      else
        operands.push_back(iotaOf(cb, k, c - n, r.m[c - 2 - n]));
    }
    s = cb.map(operands, sR, f32,
               [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                 auto bindArgs = [&](Block &block, unsigned first,
                                     IRMapping &mapping) {
                   for (unsigned c = 0; c < numCoords; ++c)
                     if (argOf[c] >= 0)
                       mapping.map(block.getArgument(first + c), a[argOf[c]]);
                   for (auto [i, in] : llvm::enumerate(op.getInputs()))
                     mapping.map(block.getArgument(first + numCoords + i), in);
                 };
                 Value result = a[0];
                 if (op.hasScore()) {
                   IRMapping mapping;
                   mapping.map(op.getScore().front().getArgument(0), a[0]);
                   bindArgs(op.getScore().front(), 1, mapping);
                   result = inlineRegion(b, op.getScore(), mapping);
                 }
                 if (op.hasMask()) {
                   IRMapping mapping;
                   bindArgs(op.getMask().front(), 0, mapping);
                   Value keep = inlineRegion(b, op.getMask(), mapping);
                   Value ninf = arith::ConstantOp::create(
                       b, loc,
                       b.getFloatAttr(b.getF32Type(),
                                      -std::numeric_limits<double>::infinity()));
                   result = arith::SelectOp::create(b, loc, keep, result, ninf);
                 }
                 return result;
               });
  }

  // GM = max_m S; SN = exp(S − GM); SD = Σ_m SN; SNV = Σ_m SN · V; AV = SNV / SD
  Value gm = cb.reduce(ReduceKind::max, {s, sR}, rowR);
  Value sn = cb.map({{s, sR}, {gm, rowR}}, sR, f32,
                    [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                      return guardedExp(b, loc, a[0], a[1]);
                    });
  Value sd = cb.reduce(ReduceKind::sum, {sn, sR}, rowR);
  Value snv = cb.einsum({{sn, sR}, vh}, outR, f32);
  Type outElement = op.getOutput().getType().getElementType();
  Value av = cb.map({{snv, outR}, {sd, rowR}}, outR, outElement,
                    [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                      return fromF32(b, loc, guardedDiv(b, loc, a[0], a[1]),
                                     outElement);
                    });
  SmallVector<Value> results{castTo(rewriter, loc, av, op.getOutput().getType())};
  if (Value lse = op.getLse()) {
    // lse = GM + log SD; a fully masked row has GM = −inf and SD = 0, and
    // log 1 keeps it at −inf.
    Value l = cb.map({{gm, rowR}, {sd, rowR}}, rowR, f32,
                     [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
                       Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
                       Value none = arith::CmpFOp::create(
                           b, loc, arith::CmpFPredicate::OEQ, a[1], zero);
                       Value safe = arith::SelectOp::create(b, loc, none, one, a[1]);
                       Value log = math::LogOp::create(b, loc, safe);
                       return arith::AddFOp::create(b, loc, a[0], log);
                     });
    results.push_back(castTo(rewriter, loc, l, lse.getType()));
  }
  rewriter.replaceOp(op, results);
  return success();
}

/// Why `op` has no cascade here, or empty.
static std::string whyNotLinear(LinearAttentionOp op) {
  if (op.getFeatureMap() == FeatureMap::taylor2)
    return "the taylor2 feature map";
  if (!op.getDecay().empty())
    return "a decay region";
  if (op.getGate())
    return "a gate";
  if (op.getCausal() && cast<ShapedType>(op.getQuery().getType()).getRank() != 4)
    return "causal attention over several token axes";
  return "";
}

LogicalResult mlir::attn::decomposeLinearAttention(RewriterBase &rewriter,
                                                   LinearAttentionOp op) {
  if (std::string why = whyNotLinear(op); !why.empty())
    return op.emitError() << "attn-decompose does not handle linear attention "
                             "with "
                          << why << " yet";
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  CascadeBuilder cb(rewriter, loc);
  const unsigned n = cast<ShapedType>(op.getQuery().getType()).getRank() - 3;
  AttnRanks r(cb, n);
  Type f32 = rewriter.getF32Type();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  RankList qR = r.tensor(r.h, r.p, r.e), outR = r.tensor(r.h, r.p, r.f);
  cb.bind(q, qR);
  cb.bind(op.getOutput(), outR);
  Value sel;
  Ranked kh = broadcastHeads(cb, r, q, k, r.e, sel);
  Ranked vh = broadcastHeads(cb, r, q, v, r.f, sel);

  // φ applied element-wise to q and k.
  auto feature = [&](const Ranked &x) -> Ranked {
    if (op.getFeature().empty())
      return x;
    Value y = cb.map({x}, x.ranks, f32,
                     [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       IRMapping mapping;
                       mapping.map(op.getFeature().front().getArgument(0),
                                   toF32(b, loc, a[0]));
                       return inlineRegion(b, op.getFeature(), mapping);
                     });
    return {y, x.ranks};
  };
  Ranked fq = feature({q, qR}), fk = feature(kh);
  RankList sR = r.scores(), rowR = r.queries();
  Value a = cb.einsum({fq, fk}, sR, f32);
  if (op.getCausal()) {
    Ranked ip = iotaOf(cb, q, 2, r.p[0]);
    Ranked jm = iotaOf(cb, k, 2, r.m[0]);
    a = cb.map({{a, sR}, ip, jm}, sR, f32,
               [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
                 Value keep = arith::CmpIOp::create(
                     b, loc, arith::CmpIPredicate::sle, x[2], x[1]);
                 Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
                 return arith::SelectOp::create(b, loc, keep, x[0], zero);
               });
  }
  if (Value scale = op.getScale())
    a = cb.map({{a, sR}}, sR, f32,
               [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
                 return arith::MulFOp::create(b, loc, x[0], scale);
               });
  Value num = cb.einsum({{a, sR}, vh}, outR, f32);
  Type outElement = op.getOutput().getType().getElementType();
  Value out;
  if (op.getNormalize() == Normalize::sum) {
    // 0 / 0 gives 0 (DESIGN §3.1).
    Value den = cb.reduce(ReduceKind::sum, {a, sR}, rowR);
    out = cb.map({{num, outR}, {den, rowR}}, outR, outElement,
                 [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
                   Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
                   Value nz = arith::CmpFOp::create(
                       b, loc, arith::CmpFPredicate::OEQ, x[0], zero);
                   Value dz = arith::CmpFOp::create(
                       b, loc, arith::CmpFPredicate::OEQ, x[1], zero);
                   Value both = arith::AndIOp::create(b, loc, nz, dz);
                   Value qv = arith::DivFOp::create(b, loc, x[0], x[1]);
                   Value y = arith::SelectOp::create(b, loc, both, zero, qv);
                   return fromF32(b, loc, y, outElement);
                 });
  } else if (outElement != f32) {
    out = cb.map({{num, outR}}, outR, outElement,
                 [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
                   return fromF32(b, loc, x[0], outElement);
                 });
  } else {
    out = num;
  }
  rewriter.replaceOp(op, castTo(rewriter, loc, out, op.getOutput().getType()));
  return success();
}

namespace {
struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    return decomposeAttention(rewriter, op);
  }
};

struct DecomposeLinearAttention : OpRewritePattern<LinearAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (std::string why = whyNotLinear(op); !why.empty())
      return rewriter.notifyMatchFailure(op, why);
    return decomposeLinearAttention(rewriter, op);
  }
};

struct AttnDecomposePass
    : mlir::attn::impl::AttnDecomposePassBase<AttnDecomposePass> {
  using Base::Base;
  void runOnOperation() override {
    // A walk rather than a greedy driver: every op is rewritten once, and one
    // that is not handled gets its own diagnostic.
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<AttentionOp, LinearAttentionOp>(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    for (Operation *op : ops) {
      LogicalResult result =
          isa<AttentionOp>(op)
              ? decomposeAttention(rewriter, cast<AttentionOp>(op))
              : decomposeLinearAttention(rewriter, cast<LinearAttentionOp>(op));
      failedAny |= failed(result);
    }
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace

void mlir::attn::populateAttnDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention, DecomposeLinearAttention>(
      patterns.getContext());
}
