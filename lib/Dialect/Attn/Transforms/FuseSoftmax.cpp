//===- FuseSoftmax.cpp - FuseMax's 1-pass form of the softmax cascade -----===//
//
// attn-fuse-softmax: recognises the 3-pass softmax cascade
//   GM = max_k S; SN = exp(S − GM); SD = Σ_k SN; SNV = Σ_k SN · V; AV = SNV / SD
// and rewrites it into the 1-pass form of DESIGN §2: the key rank k is split
// into tiles (k1, k0), the producers of S (einsums and maps carrying k) move
// into an attn.iterate over k1, which carries the running max, denominator
// and numerator. Keys past the end of a ragged last tile get the score −inf
// (an added 0/−inf vector), never a padded key of 0: a score of 0 would count.
//
//===----------------------------------------------------------------------===//

#include "CascadeBuilder.h"

#include "attn/Dialect/Attn/Transforms/Cascade.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringSet.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNFUSESOFTMAXPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

#define DEBUG_TYPE "attn-fuse-softmax"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cascade;

static constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// The value yielded by a map's body.
static Value yielded(MapOp op) {
  return cast<YieldOp>(op.getBody().front().getTerminator()).getValues()[0];
}

static bool isArg(Value v, MapOp op, unsigned n) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && arg.getOwner() == &op.getBody().front() && arg.getArgNumber() == n;
}

static bool isConstantFloat(Value v, double value) {
  FloatAttr attr;
  return matchPattern(v, m_Constant(&attr)) &&
         attr.getValueAsDouble() == value;
}

/// Whether `m` is arg #1 of `op`, or arg #1 guarded as attn-decompose writes
/// it (`m == −inf ? 0 : m`).
static bool isRowMax(Value m, MapOp op) {
  if (isArg(m, op, 1))
    return true;
  auto sel = m.getDefiningOp<arith::SelectOp>();
  if (!sel || !isArg(sel.getFalseValue(), op, 1) ||
      !isConstantFloat(sel.getTrueValue(), 0.0))
    return false;
  auto cmp = sel.getCondition().getDefiningOp<arith::CmpFOp>();
  return cmp && cmp.getPredicate() == arith::CmpFPredicate::OEQ &&
         isArg(cmp.getLhs(), op, 1) && isConstantFloat(cmp.getRhs(), kNegInf);
}

/// The exp op of a body computing exp(x − m) of its two operands (m
/// possibly guarded), or null.
static math::ExpOp matchExpOfDifference(MapOp op) {
  auto exp = yielded(op).getDefiningOp<math::ExpOp>();
  if (!exp)
    return {};
  auto sub = exp.getOperand().getDefiningOp<arith::SubFOp>();
  if (!sub || !isArg(sub.getLhs(), op, 0) || !isRowMax(sub.getRhs(), op))
    return {};
  return exp;
}

/// Whether the body computes n / d of its two operands, possibly with the
/// fully-masked guard (d == 0 ? 0 : n / d) and a final precision change.
static bool isDivision(MapOp op) {
  Value y = yielded(op);
  if (auto t = y.getDefiningOp<arith::TruncFOp>())
    y = t.getIn();
  else if (auto e = y.getDefiningOp<arith::ExtFOp>())
    y = e.getIn();
  if (auto sel = y.getDefiningOp<arith::SelectOp>()) {
    auto cmp = sel.getCondition().getDefiningOp<arith::CmpFOp>();
    if (!cmp || cmp.getPredicate() != arith::CmpFPredicate::OEQ ||
        !isArg(cmp.getLhs(), op, 1) || !isConstantFloat(cmp.getRhs(), 0.0) ||
        !isConstantFloat(sel.getTrueValue(), 0.0))
      return false;
    y = sel.getFalseValue();
  }
  auto div = y.getDefiningOp<arith::DivFOp>();
  return div && isArg(div.getLhs(), op, 0) && isArg(div.getRhs(), op, 1);
}

namespace {
/// The five ops around a max reduction that form a 3-pass softmax.
struct SoftmaxCascade {
  ReduceOp maxOp, sumOp;
  MapOp expOp, divOp;
  EinsumOp pvOp;
  RankList scoreRanks, rowRanks, valueRanks, outRanks;
  StringRef key;
  unsigned keyDim;
  Value scores, value;
};

/// Tiles the producers of the scores: every einsum or map of the same block
/// whose result carries the key rank is cloned into the loop body with k
/// replaced by the intra-tile rank; every other value carrying k (a leaf) is
/// split outside the loop and sliced inside.
class Tiler {
public:
  Tiler(RewriterBase &rewriter, Location loc, Block *block, int64_t tile,
        StringRef outer, StringRef inner)
      : rewriter(rewriter), loc(loc), block(block), tile(tile), outer(outer),
        inner(inner) {}

  /// Phase 1: the ops to clone, in an order where producers come first.
  void collect(Value v, unsigned dim) {
    if (!visited.insert({v, dim}).second)
      return;
    Operation *def = v.getDefiningOp();
    if (isChainOp(def, dim)) {
      StringRef local = localKey(def, dim);
      for (auto [i, operand] : llvm::enumerate(def->getOperands())) {
        RankList ranks = operandRanks(def, i);
        if (auto pos = findRank(ranks, local))
          collect(operand, *pos);
      }
      chain.push_back(def);
    } else {
      leaves.push_back({v, dim});
    }
  }

  /// Every rank name the chain uses (to pick fresh tile rank names).
  void namesInUse(llvm::StringSet<> &names) {
    for (Operation *op : chain) {
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        for (StringRef r : operandRanks(op, i))
          names.insert(r);
    }
  }

  /// Phase 2a (before the loop): splits the leaves.
  void splitLeaves() {
    for (auto [v, dim] : leaves) {
      auto type = cast<RankedTensorType>(v.getType());
      // The unsplit key: a name that is neither a tile rank nor a d<n>.
      StringRef whole = rewriter.getStringAttr(outer + inner).getValue();
      RankList in = genericRanks(type.getRank(), dim, {whole});
      RankList out = genericRanks(type.getRank(), dim, {outer, inner});
      SmallVector<int64_t> shape(type.getShape());
      int64_t extent = shape[dim];
      shape[dim] = ShapedType::isDynamic(extent) ? ShapedType::kDynamic
                                                 : static_cast<int64_t>(llvm::divideCeil(extent, tile));
      shape.insert(shape.begin() + dim + 1, tile);
      auto splitType = RankedTensorType::get(shape, type.getElementType());
      Value split = SplitOp::create(rewriter, loc, splitType, v, ranksAttr(in),
                                    ranksAttr(out), rewriter.getI64IntegerAttr(tile),
                                    rewriter.getF64FloatAttr(0.0));
      splits[{v, dim}] = split;
    }
  }

  /// Phase 2b (inside the loop at index `i`): the tile of `v`.
  Value tileOf(Value v, unsigned dim, Value i) {
    auto it = tiles.find({v, dim});
    if (it != tiles.end())
      return it->second;
    Value result;
    Operation *def = v.getDefiningOp();
    if (Value split = splits.lookup({v, dim})) {
      auto type = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape[dim] = tile;
      RankList ranks = genericRanks(type.getRank(), dim, {outer, inner});
      result = SliceOp::create(rewriter, loc,
                               RankedTensorType::get(shape, type.getElementType()),
                               split, ranksAttr(ranks),
                               rewriter.getStringAttr(outer), i);
    } else {
      StringRef local = localKey(def, dim);
      SmallVector<Value> operands;
      SmallVector<Attribute> lists;
      for (auto [n, operand] : llvm::enumerate(def->getOperands())) {
        RankList ranks = operandRanks(def, n);
        std::optional<unsigned> pos = findRank(ranks, local);
        operands.push_back(pos ? tileOf(operand, *pos, i) : operand);
        lists.push_back(ranksAttr(rename(ranks, local)));
      }
      auto type = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape[dim] = tile;
      auto tileType = RankedTensorType::get(shape, type.getElementType());
      ArrayAttr resultRanks = ranksAttr(rename(resultRanksOf(def), local));
      if (auto einsum = dyn_cast<EinsumOp>(def)) {
        result = EinsumOp::create(rewriter, loc, tileType, operands,
                                  rewriter.getArrayAttr(lists), resultRanks);
      } else {
        auto map = cast<MapOp>(def);
        auto tiled = MapOp::create(rewriter, loc, tileType, operands,
                                   rewriter.getArrayAttr(lists), resultRanks);
        IRMapping mapping;
        map.getBody().cloneInto(&tiled.getBody(), mapping);
        result = tiled.getResult();
      }
    }
    tiles[{v, dim}] = result;
    return result;
  }

  llvm::ArrayRef<Operation *> chainOps() const { return chain; }
  llvm::ArrayRef<std::pair<Value, unsigned>> leafValues() const { return leaves; }

  /// A source of the extent of dimension `dim` of `v`: a leaf and its dim.
  std::pair<Value, unsigned> extentSource(Value v, unsigned dim) {
    Operation *def = v.getDefiningOp();
    if (!def || !llvm::is_contained(chain, def))
      return {v, dim};
    StringRef name = resultRanksOf(def)[dim];
    for (auto [n, operand] : llvm::enumerate(def->getOperands()))
      if (auto pos = findRank(operandRanks(def, n), name))
        return extentSource(operand, *pos);
    return {v, dim};
  }

private:
  /// Producers that move into the loop: einsums and maps of the block.
  bool isChainOp(Operation *def, unsigned) {
    return def && def->getBlock() == block && isa<EinsumOp, MapOp>(def);
  }
  static RankList operandRanks(Operation *op, unsigned n) {
    if (auto e = dyn_cast<EinsumOp>(op))
      return ranksOf(cast<ArrayAttr>(e.getInputRanks()[n]));
    return ranksOf(cast<ArrayAttr>(cast<MapOp>(op).getInputRanks()[n]));
  }
  static RankList resultRanksOf(Operation *op) {
    if (auto e = dyn_cast<EinsumOp>(op))
      return ranksOf(e.getResultRanks());
    return ranksOf(cast<MapOp>(op).getResultRanks());
  }
  static StringRef localKey(Operation *op, unsigned dim) {
    return resultRanksOf(op)[dim];
  }
  RankList rename(RankList ranks, StringRef local) {
    for (StringRef &r : ranks)
      if (r == local)
        r = inner;
    return ranks;
  }
  /// d0, d1, ... with the key dimension replaced by `key`.
  RankList genericRanks(int64_t rank, unsigned dim, llvm::ArrayRef<StringRef> key) {
    RankList ranks;
    for (int64_t d = 0; d < rank; ++d) {
      if (d == dim)
        ranks.append(key.begin(), key.end());
      else
        ranks.push_back(rewriter.getStringAttr("d" + llvm::Twine(d)).getValue());
    }
    // The key names are fresh against the chain, but not against d0, d1...
    return ranks;
  }
  ArrayAttr ranksAttr(llvm::ArrayRef<StringRef> ranks) {
    SmallVector<Attribute> attrs;
    for (StringRef r : ranks)
      attrs.push_back(rewriter.getStringAttr(r));
    return rewriter.getArrayAttr(attrs);
  }

  RewriterBase &rewriter;
  Location loc;
  Block *block;
  int64_t tile;
  StringRef outer, inner;
  llvm::DenseSet<std::pair<Value, unsigned>> visited;
  SmallVector<Operation *> chain;
  SmallVector<std::pair<Value, unsigned>> leaves;
  llvm::DenseMap<std::pair<Value, unsigned>, Value> splits, tiles;
};
} // namespace

/// Matches the 3-pass softmax cascade around `maxOp`.
static std::optional<SoftmaxCascade> matchSoftmax(ReduceOp maxOp) {
  SoftmaxCascade c;
  c.maxOp = maxOp;
  if (maxOp.getKind() != ReduceKind::max)
    return std::nullopt;
  c.scoreRanks = ranksOf(maxOp.getInputRanks());
  c.rowRanks = ranksOf(maxOp.getResultRanks());
  if (c.scoreRanks.size() != c.rowRanks.size() + 1)
    return std::nullopt;
  // The rows are the scores without exactly one rank (the key), in order.
  unsigned keyDim = 0;
  while (keyDim < c.rowRanks.size() &&
         c.scoreRanks[keyDim] == c.rowRanks[keyDim])
    ++keyDim;
  for (unsigned d = keyDim; d < c.rowRanks.size(); ++d)
    if (c.scoreRanks[d + 1] != c.rowRanks[d])
      return std::nullopt;
  c.keyDim = keyDim;
  c.key = c.scoreRanks[keyDim];
  c.scores = maxOp.getInput();
  Value gm = maxOp.getResult();
  auto sameRanks = [](Attribute a, llvm::ArrayRef<StringRef> b) {
    return ranksOf(cast<ArrayAttr>(a)) == RankList(b.begin(), b.end());
  };
  // SN = exp(S − GM)
  if (!gm.hasOneUse())
    return std::nullopt;
  c.expOp = dyn_cast<MapOp>(*gm.getUsers().begin());
  if (!c.expOp || c.expOp.getInputs().size() != 2 ||
      c.expOp.getInputs()[0] != c.scores || c.expOp.getInputs()[1] != gm ||
      !sameRanks(c.expOp.getInputRanks()[0], c.scoreRanks) ||
      !sameRanks(c.expOp.getInputRanks()[1], c.rowRanks) ||
      !sameRanks(c.expOp.getResultRanks(), c.scoreRanks) ||
      !matchExpOfDifference(c.expOp))
    return std::nullopt;
  // SD = Σ_k SN and SNV = Σ_k SN · V, nothing else reads SN.
  Value sn = c.expOp.getResult();
  for (Operation *user : sn.getUsers()) {
    if (auto sum = dyn_cast<ReduceOp>(user); sum && !c.sumOp &&
        sum.getKind() == ReduceKind::sum &&
        sameRanks(sum.getInputRanks(), c.scoreRanks) &&
        sameRanks(sum.getResultRanks(), c.rowRanks)) {
      c.sumOp = sum;
      continue;
    }
    if (auto pv = dyn_cast<EinsumOp>(user);
        pv && !c.pvOp && pv.getInputs().size() == 2 &&
        pv.getInputs()[0] != pv.getInputs()[1]) {
      unsigned snIndex = pv.getInputs()[0] == sn ? 0 : 1;
      if (!sameRanks(pv.getInputRanks()[snIndex], c.scoreRanks))
        return std::nullopt;
      c.pvOp = pv;
      c.value = pv.getInputs()[1 - snIndex];
      c.valueRanks = ranksOf(cast<ArrayAttr>(pv.getInputRanks()[1 - snIndex]));
      c.outRanks = ranksOf(pv.getResultRanks());
      continue;
    }
    return std::nullopt;
  }
  if (!c.sumOp || !c.pvOp || !llvm::is_contained(c.valueRanks, c.key) ||
      llvm::is_contained(c.outRanks, c.key))
    return std::nullopt;
  // SNV's ranks are exactly (S's ∪ V's) without the key, rows included.
  RankList all = unionOfRanks({c.scoreRanks, c.valueRanks});
  if (all.size() != c.outRanks.size() + 1 ||
      !llvm::all_of(c.outRanks,
                    [&](StringRef r) { return llvm::is_contained(all, r); }) ||
      !llvm::all_of(c.rowRanks, [&](StringRef r) {
        return llvm::is_contained(c.outRanks, r);
      }))
    return std::nullopt;
  // AV = SNV / SD
  Value sd = c.sumOp.getResult(), snv = c.pvOp.getResult();
  if (!sd.hasOneUse() || !snv.hasOneUse() ||
      *sd.getUsers().begin() != *snv.getUsers().begin())
    return std::nullopt;
  c.divOp = dyn_cast<MapOp>(*sd.getUsers().begin());
  if (!c.divOp || c.divOp.getInputs().size() != 2 ||
      c.divOp.getInputs()[0] != snv || c.divOp.getInputs()[1] != sd ||
      !sameRanks(c.divOp.getInputRanks()[0], c.outRanks) ||
      !sameRanks(c.divOp.getInputRanks()[1], c.rowRanks) ||
      !sameRanks(c.divOp.getResultRanks(), c.outRanks) || !isDivision(c.divOp))
    return std::nullopt;
  Block *block = maxOp->getBlock();
  for (Operation *op : {c.expOp.getOperation(), c.sumOp.getOperation(),
                        c.pvOp.getOperation(), c.divOp.getOperation()})
    if (op->getBlock() != block)
      return std::nullopt;
  return c;
}

/// A clone of the exp map's body applied to (x, m), in `b`.
static Value applyBody(OpBuilder &b, MapOp body, ValueRange args) {
  IRMapping mapping;
  Block &block = body.getBody().front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    mapping.map(arg, value);
  for (Operation &op : block.without_terminator())
    b.clone(op, mapping);
  return mapping.lookupOrDefault(yielded(body));
}

LogicalResult mlir::attn::fuseSoftmaxCascade(RewriterBase &rewriter,
                                             ReduceOp maxOp, int64_t tile) {
  if (tile <= 0)
    return failure();
  std::optional<SoftmaxCascade> match = matchSoftmax(maxOp);
  if (!match)
    return failure();
  SoftmaxCascade &c = *match;
  Location loc = maxOp.getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(c.divOp);

  // Fresh names for the tile ranks.
  llvm::StringSet<> used;
  for (StringRef r : c.scoreRanks)
    used.insert(r);
  for (StringRef r : c.valueRanks)
    used.insert(r);
  for (StringRef r : c.outRanks)
    used.insert(r);
  std::string base = c.key.str();
  auto isFresh = [&](const std::string &s) {
    return !used.contains(s) && !(s.size() >= 2 && s[0] == 'd' &&
                                  llvm::all_of(s.substr(1), llvm::isDigit));
  };
  while (!isFresh(base + "1") || !isFresh(base + "0"))
    base += "_";
  StringRef outer = rewriter.getStringAttr(base + "1").getValue();
  StringRef inner = rewriter.getStringAttr(base + "0").getValue();

  Tiler tiler(rewriter, loc, maxOp->getBlock(), tile, outer, inner);
  tiler.collect(c.scores, c.keyDim);
  llvm::StringSet<> chainNames;
  tiler.namesInUse(chainNames);
  if (chainNames.contains(outer) || chainNames.contains(inner))
    return failure(); // rare: a producer already uses the tile names
  unsigned valueKeyDim = *findRank(c.valueRanks, c.key);
  tiler.collect(c.value, valueKeyDim);
  tiler.splitLeaves();

  // Extents for the initial state.
  auto extentOf = [&](Value v, unsigned dim) -> Value {
    auto [src, srcDim] = tiler.extentSource(v, dim);
    return tensor::DimOp::create(rewriter, loc, src, srcDim);
  };
  auto splat = [&](RankedTensorType type, double value,
                   llvm::ArrayRef<StringRef> ranks) -> Value {
    SmallVector<Value> dyn;
    for (auto [d, r] : llvm::enumerate(ranks)) {
      if (!type.isDynamicDim(d))
        continue;
      if (auto pos = findRank(c.scoreRanks, r))
        dyn.push_back(extentOf(c.scores, *pos));
      else
        dyn.push_back(extentOf(c.value, *findRank(c.valueRanks, r)));
    }
    Value x = arith::ConstantOp::create(
        rewriter, loc, rewriter.getFloatAttr(type.getElementType(), value));
    return tensor::SplatOp::create(rewriter, loc, type, x, dyn);
  };
  auto rowType = cast<RankedTensorType>(maxOp.getType());
  auto sumType = cast<RankedTensorType>(c.sumOp.getType());
  auto outType = cast<RankedTensorType>(c.pvOp.getType());
  Value rm0 = splat(rowType, kNegInf, c.rowRanks);
  Value rd0 = splat(sumType, 0.0, c.rowRanks);
  Value rnv0 = splat(outType, 0.0, c.outRanks);

  // M1 = ceil(M / tile), M read from a leaf that carries the key.
  Value count = arith::CeilDivSIOp::create(
      rewriter, loc, extentOf(c.value, valueKeyDim),
      arith::ConstantIndexOp::create(rewriter, loc, tile));

  // Keys past the end of the last tile: add −inf to their scores.
  int64_t keyExtent = cast<ShapedType>(c.value.getType()).getDimSize(valueKeyDim);
  Type scoreElement = cast<ShapedType>(c.scores.getType()).getElementType();
  Value padSplit;
  if (ShapedType::isDynamic(keyExtent) || keyExtent % tile != 0) {
    SmallVector<Value> dyn;
    if (ShapedType::isDynamic(keyExtent))
      dyn.push_back(extentOf(c.value, valueKeyDim));
    Value zero = arith::ConstantOp::create(
        rewriter, loc, rewriter.getFloatAttr(scoreElement, 0.0));
    Value zeros = tensor::SplatOp::create(
        rewriter, loc, RankedTensorType::get({keyExtent}, scoreElement), zero,
        dyn);
    auto splitType = RankedTensorType::get(
        {ShapedType::isDynamic(keyExtent) ? ShapedType::kDynamic
                                          : static_cast<int64_t>(llvm::divideCeil(keyExtent, tile)),
         tile},
        scoreElement);
    padSplit = SplitOp::create(
        rewriter, loc, splitType, zeros,
        rewriter.getStrArrayAttr({c.key}), rewriter.getStrArrayAttr({outer, inner}),
        rewriter.getI64IntegerAttr(tile), rewriter.getF64FloatAttr(kNegInf));
  }

  CascadeBuilder cb(rewriter, loc);
  auto iterate = IterateOp::create(
      rewriter, loc, TypeRange{rowType, sumType, outType},
      rewriter.getStringAttr(outer), count, ValueRange{rm0, rd0, rnv0});
  {
    OpBuilder::InsertionGuard bodyGuard(rewriter);
    Block *body = rewriter.createBlock(
        &iterate.getBody(), {},
        {rewriter.getIndexType(), rowType, sumType, outType},
        {loc, loc, loc, loc});
    rewriter.setInsertionPointToStart(body);
    Value i = body->getArgument(0), rm = body->getArgument(1),
          rd = body->getArgument(2), rnv = body->getArgument(3);
    RankList tileRanks = c.scoreRanks;
    tileRanks[c.keyDim] = inner;
    RankList tileValueRanks = c.valueRanks;
    tileValueRanks[valueKeyDim] = inner;
    Value st = tiler.tileOf(c.scores, c.keyDim, i);
    Value vt = tiler.tileOf(c.value, valueKeyDim, i);
    cb.bind(st, tileRanks);
    cb.bind(vt, tileValueRanks);
    cb.bind(rnv, c.outRanks);
    cb.bind(rm, c.rowRanks);
    if (padSplit) {
      Value pad = SliceOp::create(
          rewriter, loc, RankedTensorType::get({tile}, scoreElement), padSplit,
          rewriter.getStrArrayAttr({outer, inner}),
          rewriter.getStringAttr(outer), i);
      st = cb.map({{st, tileRanks}, {pad, {inner}}}, tileRanks, scoreElement,
                  [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                    return arith::AddFOp::create(b, loc, a[0], a[1]);
                  });
    }
    // LM = max_k0 S; RM' = max(RM, LM)
    Value lm = cb.reduce(ReduceKind::max, {st, tileRanks}, c.rowRanks);
    Value rmNext = cb.map({{rm, c.rowRanks}, {lm, c.rowRanks}}, c.rowRanks,
                          rowType.getElementType(),
                          [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                            return arith::MaximumFOp::create(b, loc, a[0], a[1]);
                          });
    // SLN = exp(S − RM'); PRM = exp(RM − RM'), the source's exp body.
    Type expElement = c.expOp.getType().getElementType();
    Value sln = cb.map({{st, tileRanks}, {rmNext, c.rowRanks}}, tileRanks,
                       expElement,
                       [&](OpBuilder &b, Location, ValueRange a) -> Value {
                         return applyBody(b, c.expOp, a);
                       });
    Value prm = cb.map({{rm, c.rowRanks}, {rmNext, c.rowRanks}}, c.rowRanks,
                       expElement,
                       [&](OpBuilder &b, Location, ValueRange a) -> Value {
                         return applyBody(b, c.expOp, a);
                       });
    auto rescaleAdd = [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
      Value t = arith::MulFOp::create(b, loc, a[0], a[1]);
      return arith::AddFOp::create(b, loc, t, a[2]);
    };
    // RD' = PRM · RD + Σ_k0 SLN
    Value sld = cb.reduce(ReduceKind::sum, {sln, tileRanks}, c.rowRanks);
    Value rdNext = cb.map({{prm, c.rowRanks}, {rd, c.rowRanks}, {sld, c.rowRanks}},
                          c.rowRanks, sumType.getElementType(), rescaleAdd);
    // RNV' = PRM · RNV + Σ_k0 SLN · V
    Value slnv = cb.einsum({{sln, tileRanks}, {vt, tileValueRanks}}, c.outRanks,
                           outType.getElementType());
    Value rnvNext = cb.map({{prm, c.rowRanks}, {rnv, c.outRanks}, {slnv, c.outRanks}},
                           c.outRanks, outType.getElementType(), rescaleAdd);
    auto cast = [&](Value v, Type t) {
      return v.getType() == t ? v : tensor::CastOp::create(rewriter, loc, t, v).getResult();
    };
    YieldOp::create(rewriter, loc,
                    ValueRange{cast(rmNext, rowType), cast(rdNext, sumType),
                               cast(rnvNext, outType)});
  }
  // AV = RNV / RD, the source's division.
  rewriter.modifyOpInPlace(c.divOp, [&] {
    c.divOp->setOperand(0, iterate.getResult(2));
    c.divOp->setOperand(1, iterate.getResult(1));
  });
  rewriter.eraseOp(c.pvOp);
  rewriter.eraseOp(c.sumOp);
  rewriter.eraseOp(c.expOp);
  rewriter.eraseOp(c.maxOp);
  for (Operation *op : llvm::reverse(tiler.chainOps()))
    if (op->use_empty())
      rewriter.eraseOp(op);
  return success();
}

namespace {
struct FuseSoftmax : OpRewritePattern<ReduceOp> {
  FuseSoftmax(MLIRContext *context, int64_t tile)
      : OpRewritePattern(context), tile(tile) {}
  LogicalResult matchAndRewrite(ReduceOp op,
                                PatternRewriter &rewriter) const override {
    return fuseSoftmaxCascade(rewriter, op, tile);
  }
  int64_t tile;
};

struct AttnFuseSoftmaxPass
    : mlir::attn::impl::AttnFuseSoftmaxPassBase<AttnFuseSoftmaxPass> {
  using Base::Base;
  void runOnOperation() override {
    if (tile <= 0) {
      getOperation()->emitError() << "tile must be positive, got " << tile;
      return signalPassFailure();
    }
    // A walk rather than a greedy driver: the rewrite creates max reductions
    // of its own (inside the loop), which must not be fused again.
    SmallVector<ReduceOp> maxOps;
    getOperation()->walk([&](ReduceOp op) {
      if (op.getKind() == ReduceKind::max && !op->getParentOfType<IterateOp>())
        maxOps.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (ReduceOp op : maxOps)
      (void)fuseSoftmaxCascade(rewriter, op, tile);
  }
};
} // namespace

void mlir::attn::populateAttnFuseSoftmaxPatterns(RewritePatternSet &patterns,
                                                 int64_t tile) {
  patterns.add<FuseSoftmax>(patterns.getContext(), tile);
}
