//===- AttnOps.cpp - attn operations --------------------------------------===//
//
// Custom assembly of named-rank operands, verifiers of every cross-operand
// rule, folders and canonicalization patterns.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/IR/Ranks.h"
#include "attn/Support/Neighborhood.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// Rank-list assembly: `%x[p, m]`, `[p, m]`, `m1`
//===----------------------------------------------------------------------===//

/// Whether `name` prints as a bare keyword (otherwise it is quoted).
static bool isBareIdentifier(StringRef name) {
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_'))
    return false;
  return llvm::all_of(name, [](char c) {
    return llvm::isAlnum(c) || c == '_' || c == '$' || c == '.';
  });
}

static ParseResult parseRankName(OpAsmParser &parser, StringAttr &rank) {
  std::string name;
  if (parser.parseKeywordOrString(&name))
    return failure();
  rank = parser.getBuilder().getStringAttr(name);
  return success();
}

static void printRankName(OpAsmPrinter &printer, Operation *, StringAttr rank) {
  if (isBareIdentifier(rank.getValue()))
    printer << rank.getValue();
  else
    printer.printString(rank.getValue());
}

static ParseResult parseRankList(OpAsmParser &parser, ArrayAttr &ranks) {
  SmallVector<Attribute> names;
  if (parser.parseCommaSeparatedList(
          OpAsmParser::Delimiter::Square, [&]() -> ParseResult {
            StringAttr name;
            if (parseRankName(parser, name))
              return failure();
            names.push_back(name);
            return success();
          }))
    return failure();
  ranks = parser.getBuilder().getArrayAttr(names);
  return success();
}

static void printRankList(OpAsmPrinter &printer, Operation *op,
                          ArrayAttr ranks) {
  printer << '[';
  llvm::interleaveComma(ranks, printer, [&](Attribute name) {
    printRankName(printer, op, cast<StringAttr>(name));
  });
  printer << ']';
}

static ParseResult parseRankedOperand(OpAsmParser &parser,
                                      OpAsmParser::UnresolvedOperand &operand,
                                      ArrayAttr &ranks) {
  if (parser.parseOperand(operand))
    return failure();
  return parseRankList(parser, ranks);
}

static void printRankedOperand(OpAsmPrinter &printer, Operation *op,
                               Value operand, ArrayAttr ranks) {
  printer << operand;
  printRankList(printer, op, ranks);
}

static ParseResult
parseRankedOperands(OpAsmParser &parser,
                    SmallVectorImpl<OpAsmParser::UnresolvedOperand> &operands,
                    ArrayAttr &rankLists) {
  SmallVector<Attribute> lists;
  if (parser.parseCommaSeparatedList([&]() -> ParseResult {
        ArrayAttr ranks;
        if (parseRankedOperand(parser, operands.emplace_back(), ranks))
          return failure();
        lists.push_back(ranks);
        return success();
      }))
    return failure();
  rankLists = parser.getBuilder().getArrayAttr(lists);
  return success();
}

static void printRankedOperands(OpAsmPrinter &printer, Operation *op,
                                OperandRange operands, ArrayAttr rankLists) {
  llvm::interleaveComma(llvm::zip(operands, rankLists), printer, [&](auto it) {
    printRankedOperand(printer, op, std::get<0>(it),
                       cast<ArrayAttr>(std::get<1>(it)));
  });
}

//===----------------------------------------------------------------------===//
// Shared verification helpers
//===----------------------------------------------------------------------===//

static RankList toRankList(ArrayAttr ranks) {
  RankList list;
  for (Attribute name : ranks)
    list.push_back(cast<StringAttr>(name).getValue());
  return list;
}

static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static std::string formatDim(int64_t dim) {
  return ShapedType::isDynamic(dim) ? "?" : std::to_string(dim);
}

/// Checks that `ranks` names each dimension of `type` once, and binds the
/// static extents into `extents`. `what` names the value in diagnostics.
static LogicalResult bindRanks(Operation *op, StringRef what,
                               ArrayRef<StringRef> ranks, ShapedType type,
                               RankExtents &extents) {
  if (static_cast<int64_t>(ranks.size()) != type.getRank())
    return op->emitOpError() << what << " has rank " << type.getRank()
                             << " but " << ranks.size() << " rank names";
  if (std::optional<StringRef> dup = findDuplicateRank(ranks))
    return op->emitOpError() << what << " names rank '" << *dup << "' twice";
  for (auto [name, extent] : llvm::zip_equal(ranks, type.getShape()))
    if (!extents.bind(name, extent))
      return op->emitOpError()
             << "rank '" << name << "' has extent " << *extents.lookup(name)
             << " elsewhere but " << extent << " in " << what;
  return success();
}

/// Binds the ranks of every operand of a cascade op.
static LogicalResult bindOperandRanks(Operation *op, ValueRange operands,
                                      ArrayAttr rankLists,
                                      SmallVectorImpl<RankList> &lists,
                                      RankExtents &extents) {
  if (rankLists.size() != operands.size())
    return op->emitOpError() << "has " << operands.size() << " operands but "
                             << rankLists.size() << " rank lists";
  for (auto [index, operand, ranks] :
       llvm::enumerate(operands, rankLists.getAsRange<ArrayAttr>())) {
    lists.push_back(toRankList(ranks));
    if (failed(bindRanks(op, "operand #" + std::to_string(index), lists.back(),
                         cast<ShapedType>(operand.getType()), extents)))
      return failure();
  }
  return success();
}

/// Checks that a region holds one block with the given argument types, ending
/// in an `attn.yield` of values of `yieldTypes`.
static LogicalResult verifyRegionSignature(Operation *op, Region &region,
                                           StringRef name,
                                           TypeRange argTypes,
                                           TypeRange yieldTypes) {
  Block &block = region.front();
  if (block.getNumArguments() != argTypes.size())
    return op->emitOpError() << name << " region takes " << argTypes.size()
                             << " arguments, got " << block.getNumArguments();
  for (auto [index, arg, expected] :
       llvm::enumerate(block.getArguments(), argTypes))
    if (arg.getType() != expected)
      return op->emitOpError() << name << " region argument #" << index
                               << " must be " << expected << ", got "
                               << arg.getType();
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op->emitOpError() << name << " region must end in attn.yield";
  if (yield.getValues().getTypes() != yieldTypes) {
    InFlightDiagnostic diag = op->emitOpError()
                              << name << " region must yield (";
    llvm::interleaveComma(yieldTypes, diag);
    diag << "), got (";
    llvm::interleaveComma(yield.getValues().getTypes(), diag);
    return diag << ")";
  }
  return success();
}

/// Erases the single block of `region`, leaving it empty.
static void clearRegion(PatternRewriter &rewriter, Region &region) {
  rewriter.eraseBlock(&region.front());
}

/// The value yielded by the single block of a non-empty region.
static Value yieldedValue(Region &region) {
  auto yield = cast<YieldOp>(region.front().getTerminator());
  return yield.getValues().size() == 1 ? yield.getValues()[0] : Value();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  auto qType = getQuery().getType(), kType = getKey().getType(),
       vType = getValue().getType();
  int64_t rank = qType.getRank();
  if (rank < 4)
    return emitOpError() << "query must be [batch, heads, tokens..., head "
                            "dim] (rank >= 4), got rank "
                         << rank;
  if (kType.getRank() != rank || vType.getRank() != rank)
    return emitOpError() << "query, key and value must have the same rank, got "
                         << rank << ", " << kType.getRank() << " and "
                         << vType.getRank();
  if (qType.getElementType() != kType.getElementType() ||
      qType.getElementType() != vType.getElementType())
    return emitOpError("query, key and value must share an element type");

  ArrayRef<int64_t> q = qType.getShape(), k = kType.getShape(),
                    v = vType.getShape();
  if (!dimsCompatible(q[0], k[0]) || !dimsCompatible(q[0], v[0]))
    return emitOpError() << "batch sizes disagree: query " << formatDim(q[0])
                         << ", key " << formatDim(k[0]) << ", value "
                         << formatDim(v[0]);
  if (ShapedType::isDynamic(q.back()) || ShapedType::isDynamic(k.back()) ||
      ShapedType::isDynamic(v.back()))
    return emitOpError("head dims must be static");
  if (q.back() != k.back())
    return emitOpError() << "key head dim " << k.back()
                         << " differs from query head dim " << q.back();
  if (!dimsCompatible(k[1], v[1]))
    return emitOpError() << "key and value disagree in heads: "
                         << formatDim(k[1]) << " vs " << formatDim(v[1]);
  for (int64_t axis = 2; axis < rank - 1; ++axis)
    if (!dimsCompatible(k[axis], v[axis]))
      return emitOpError() << "key and value disagree in token axis "
                           << axis - 2 << ": " << formatDim(k[axis]) << " vs "
                           << formatDim(v[axis]);
  int64_t qHeads = q[1], kvHeads = ShapedType::isDynamic(k[1]) ? v[1] : k[1];
  if (!ShapedType::isDynamic(qHeads) && !ShapedType::isDynamic(kvHeads) &&
      (kvHeads == 0 || qHeads % kvHeads != 0))
    return emitOpError() << "key/value heads (" << kvHeads
                         << ") must divide query heads (" << qHeads << ")";

  // out: [B, H, query tokens..., Dv]
  auto outType = getOutput().getType();
  if (outType.getRank() != rank)
    return emitOpError() << "output must have rank " << rank << ", got "
                         << outType.getRank();
  ArrayRef<int64_t> out = outType.getShape();
  for (int64_t axis = 0; axis < rank - 1; ++axis)
    if (!dimsCompatible(out[axis], q[axis]))
      return emitOpError() << "output dim " << axis << " ("
                           << formatDim(out[axis]) << ") differs from query's ("
                           << formatDim(q[axis]) << ")";
  if (!dimsCompatible(out.back(), v.back()))
    return emitOpError() << "output head dim " << formatDim(out.back())
                         << " differs from value head dim " << v.back();

  if (Value lse = getLse()) {
    auto lseType = cast<RankedTensorType>(lse.getType());
    if (lseType.getRank() != rank - 1 ||
        !llvm::all_of(llvm::seq<int64_t>(0, rank - 1), [&](int64_t axis) {
          return dimsCompatible(lseType.getDimSize(axis), q[axis]);
        }))
      return emitOpError("lse must be shaped [batch, heads, query tokens...]");
  }

  if (ScheduleAttr schedule = getScheduleAttr())
    if (schedule.getNumTokenAxes() != getNumTokenAxes())
      return emitOpError() << "schedule tiles " << schedule.getNumTokenAxes()
                           << " token axes but the op has "
                           << getNumTokenAxes();
  return success();
}

LogicalResult AttentionOp::verifyRegions() {
  Builder b(getContext());
  Type i64 = b.getI64Type(), f32 = b.getF32Type();
  SmallVector<Type> coords(2 + 2 * getNumTokenAxes(), i64);
  SmallVector<Type> maskArgs(coords);
  llvm::append_range(maskArgs, getInputs().getTypes());
  if (hasMask() && failed(verifyRegionSignature(*this, getMask(), "mask",
                                                maskArgs, {b.getI1Type()})))
    return failure();
  SmallVector<Type> scoreArgs{f32};
  llvm::append_range(scoreArgs, maskArgs);
  if (hasScore() &&
      failed(verifyRegionSignature(*this, getScore(), "score", scoreArgs, {f32})))
    return failure();
  return success();
}

namespace {
/// A mask that keeps every pair is no mask; a score rule that returns the
/// score is no rule. Removing them lets later passes see dense attention.
struct DropTrivialAttentionRegions : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    bool trivialMask = op.hasMask() && matchPattern(yieldedValue(op.getMask()),
                                                    m_One());
    bool trivialScore =
        op.hasScore() &&
        yieldedValue(op.getScore()) == op.getScore().front().getArgument(0);
    if (!trivialMask && !trivialScore)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      if (trivialMask)
        clearRegion(rewriter, op.getMask());
      if (trivialScore)
        clearRegion(rewriter, op.getScore());
    });
    return success();
  }
};
} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *context) {
  patterns.add<DropTrivialAttentionRegions>(context);
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LinearAttentionOp::verify() {
  auto qType = getQuery().getType(), kType = getKey().getType(),
       vType = getValue().getType();
  if (qType.getRank() != 4 || kType.getRank() != 4 || vType.getRank() != 4)
    return emitOpError("query, key and value must be [batch, heads, tokens, "
                       "head dim]");
  ArrayRef<int64_t> q = qType.getShape(), k = kType.getShape(),
                    v = vType.getShape();
  for (int64_t axis = 0; axis < 3; ++axis)
    if (!dimsCompatible(q[axis], k[axis]) || !dimsCompatible(k[axis], v[axis]))
      return emitOpError() << "query, key and value disagree in dim " << axis;
  if (ShapedType::isDynamic(q[3]) || ShapedType::isDynamic(k[3]) ||
      ShapedType::isDynamic(v[3]))
    return emitOpError("head dims must be static");
  if (q[3] != k[3])
    return emitOpError() << "key head dim " << k[3]
                         << " differs from query head dim " << q[3];
  if (!getCausal() && (getGate() || !getDecay().empty()))
    return emitOpError("decay and gate need causal");
  if (getGate() && !getDecay().empty())
    return emitOpError("takes a decay or a gate, not both");
  if (Value gate = getGate()) {
    auto gateType = cast<RankedTensorType>(gate.getType());
    if (gateType.getRank() != 4 ||
        !llvm::all_of(llvm::seq<int64_t>(0, 4), [&](int64_t axis) {
          return dimsCompatible(gateType.getDimSize(axis), k[axis]);
        }))
      return emitOpError("gate must be shaped like key [batch, heads, tokens, "
                         "head dim]");
  }
  if (getFeatureMap() == FeatureMap::taylor2 && !getFeature().empty())
    return emitOpError("feature_map taylor2 takes no feature region");
  auto outType = getOutput().getType();
  if (outType.getRank() != 4 ||
      !llvm::all_of(llvm::seq<int64_t>(0, 3),
                    [&](int64_t axis) {
                      return dimsCompatible(outType.getDimSize(axis), q[axis]);
                    }) ||
      !dimsCompatible(outType.getDimSize(3), v[3]))
    return emitOpError("output must be shaped [batch, heads, tokens, value "
                       "head dim]");
  return success();
}

LogicalResult LinearAttentionOp::verifyRegions() {
  Builder b(getContext());
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  if (!getFeature().empty() &&
      failed(verifyRegionSignature(*this, getFeature(), "feature", {f32}, {f32})))
    return failure();
  SmallVector<Type> decayArgs{i64, i64, i64};
  llvm::append_range(decayArgs, getInputs().getTypes());
  if (!getDecay().empty() &&
      failed(verifyRegionSignature(*this, getDecay(), "decay", decayArgs, {f32})))
    return failure();
  return success();
}

namespace {
/// An identity feature map and a decay of 1 change nothing: drop them.
struct DropTrivialLinearRegions : OpRewritePattern<LinearAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearAttentionOp op,
                                PatternRewriter &rewriter) const override {
    bool identityFeature =
        !op.getFeature().empty() &&
        yieldedValue(op.getFeature()) == op.getFeature().front().getArgument(0);
    bool unitDecay = !op.getDecay().empty() &&
                     matchPattern(yieldedValue(op.getDecay()), m_OneFloat());
    if (!identityFeature && !unitDecay)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      if (identityFeature)
        clearRegion(rewriter, op.getFeature());
      if (unitDecay)
        clearRegion(rewriter, op.getDecay());
    });
    return success();
  }
};
} // namespace

void LinearAttentionOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                                    MLIRContext *context) {
  patterns.add<DropTrivialLinearRegions>(context);
}

//===----------------------------------------------------------------------===//
// AssumeRangeOp
//===----------------------------------------------------------------------===//

LogicalResult AssumeRangeOp::verify() {
  // I64Attr's getters return the bits unsigned; the interval is signed.
  int64_t lower = getLowerAttr().getInt(), upper = getUpperAttr().getInt();
  if (lower > upper)
    return emitOpError("has an empty interval [")
           << lower << ", " << upper << "]";
  Type type = getType();
  unsigned width = type.isIndex() ? IndexType::kInternalStorageBitWidth
                                  : type.getIntOrFloatBitWidth();
  if (width < 64 && (lower < -(int64_t(1) << (width - 1)) ||
                     upper >= (int64_t(1) << (width - 1))))
    return emitOpError("interval does not fit its ") << width << "-bit type";
  return success();
}

void AssumeRangeOp::inferResultRanges(ArrayRef<ConstantIntRanges> argRanges,
                                      SetIntRangeFn setResultRange) {
  unsigned width = argRanges[0].smin().getBitWidth();
  ConstantIntRanges assumed = ConstantIntRanges::fromSigned(
      APInt(width, getLowerAttr().getInt(), /*isSigned=*/true),
      APInt(width, getUpperAttr().getInt(), /*isSigned=*/true));
  setResultRange(getResult(), argRanges[0].intersection(assumed));
}

//===----------------------------------------------------------------------===//
// NeighborhoodOp
//===----------------------------------------------------------------------===//

OpFoldResult NeighborhoodOp::fold(FoldAdaptor adaptor) {
  auto query = dyn_cast_if_present<IntegerAttr>(adaptor.getQuery());
  auto key = dyn_cast_if_present<IntegerAttr>(adaptor.getKey());
  auto extent = dyn_cast_if_present<IntegerAttr>(adaptor.getExtent());
  auto size = dyn_cast_if_present<IntegerAttr>(adaptor.getSize());
  auto dilation = dyn_cast_if_present<IntegerAttr>(adaptor.getDilation());
  if (!query || !key || !extent || !size || !dilation)
    return {};
  bool inside = neighborhoodContains(query.getInt(), key.getInt(),
                                     extent.getInt(), size.getInt(),
                                     dilation.getInt(), getCausal());
  return BoolAttr::get(getContext(), inside);
}

//===----------------------------------------------------------------------===//
// EinsumOp
//===----------------------------------------------------------------------===//

LogicalResult EinsumOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one operand");
  SmallVector<RankList> lists;
  RankExtents extents;
  if (failed(bindOperandRanks(*this, getInputs(), getInputRanks(), lists,
                              extents)))
    return failure();
  RankList result = toRankList(getResultRanks());
  if (failed(bindRanks(*this, "result", result, getType(), extents)))
    return failure();
  RankList all = unionOfRanks(lists);
  for (StringRef rank : result)
    if (!llvm::is_contained(all, rank))
      return emitOpError() << "result rank '" << rank
                           << "' appears in no operand";
  return success();
}

OpFoldResult EinsumOp::fold(FoldAdaptor) {
  // A single operand with nothing summed and nothing permuted is a copy.
  if (getInputs().size() == 1 && getInputRanks()[0] == getResultRanks() &&
      getInputs()[0].getType() == getType())
    return getInputs()[0];
  return {};
}

//===----------------------------------------------------------------------===//
// MapOp
//===----------------------------------------------------------------------===//

LogicalResult MapOp::verify() {
  SmallVector<RankList> lists;
  RankExtents extents;
  if (failed(bindOperandRanks(*this, getInputs(), getInputRanks(), lists,
                              extents)))
    return failure();
  RankList result = toRankList(getResultRanks());
  if (failed(bindRanks(*this, "result", result, getType(), extents)))
    return failure();
  RankList all = unionOfRanks(lists);
  if (all.size() != result.size() ||
      !llvm::all_of(all, [&](StringRef r) { return llvm::is_contained(result, r); }))
    return emitOpError("result ranks must be exactly the operands' ranks (a "
                       "map neither reduces nor broadcasts into new ranks)");
  return success();
}

LogicalResult MapOp::verifyRegions() {
  SmallVector<Type> elementTypes;
  for (Value input : getInputs())
    elementTypes.push_back(cast<ShapedType>(input.getType()).getElementType());
  return verifyRegionSignature(*this, getBody(), "body", elementTypes,
                               {getType().getElementType()});
}

OpFoldResult MapOp::fold(FoldAdaptor) {
  // A body that returns one of its operands unchanged is that operand.
  auto arg = dyn_cast_or_null<BlockArgument>(yieldedValue(getBody()));
  if (!arg || arg.getOwner() != &getBody().front())
    return {};
  unsigned index = arg.getArgNumber();
  if (getInputRanks()[index] == getResultRanks() &&
      getInputs()[index].getType() == getType())
    return getInputs()[index];
  return {};
}

//===----------------------------------------------------------------------===//
// ReduceOp
//===----------------------------------------------------------------------===//

LogicalResult ReduceOp::verify() {
  RankExtents extents;
  RankList input = toRankList(getInputRanks());
  RankList result = toRankList(getResultRanks());
  if (failed(bindRanks(*this, "operand", input, getInput().getType(), extents)) ||
      failed(bindRanks(*this, "result", result, getType(), extents)))
    return failure();
  for (StringRef rank : result)
    if (!llvm::is_contained(input, rank))
      return emitOpError() << "result rank '" << rank
                           << "' is not a rank of the operand";
  if (getInput().getType().getElementType() != getType().getElementType())
    return emitOpError("operand and result must share an element type");
  return success();
}

OpFoldResult ReduceOp::fold(FoldAdaptor) {
  if (getInputRanks() == getResultRanks() && getInput().getType() == getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// SplitOp
//===----------------------------------------------------------------------===//

unsigned SplitOp::getSplitDim() {
  return *findSplitDim(toRankList(getInputRanks()), toRankList(getResultRanks()));
}

LogicalResult SplitOp::verify() {
  RankList input = toRankList(getInputRanks());
  RankList result = toRankList(getResultRanks());
  RankExtents unused;
  if (failed(bindRanks(*this, "operand", input, getInput().getType(), unused)))
    return failure();
  RankExtents resultExtents;
  if (failed(bindRanks(*this, "result", result, getType(), resultExtents)))
    return failure();
  std::optional<unsigned> dim = findSplitDim(input, result);
  if (!dim)
    return emitOpError("result ranks must be the operand's with one rank "
                       "replaced by two new adjacent ranks");
  int64_t tile = getTile();
  if (tile <= 0)
    return emitOpError() << "tile must be positive, got " << tile;
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> out = getType().getShape();
  for (unsigned axis = 0; axis < in.size(); ++axis) {
    if (axis == *dim)
      continue;
    unsigned outAxis = axis < *dim ? axis : axis + 1;
    if (!dimsCompatible(in[axis], out[outAxis]))
      return emitOpError() << "rank '" << input[axis]
                           << "' changes extent across the split";
  }
  if (!dimsCompatible(out[*dim + 1], tile))
    return emitOpError() << "inner rank must have the tile extent " << tile;
  if (getInput().getType().getElementType() != getType().getElementType())
    return emitOpError("operand and result must share an element type");
  if (std::optional<APFloat> pad = getPad();
      pad && getType().getElementType().isInteger() && !pad->isInteger())
    return emitOpError("pad of an integer tensor must be integral");
  int64_t extent = in[*dim];
  if (!ShapedType::isDynamic(extent)) {
    if (!getPad() && extent % tile != 0)
      return emitOpError() << "extent " << extent
                           << " is not a multiple of tile " << tile
                           << " and no pad value is given";
    if (!dimsCompatible(out[*dim], llvm::divideCeil(extent, tile)))
      return emitOpError() << "outer rank must have extent "
                           << llvm::divideCeil(extent, tile);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

unsigned SliceOp::getSliceDim() {
  return *findRank(toRankList(getInputRanks()), getRank());
}

LogicalResult SliceOp::verify() {
  RankList input = toRankList(getInputRanks());
  RankExtents unused;
  if (failed(bindRanks(*this, "operand", input, getInput().getType(), unused)))
    return failure();
  std::optional<unsigned> dim = findRank(input, getRank());
  if (!dim)
    return emitOpError() << "rank '" << getRank()
                         << "' is not a rank of the operand";
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> out = getType().getShape();
  if (out.size() + 1 != in.size())
    return emitOpError() << "result must have rank " << in.size() - 1;
  for (unsigned axis = 0; axis < out.size(); ++axis)
    if (!dimsCompatible(out[axis], in[axis < *dim ? axis : axis + 1]))
      return emitOpError() << "result dim " << axis
                           << " differs from the operand's";
  return success();
}

//===----------------------------------------------------------------------===//
// IotaOp
//===----------------------------------------------------------------------===//

LogicalResult IotaOp::verify() {
  int64_t dim = getType().getDimSize(0);
  APInt extent;
  if (!ShapedType::isDynamic(dim) &&
      matchPattern(getExtent(), m_ConstantInt(&extent)) &&
      extent.getSExtValue() != dim)
    return emitOpError() << "extent " << extent.getSExtValue()
                         << " disagrees with the result's " << dim;
  return success();
}

//===----------------------------------------------------------------------===//
// IterateOp
//===----------------------------------------------------------------------===//

LogicalResult IterateOp::verify() {
  if (getInits().getTypes() != getResults().getTypes())
    return emitOpError("results must have the types of the initial state");
  return success();
}

LogicalResult IterateOp::verifyRegions() {
  SmallVector<Type> args{IndexType::get(getContext())};
  llvm::append_range(args, getInits().getTypes());
  return verifyRegionSignature(*this, getBody(), "body", args,
                               getInits().getTypes());
}

//===----------------------------------------------------------------------===//
// TableGen'd definitions
//===----------------------------------------------------------------------===//

#define GET_OP_CLASSES
#include "attn/Dialect/Attn/IR/AttnOps.cpp.inc"
