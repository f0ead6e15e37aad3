//===- NeighborhoodWindows.cpp - key ranges of neighborhood masks ---------===//

#include "attn/Conversion/NeighborhoodWindows.h"
#include "attn/Conversion/LoweringUtils.h"

#include "attn/Dialect/Attn/Analysis/TileClassification.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::attn;

/// Splits `v` at the `arith.andi` ops of `block` into its conjuncts.
void mlir::attn::collectConjuncts(Value v, Block &block,
                                  SmallVectorImpl<Value> &out) {
  if (auto andOp = v.getDefiningOp<arith::AndIOp>();
      andOp && andOp->getBlock() == &block) {
    collectConjuncts(andOp.getLhs(), block, out);
    collectConjuncts(andOp.getRhs(), block, out);
    return;
  }
  out.push_back(v);
}

/// Adds the numbers of the arguments of `block` that `v` is computed from.
static void collectArguments(Value v, Block &block,
                             SmallVectorImpl<unsigned> &args,
                             llvm::SmallPtrSetImpl<Operation *> &seen) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() == &block)
      args.push_back(arg.getArgNumber());
    return;
  }
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != &block || !seen.insert(def).second)
    return;
  for (Value operand : def->getOperands())
    collectArguments(operand, block, args, seen);
}

SmallVector<unsigned> mlir::attn::argumentsOf(Value v, Block &block) {
  SmallVector<unsigned> args;
  llvm::SmallPtrSet<Operation *, 16> seen;
  collectArguments(v, block, args, seen);
  return args;
}

SmallVector<NeighborhoodOp> mlir::attn::findAxisWindows(AttentionOp op) {
  unsigned numAxes = op.getNumTokenAxes();
  SmallVector<NeighborhoodOp> windows(numAxes, nullptr);
  if (!op.hasMask())
    return windows;
  Block &block = op.getMask().front();
  unsigned firstQuery = 2, firstKey = 2 + numAxes;
  SmallVector<Value> conjuncts;
  collectConjuncts(cast<YieldOp>(block.getTerminator()).getValues()[0], block,
                   conjuncts);
  for (Value conjunct : conjuncts) {
    auto window = conjunct.getDefiningOp<NeighborhoodOp>();
    if (!window)
      continue;
    auto query = dyn_cast<BlockArgument>(window.getQuery());
    auto key = dyn_cast<BlockArgument>(window.getKey());
    if (!query || !key || query.getOwner() != &block ||
        key.getOwner() != &block || query.getArgNumber() < firstQuery ||
        query.getArgNumber() >= firstKey ||
        key.getArgNumber() != query.getArgNumber() + numAxes)
      continue;
    // The window's parameters must be known before the key walk.
    bool fromOutside = llvm::all_of(
        ValueRange{window.getExtent(), window.getSize(), window.getDilation()},
        [&](Value v) {
          return llvm::all_of(argumentsOf(v, block),
                              [&](unsigned arg) { return arg < firstQuery; });
        });
    unsigned windowAxis = query.getArgNumber() - firstQuery;
    if (fromOutside && !windows[windowAxis])
      windows[windowAxis] = window;
  }
  return windows;
}

namespace {
/// A mask value as q·query + k·key + the sum of `scalars` (sign, value of
/// the mask computed from batch, head, outer values and constants only),
/// for one token axis' query and key positions.
struct LinearForm {
  int64_t q = 0, k = 0, constant = 0;
  SmallVector<std::pair<int64_t, Value>> scalars;
};
} // namespace

/// `v` as a LinearForm over block arguments `query` and `key` through
/// arith.addi / arith.subi; other values must not depend on the mask's
/// positions (they become scalars).
static std::optional<LinearForm> linearForm(Value v, Block &block,
                                            unsigned query, unsigned key,
                                            unsigned firstQuery) {
  if (auto arg = dyn_cast<BlockArgument>(v); arg && arg.getOwner() == &block) {
    LinearForm form;
    if (arg.getArgNumber() == query)
      form.q = 1;
    else if (arg.getArgNumber() == key)
      form.k = 1;
    else if (arg.getArgNumber() < firstQuery)
      form.scalars.push_back({1, v});
    else
      return std::nullopt;
    return form;
  }
  APInt value;
  if (matchPattern(v, m_ConstantInt(&value))) {
    LinearForm form;
    form.constant = value.getSExtValue();
    return form;
  }
  Operation *def = v.getDefiningOp();
  if (def && def->getBlock() == &block &&
      isa<arith::AddIOp, arith::SubIOp>(def)) {
    auto lhs = linearForm(def->getOperand(0), block, query, key, firstQuery);
    auto rhs = linearForm(def->getOperand(1), block, query, key, firstQuery);
    if (!lhs || !rhs)
      return std::nullopt;
    int64_t sign = isa<arith::SubIOp>(def) ? -1 : 1;
    lhs->q += sign * rhs->q;
    lhs->k += sign * rhs->k;
    lhs->constant += sign * rhs->constant;
    for (auto [s, value] : rhs->scalars)
      lhs->scalars.push_back({sign * s, value});
    return lhs;
  }
  if (llvm::any_of(argumentsOf(v, block),
                   [&](unsigned arg) { return arg >= firstQuery; }))
    return std::nullopt;
  LinearForm form;
  form.scalars.push_back({1, v});
  return form;
}

/// Splits `v` at arith.andi and at scf.if ops of `block` whose else branch
/// yields false (the spec's `a && b` around reads); of such an if only the
/// condition is kept, a necessary condition of the result.
static void collectNecessaryConditions(Value v, Block &block,
                                       SmallVectorImpl<Value> &out) {
  if (auto ifOp = v.getDefiningOp<scf::IfOp>();
      ifOp && ifOp->getBlock() == &block && ifOp.elseBlock() &&
      ifOp->getNumResults() == 1) {
    auto yield = cast<scf::YieldOp>(ifOp.elseBlock()->getTerminator());
    if (matchPattern(yield.getOperand(0), m_Zero())) {
      collectNecessaryConditions(ifOp.getCondition(), block, out);
      return;
    }
  }
  SmallVector<Value> conjuncts;
  collectConjuncts(v, block, conjuncts);
  if (conjuncts.size() == 1 && conjuncts.front() == v) {
    out.push_back(v);
    return;
  }
  for (Value c : conjuncts)
    collectNecessaryConditions(c, block, out);
}

BandBounds mlir::attn::findAxisBand(AttentionOp op, unsigned axis) {
  BandBounds band;
  if (!op.hasMask())
    return band;
  Block &block = op.getMask().front();
  unsigned numAxes = op.getNumTokenAxes();
  unsigned firstQuery = 2, query = 2 + axis, key = 2 + numAxes + axis;
  SmallVector<Value> conditions;
  collectNecessaryConditions(
      cast<YieldOp>(block.getTerminator()).getValues()[0], block, conditions);
  for (Value condition : conditions) {
    auto cmp = condition.getDefiningOp<arith::CmpIOp>();
    if (!cmp || cmp->getBlock() != &block)
      continue;
    auto lhs = linearForm(cmp.getLhs(), block, query, key, firstQuery);
    auto rhs = linearForm(cmp.getRhs(), block, query, key, firstQuery);
    if (!lhs || !rhs)
      continue;
    // lhs - rhs (pred) 0, as d = q·query + k·key + scalars <= bias.
    LinearForm d = *lhs;
    d.q -= rhs->q;
    d.k -= rhs->k;
    d.constant -= rhs->constant;
    for (auto [s, value] : rhs->scalars)
      d.scalars.push_back({-s, value});
    int64_t bias;
    switch (cmp.getPredicate()) {
    case arith::CmpIPredicate::sle:
      bias = 0;
      break;
    case arith::CmpIPredicate::slt:
      bias = -1;
      break;
    case arith::CmpIPredicate::sge:
    case arith::CmpIPredicate::sgt:
      d.q = -d.q;
      d.k = -d.k;
      d.constant = -d.constant;
      for (auto &scalar : d.scalars)
        scalar.first = -scalar.first;
      bias = cmp.getPredicate() == arith::CmpIPredicate::sge ? 0 : -1;
      break;
    default:
      continue;
    }
    // key - query + constant + scalars <= bias: key <= query + bias -
    // constant - scalars.
    if (d.k == 1 && d.q == -1 && !band.ahead) {
      BandBounds::Offset offset{bias - d.constant, {}};
      for (auto [s, value] : d.scalars)
        offset.scalars.push_back({-s, value});
      band.ahead = offset;
    }
    // query - key + constant + scalars <= bias: key >= query - (bias -
    // constant - scalars).
    if (d.q == 1 && d.k == -1 && !band.behind) {
      BandBounds::Offset offset{bias - d.constant, {}};
      for (auto [s, value] : d.scalars)
        offset.scalars.push_back({-s, value});
      band.behind = offset;
    }
  }
  return band;
}

/// The key positions [lo, hi] (i64) that NATTEN's rule along an axis of
/// extent n (window `size`, `dilation`) may pair with query positions in
/// [qlo, qhi], qlo >= 0. With d = max(dilation, 1), a query i of residue
/// r = i mod d and group g = i div d keeps the keys g' d + r for g' from
/// start = clamp(g - size div 2, 0, n_r - size) to start + size - 1, where
/// n_r = ceil((n - r) / d) lies in [n div d, ceil(n / d)]; start grows with g
/// and with n_r, so the box's smallest and largest g with the smallest and
/// largest n_r bound it (exact for d = 1). Causal: g' in [max(g - size + 1,
/// 0), g]. Parameters that make the rule keep nothing give some range.
std::pair<Value, Value>
mlir::attn::neighborhoodKeyBounds(ImplicitLocOpBuilder &b, Value qlo, Value qhi,
                                  Value n, Value size, Value dilation,
                                  bool causal) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, b.getI64Type(), v);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, x, y);
  };
  auto sub = [&](Value x, Value y) -> Value {
    return arith::SubIOp::create(b, x, y);
  };
  auto mul = [&](Value x, Value y) -> Value {
    return arith::MulIOp::create(b, x, y);
  };
  auto div = [&](Value x, Value y) -> Value {
    return arith::DivSIOp::create(b, x, y);
  };
  auto max = [&](Value x, Value y) -> Value {
    return arith::MaxSIOp::create(b, x, y);
  };
  auto min = [&](Value x, Value y) -> Value {
    return arith::MinSIOp::create(b, x, y);
  };
  Value one = c(1), zero = c(0);
  Value d = max(dilation, one);
  Value gLo = div(qlo, d), gHi = div(qhi, d);
  Value last = sub(d, one);
  if (causal)
    return {mul(max(add(sub(gLo, size), one), zero), d),
            add(mul(gHi, d), last)};
  Value half = div(size, c(2));
  Value shortest = div(max(n, zero), d);
  Value longest = div(add(max(n, zero), last), d);
  Value startLo = max(min(sub(gLo, half), sub(shortest, size)), zero);
  Value startHi = max(min(sub(gHi, half), sub(longest, size)), zero);
  return {mul(startLo, d), add(mul(add(startHi, sub(size, one)), d), last)};
}

/// The kernel value of mask value `v` computed from batch, head, values from
/// outside the mask (`outer`) and constants only; null when it depends on
/// anything else.
static Value materializeMaskScalar(ImplicitLocOpBuilder &b, AttentionOp op,
                                   Value v, Value batch, Value head,
                                   const IRMapping &outer) {
  Block &block = op.getMask().front();
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != &block || arg.getArgNumber() > 1)
      return {};
    return toI64(b, arg.getArgNumber() == 0 ? batch : head);
  }
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != &block) {
    if (Value value = outer.lookupOrNull(v))
      return value;
    if (auto constant = v.getDefiningOp<arith::ConstantOp>())
      return b.clone(*constant)->getResult(0);
    return {};
  }
  if (!isa<arith::ArithDialect>(def->getDialect()) || def->getNumRegions() ||
      def->getNumResults() != 1)
    return {};
  IRMapping operands;
  for (Value operand : def->getOperands()) {
    Value value = materializeMaskScalar(b, op, operand, batch, head, outer);
    if (!value)
      return {};
    operands.map(operand, value);
  }
  return b.clone(*def, operands)->getResult(0);
}

SmallVector<std::pair<Value, Value>> mlir::attn::windowKeyRanges(
    ImplicitLocOpBuilder &b, AttentionOp op, ArrayRef<NeighborhoodOp> windows,
    ArrayRef<Value> queryStart, ArrayRef<int64_t> tq,
    ArrayRef<Value> queryExtent, ArrayRef<Value> keyExtent, Value batch,
    Value head, const IRMapping &outer, ArrayRef<int64_t> dilations,
    ArrayRef<Value> residues, ArrayRef<int64_t> keyTile) {
  SmallVector<std::pair<Value, Value>> ranges;
  for (auto [axis, constWindow] : llvm::enumerate(windows)) {
    NeighborhoodOp window = constWindow;
    int64_t d = dilations.empty() ? 1 : dilations[axis];
    Value residue = d == 1 ? Value() : residues[axis];
    auto token = [&](Value p) { return classPosition(b, p, residue, d); };
    Value begin = idx(b, 0), end = keyExtent[axis];
    auto scalar = [&](Value v) {
      return materializeMaskScalar(b, op, v, batch, head, outer);
    };
    BandBounds band = window || d != 1 ? BandBounds() : findAxisBand(op, axis);
    if (band.ahead || band.behind) {
      auto c = [&](int64_t v) -> Value {
        return arith::ConstantIntOp::create(b, b.getI64Type(), v);
      };
      // The offset's value (i64), or null where a scalar cannot be
      // computed before the key walk. Clamped to +-2^40: beyond that the
      // bound passes every position either way, and adding the position
      // cannot overflow.
      auto offsetValue = [&](const std::optional<BandBounds::Offset> &o) {
        if (!o)
          return Value();
        Value sum = c(o->constant);
        for (auto [sign, v] : o->scalars) {
          Value x = scalar(v);
          if (!x)
            return Value();
          sum = sign > 0 ? Value(arith::AddIOp::create(b, sum, x))
                         : Value(arith::SubIOp::create(b, sum, x));
        }
        constexpr int64_t kFar = int64_t(1) << 40;
        return Value(arith::MinSIOp::create(
            b, arith::MaxSIOp::create(b, sum, c(-kFar)), c(kFar)));
      };
      Value extent = toI64(b, keyExtent[axis]);
      Value qlo = toI64(b, queryStart[axis]);
      Value qhi = toI64(
          b,
          arith::MinUIOp::create(
              b,
              arith::AddIOp::create(b, queryStart[axis], idx(b, tq[axis] - 1)),
              arith::SubIOp::create(b, queryExtent[axis], idx(b, 1))));
      auto clamp = [&](Value v) {
        return arith::MinSIOp::create(b, arith::MaxSIOp::create(b, v, c(0)),
                                      extent);
      };
      Value lo64 = c(0), hi64 = extent;
      if (Value behind = offsetValue(band.behind))
        lo64 = clamp(arith::SubIOp::create(b, qlo, behind));
      if (Value ahead = offsetValue(band.ahead))
        hi64 = clamp(arith::AddIOp::create(
            b, arith::AddIOp::create(b, qhi, ahead), c(1)));
      // Key tiles on the global grid: a band's diagonal then falls on tile
      // edges as it does without the bound.
      if (!keyTile.empty())
        lo64 = arith::MulIOp::create(
            b, arith::DivSIOp::create(b, lo64, c(keyTile[axis])),
            c(keyTile[axis]));
      hi64 = arith::MaxSIOp::create(b, hi64, lo64);
      begin = arith::IndexCastOp::create(b, b.getIndexType(), lo64);
      end = arith::IndexCastOp::create(b, b.getIndexType(), hi64);
    }
    if (window) {
      Value n = scalar(window.getExtent());
      Value size = scalar(window.getSize());
      Value dilation = scalar(window.getDilation());
      if (n && size && dilation) {
        Value last = arith::SubIOp::create(b, queryExtent[axis], idx(b, 1));
        Value qlo = token(queryStart[axis]);
        Value qhi = arith::MinUIOp::create(
            b,
            token(arith::AddIOp::create(b, queryStart[axis],
                                        idx(b, tq[axis] - 1))),
            last);
        auto [lo, hi] = neighborhoodKeyBounds(b, toI64(b, qlo), toI64(b, qhi),
                                              n, size, dilation,
                                              window.getCausal());
        Value zero = arith::ConstantIntOp::create(b, b.getI64Type(), 0);
        Value one = arith::ConstantIntOp::create(b, b.getI64Type(), 1);
        Value extent = toI64(b, keyExtent[axis]);
        Value lo64 = arith::MinSIOp::create(
            b, arith::MaxSIOp::create(b, lo, zero), extent);
        Value hi64 = arith::MaxSIOp::create(
            b,
            arith::MinSIOp::create(b, arith::AddIOp::create(b, hi, one),
                                   extent),
            lo64);
        begin = arith::IndexCastOp::create(b, b.getIndexType(), lo64);
        end = arith::IndexCastOp::create(b, b.getIndexType(), hi64);
      }
    }
    if (d > 1) {
      // The class positions p with begin <= r + d·p < end: from
      // ceil((begin - r) / d) to ceil((end - r) / d); begin, end >= 0 > r - d
      // keeps both numerators non-negative.
      auto classCeil = [&](Value x) -> Value {
        return arith::DivUIOp::create(
            b,
            arith::SubIOp::create(b, arith::AddIOp::create(b, x, idx(b, d - 1)),
                                  residue),
            idx(b, d));
      };
      begin = classCeil(begin);
      end = classCeil(end);
    }
    ranges.push_back({begin, end});
  }
  return ranges;
}

int64_t mlir::attn::constantWindowDilation(NeighborhoodOp window) {
  APInt dilation;
  if (!window || !matchPattern(window.getDilation(), m_ConstantInt(&dilation)))
    return 0;
  return std::max<int64_t>(dilation.getSExtValue(), 1);
}

int64_t mlir::attn::constantWindowSize(NeighborhoodOp window) {
  APInt size;
  if (!window || !matchPattern(window.getSize(), m_ConstantInt(&size)) ||
      size.getSExtValue() < 1)
    return 0;
  return size.getSExtValue();
}

SmallVector<int64_t> mlir::attn::residueClassDilations(AttentionOp op) {
  SmallVector<int64_t> dilations;
  bool any = false;
  for (NeighborhoodOp window : findAxisWindows(op)) {
    int64_t d = constantWindowDilation(window);
    dilations.push_back(std::max<int64_t>(d, 1));
    any |= d > 1;
  }
  if (!any || (op.hasMask() && maskReadsInputs(op.getMask())))
    return {};
  return dilations;
}

SmallVector<int64_t>
mlir::attn::effectiveTileDilations(AttentionOp op, ScheduleAttr schedule) {
  if (schedule && !schedule.getTileDilation().empty())
    return llvm::to_vector(schedule.getTileDilation());
  return residueClassDilations(op);
}

LogicalResult mlir::attn::checkTileDilations(AttentionOp op,
                                             ScheduleAttr schedule) {
  SmallVector<NeighborhoodOp> windows = findAxisWindows(op);
  for (unsigned axis = 0; axis < op.getNumTokenAxes(); ++axis) {
    int64_t d = schedule.getDilation(axis);
    if (d == 1)
      continue;
    int64_t maskDilation = constantWindowDilation(windows[axis]);
    if (maskDilation == 0 || maskDilation % d)
      return op.emitOpError("schedule tiles token axis ")
             << axis << " with dilation " << d
             << ", which needs a neighborhood mask on that axis whose "
                "dilation is a constant multiple of it";
    if (op.hasMask() && maskReadsInputs(op.getMask()))
      return op.emitOpError("tile dilation with a mask that reads input "
                            "tensors is not supported yet");
  }
  return success();
}

Value mlir::attn::classPosition(ImplicitLocOpBuilder &b, Value p,
                                Value residue, int64_t dilation,
                                arith::IntegerOverflowFlags flags) {
  if (dilation == 1)
    return p;
  return arith::AddIOp::create(
      b, residue, arith::MulIOp::create(b, p, idx(b, dilation), flags), flags);
}

void mlir::attn::queryTileOrigin(ImplicitLocOpBuilder &b, Value linear,
                                 ArrayRef<Value> extents,
                                 ArrayRef<int64_t> tile,
                                 ArrayRef<int64_t> dilations,
                                 SmallVectorImpl<Value> &starts,
                                 SmallVectorImpl<Value> &residues) {
  SmallVector<Value> counts;
  for (auto [axis, extent] : llvm::enumerate(extents)) {
    int64_t d = dilations[axis];
    Value perClass =
        ceilDiv(b, d == 1 ? extent : ceilDiv(b, extent, d), tile[axis]);
    counts.push_back(
        d == 1 ? perClass : arith::MulIOp::create(b, perClass, idx(b, d)));
  }
  for (auto [axis, coord] :
       llvm::enumerate(gridCoordinates(b, linear, counts))) {
    Value inClass = coord;
    residues.push_back(idx(b, 0));
    if (dilations[axis] > 1) {
      residues.back() =
          arith::RemUIOp::create(b, coord, idx(b, dilations[axis]));
      inClass = arith::DivUIOp::create(b, coord, idx(b, dilations[axis]));
    }
    starts.push_back(arith::MulIOp::create(b, inClass, idx(b, tile[axis])));
  }
}

Interval mlir::attn::dilatedTileInterval(ImplicitLocOpBuilder &b, Value start,
                                         int64_t tile, Value extent,
                                         Value residue, int64_t dilation) {
  if (dilation == 1)
    return tileInterval(b, start, tile, extent);
  Value first = classPosition(b, start, residue, dilation);
  Value last = classPosition(
      b, arith::AddIOp::create(b, start, idx(b, tile - 1)), residue, dilation);
  last = arith::MinUIOp::create(b, last,
                                arith::SubIOp::create(b, extent, idx(b, 1)));
  return {toI64(b, first), toI64(b, last)};
}
