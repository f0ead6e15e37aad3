//===- TileClassification.cpp - per-tile mask analysis --------------------===//
//
// Emits the interval interpretation of a mask region (see the header). Every
// rule here must be sound: "may be true" and "may be false" may only err
// towards true, or a tile would be skipped or run unmasked wrongly. An
// interval whose run-time `top` flag is set bounds nothing: every rule that
// builds an interval from others joins their flags, and every rule that
// turns intervals into a MaybeBool ORs the flag into both answers.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Analysis/TileClassification.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

bool mlir::attn::maskReadsInputs(Region &mask) {
  bool reads = false;
  mask.walk([&](tensor::ExtractOp) { reads = true; });
  return reads;
}

namespace {

/// Emits interval arithmetic for the ops of one mask region.
class IntervalEmitter {
public:
  IntervalEmitter(OpBuilder &builder, Location loc, const IRMapping &mapping,
                  InputRangeFn inputRanges)
      : b(builder), loc(loc), mapping(mapping), inputRanges(inputRanges) {}

  void bindInterval(Value v, Interval interval) { ints[v] = interval; }

  /// Interprets the ops of `block` in order and returns the abstract value
  /// of each value its `attn.yield`/`scf.yield` terminator yields.
  SmallVector<std::pair<std::optional<Interval>, MaybeBool>>
  interpretBlock(Block &block) {
    for (Operation &op : block.without_terminator())
      visit(&op);
    SmallVector<std::pair<std::optional<Interval>, MaybeBool>> results;
    for (Value v : block.getTerminator()->getOperands())
      results.push_back({getInt(v), getBool(v)});
    return results;
  }

  MaybeBool getBool(Value v) {
    if (auto it = bools.find(v); it != bools.end())
      return it->second;
    if (v.getType().isInteger(1)) {
      // A captured i1 is exact; anything else is unknown.
      if (Value captured = capturedValue(v))
        return {captured, not_(captured)};
    }
    return {constBool(true), constBool(true)};
  }

  std::optional<Interval> getInt(Value v) {
    if (auto it = ints.find(v); it != ints.end())
      return it->second;
    if (Value captured = capturedValue(v)) {
      if (!captured.getType().isIntOrIndex() || captured.getType().isInteger(1))
        return std::nullopt;
      Value asI64 = toI64(captured);
      return Interval{asI64, asI64};
    }
    return std::nullopt;
  }

private:
  Value constI64(int64_t c) {
    return arith::ConstantIntOp::create(b, loc, b.getI64Type(), c);
  }
  Value constBool(bool c) { return arith::ConstantIntOp::create(b, loc, c, 1); }
  Value not_(Value x) {
    return arith::XOrIOp::create(b, loc, x, constBool(true));
  }
  Value and_(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value or_(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value min_(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value max_(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  /// The OR of two run-time top flags, either of which may be null (never).
  Value joinTop(Value x, Value y) {
    if (!x)
      return y;
    if (!y)
      return x;
    return or_(x, y);
  }
  /// `answer` where the operands it came from may be unknown: both "maybe".
  MaybeBool widen(MaybeBool answer, Value top) {
    if (!top)
      return answer;
    return {or_(answer.mayBeTrue, top), or_(answer.mayBeFalse, top)};
  }
  Value toI64(Value v) {
    if (v.getType().isIndex())
      return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
    if (v.getType().getIntOrFloatBitWidth() < 64)
      return arith::ExtSIOp::create(b, loc, b.getI64Type(), v);
    return v;
  }

  /// The value at the insertion point of a value captured from above, or of
  /// a constant; null for anything else.
  Value capturedValue(Value v) {
    if (Value mapped = mapping.lookupOrNull(v))
      return mapped;
    if (auto constant = v.getDefiningOp<arith::ConstantOp>())
      return b.clone(*constant)->getResult(0);
    return {};
  }

  /// Interval of x / y for divisors known positive at run time; a wide range
  /// when the divisor may be non-positive (sound: positions are far smaller).
  Interval floorDivide(Interval x, Interval y) {
    Value one = constI64(1);
    Value yLo = max_(y.lo, one), yHi = max_(y.hi, one);
    auto div = [&](Value p, Value q) {
      return arith::FloorDivSIOp::create(b, loc, p, q).getResult();
    };
    Value c0 = div(x.lo, yLo), c1 = div(x.lo, yHi), c2 = div(x.hi, yLo),
          c3 = div(x.hi, yHi);
    Value lo = min_(min_(c0, c1), min_(c2, c3));
    Value hi = max_(max_(c0, c1), max_(c2, c3));
    Value positive = cmp(arith::CmpIPredicate::sgt, y.lo, constI64(0));
    return {select(positive, lo, constI64(-(int64_t(1) << 40))),
            select(positive, hi, constI64(int64_t(1) << 40))};
  }

  /// Interval of the remainder of x by a divisor y (truncated or floored).
  Interval remainder(Interval x, Interval y, bool floored) {
    Value one = constI64(1);
    Value yHi = max_(y.hi, one);
    Value bound = sub(yHi, one);
    // When x stays within one period and is non-negative, the remainder is
    // exact at both ends; otherwise it is anywhere in the period.
    Value sameDivisor = cmp(arith::CmpIPredicate::eq, y.lo, y.hi);
    Value nonNegative = cmp(arith::CmpIPredicate::sge, x.lo, constI64(0));
    Value samePeriod =
        cmp(arith::CmpIPredicate::eq,
            arith::FloorDivSIOp::create(b, loc, x.lo, yHi),
            arith::FloorDivSIOp::create(b, loc, x.hi, yHi));
    Value tight = and_(and_(sameDivisor, nonNegative), samePeriod);
    Value positive = cmp(arith::CmpIPredicate::sgt, y.lo, constI64(0));
    Value tightOk = and_(tight, positive);
    Value rLo = arith::RemSIOp::create(b, loc, x.lo, yHi);
    Value rHi = arith::RemSIOp::create(b, loc, x.hi, yHi);
    Value looseLo = floored ? constI64(0) : sub(constI64(0), bound);
    Value wide = constI64(int64_t(1) << 40);
    Value lo = select(tightOk, rLo, select(positive, looseLo, sub(constI64(0), wide)));
    Value hi = select(tightOk, rHi, select(positive, bound, wide));
    return {lo, hi};
  }

  MaybeBool compare(arith::CmpIPredicate pred, Interval x, Interval y) {
    using P = arith::CmpIPredicate;
    switch (pred) {
    case P::slt:
      return {cmp(P::slt, x.lo, y.hi), cmp(P::sge, x.hi, y.lo)};
    case P::sle:
      return {cmp(P::sle, x.lo, y.hi), cmp(P::sgt, x.hi, y.lo)};
    case P::sgt:
      return compare(P::slt, y, x);
    case P::sge:
      return compare(P::sle, y, x);
    case P::eq: {
      Value overlap = and_(cmp(P::sle, x.lo, y.hi), cmp(P::sle, y.lo, x.hi));
      Value sameSingleton =
          and_(and_(cmp(P::eq, x.lo, x.hi), cmp(P::eq, y.lo, y.hi)),
               cmp(P::eq, x.lo, y.lo));
      return {overlap, not_(sameSingleton)};
    }
    case P::ne: {
      MaybeBool eq = compare(P::eq, x, y);
      return {eq.mayBeFalse, eq.mayBeTrue};
    }
    default:
      return {constBool(true), constBool(true)};
    }
  }

  /// Abstract value of `cond ? x : y` for booleans.
  MaybeBool selectBool(MaybeBool cond, MaybeBool x, MaybeBool y) {
    return {or_(and_(cond.mayBeTrue, x.mayBeTrue),
                and_(cond.mayBeFalse, y.mayBeTrue)),
            or_(and_(cond.mayBeTrue, x.mayBeFalse),
                and_(cond.mayBeFalse, y.mayBeFalse))};
  }

  /// Interval of `cond ? x : y`.
  Interval selectInt(MaybeBool cond, Interval x, Interval y) {
    Value both = and_(cond.mayBeTrue, cond.mayBeFalse);
    Value lo = select(both, min_(x.lo, y.lo),
                      select(cond.mayBeTrue, x.lo, y.lo));
    Value hi = select(both, max_(x.hi, y.hi),
                      select(cond.mayBeTrue, x.hi, y.hi));
    return {lo, hi, joinTop(x.top, y.top)};
  }

  MaybeBool neighborhood(NeighborhoodOp op) {
    std::optional<Interval> i = getInt(op.getQuery()), j = getInt(op.getKey()),
                            n = getInt(op.getExtent()),
                            s = getInt(op.getSize()),
                            d = getInt(op.getDilation());
    if (!i || !j || !n || !s || !d)
      return {constBool(true), constBool(true)};
    using P = arith::CmpIPredicate;
    Value zero = constI64(0), one = constI64(1);
    // The rule needs exact parameters; tiles vary only positions.
    Value exact = and_(and_(cmp(P::eq, n->lo, n->hi), cmp(P::eq, s->lo, s->hi)),
                       cmp(P::eq, d->lo, d->hi));
    Value size = s->lo, dil = max_(d->lo, one), extent = n->lo;
    auto floorDiv = [&](Value p, Value q) {
      return arith::FloorDivSIOp::create(b, loc, p, q).getResult();
    };
    auto clampTo = [&](Value x, Value upper) { return max_(min_(x, upper), zero); };
    Value iLo = max_(i->lo, zero), iHi = max_(i->hi, zero);
    Value g0 = floorDiv(iLo, dil), g1 = floorDiv(iHi, dil);
    Value isDense = cmp(P::eq, dil, one);
    Value sizePositive = cmp(P::sgt, size, zero);
    Value keyLo, keyHi, full;
    if (op.getCausal()) {
      keyLo = mul(max_(add(sub(g0, size), one), zero), dil);
      keyHi = add(mul(g1, dil), sub(dil, one));
      full = and_(cmp(P::sge, j->lo, max_(add(sub(i->hi, size), one), zero)),
                  cmp(P::sle, j->hi, i->lo));
    } else {
      // Residue classes are floor(n/d) or ceil(n/d) long; the window start
      // clamp(g - size/2, 0, n_r - size) is monotone in g and n_r.
      Value half = floorDiv(size, constI64(2));
      Value nMin = floorDiv(extent, dil);
      Value nMax = floorDiv(add(extent, sub(dil, one)), dil);
      Value startLo = clampTo(sub(g0, half), sub(nMin, size));
      Value startHi = clampTo(sub(g1, half), sub(nMax, size));
      keyLo = mul(startLo, dil);
      keyHi = add(mul(sub(add(startHi, size), one), dil), sub(dil, one));
      sizePositive = and_(sizePositive, cmp(P::sle, size, nMax));
      // Dense axis: every query of [iLo, iHi] sees every key of the box.
      Value denseStartLo = clampTo(sub(i->lo, half), sub(extent, size));
      Value denseStartHi = clampTo(sub(i->hi, half), sub(extent, size));
      full = and_(and_(cmp(P::sge, j->lo, denseStartHi),
                       cmp(P::sle, j->hi, sub(add(denseStartLo, size), one))),
                  cmp(P::sle, size, extent));
    }
    Value overlap = and_(cmp(P::sle, j->lo, keyHi), cmp(P::sle, keyLo, j->hi));
    Value mayBeTrue = or_(not_(exact), and_(sizePositive, overlap));
    Value mayBeFalse = or_(or_(not_(exact), not_(isDense)),
                           or_(not_(sizePositive), not_(full)));
    Value top = joinTop(joinTop(joinTop(i->top, j->top), joinTop(n->top, s->top)),
                        d->top);
    return widen({mayBeTrue, mayBeFalse}, top);
  }

  /// A read of an input tensor: bounds from the back end over the box of its
  /// indices (see InputRangeFn), or top.
  void inputRead(tensor::ExtractOp read) {
    if (!inputRanges || !isa<BlockArgument>(read.getTensor()))
      return;
    Type element = read.getType();
    if (!element.isSignlessInteger())
      return;
    SmallVector<Interval> box;
    Value top;
    for (Value index : read.getIndices()) {
      std::optional<Interval> x = getInt(index);
      if (!x)
        return;
      top = joinTop(top, x->top);
      box.push_back({x->lo, x->hi});
    }
    std::optional<Interval> range = inputRanges(b, loc, read, box, reachable);
    if (!range)
      return;
    top = joinTop(top, range->top);
    if (element.isInteger(1)) {
      // Values are 0 / 1: true is possible where hi > 0, false where lo <= 0.
      bools[read] = widen({cmp(arith::CmpIPredicate::sgt, range->hi, constI64(0)),
                           cmp(arith::CmpIPredicate::sle, range->lo, constI64(0))},
                          top);
      return;
    }
    ints[read] = {range->lo, range->hi, top};
  }

  void visit(Operation *op) {
    using P = arith::CmpIPredicate;
    llvm::TypeSwitch<Operation *>(op)
        .Case([&](arith::ConstantOp c) {
          if (auto attr = dyn_cast<IntegerAttr>(c.getValue())) {
            if (c.getType().isInteger(1)) {
              bool v = attr.getValue().getBoolValue();
              bools[c] = {constBool(v), constBool(!v)};
            } else {
              Value v = constI64(attr.getValue().getSExtValue());
              ints[c] = {v, v};
            }
          }
        })
        .Case([&](arith::AddIOp o) {
          binaryInt(o, [&](Interval x, Interval y) {
            return Interval{add(x.lo, y.lo), add(x.hi, y.hi)};
          });
        })
        .Case([&](arith::SubIOp o) {
          binaryInt(o, [&](Interval x, Interval y) {
            return Interval{sub(x.lo, y.hi), sub(x.hi, y.lo)};
          });
        })
        .Case([&](arith::MulIOp o) {
          binaryInt(o, [&](Interval x, Interval y) {
            Value c0 = mul(x.lo, y.lo), c1 = mul(x.lo, y.hi),
                  c2 = mul(x.hi, y.lo), c3 = mul(x.hi, y.hi);
            return Interval{min_(min_(c0, c1), min_(c2, c3)),
                            max_(max_(c0, c1), max_(c2, c3))};
          });
        })
        .Case([&](arith::FloorDivSIOp o) {
          binaryInt(o, [&](Interval x, Interval y) { return floorDivide(x, y); });
        })
        .Case([&](arith::DivSIOp o) {
          // Truncation equals flooring for non-negative operands; otherwise
          // widen by one on each side, which covers the difference.
          binaryInt(o, [&](Interval x, Interval y) {
            Interval f = floorDivide(x, y);
            Value one = constI64(1);
            return Interval{sub(f.lo, one), add(f.hi, one)};
          });
        })
        .Case([&](arith::RemSIOp o) {
          binaryInt(o, [&](Interval x, Interval y) {
            return remainder(x, y, /*floored=*/false);
          });
        })
        .Case([&](arith::MinSIOp o) {
          binaryInt(o, [&](Interval x, Interval y) {
            return Interval{min_(x.lo, y.lo), min_(x.hi, y.hi)};
          });
        })
        .Case([&](arith::MaxSIOp o) {
          binaryInt(o, [&](Interval x, Interval y) {
            return Interval{max_(x.lo, y.lo), max_(x.hi, y.hi)};
          });
        })
        .Case([&](arith::CmpIOp o) {
          std::optional<Interval> x = getInt(o.getLhs()), y = getInt(o.getRhs());
          if (o.getLhs().getType().isInteger(1)) {
            // i1 equality is xnor; treat it through xor below.
            MaybeBool a = getBool(o.getLhs()), c = getBool(o.getRhs());
            MaybeBool differ = {or_(and_(a.mayBeTrue, c.mayBeFalse),
                                    and_(a.mayBeFalse, c.mayBeTrue)),
                                or_(and_(a.mayBeTrue, c.mayBeTrue),
                                    and_(a.mayBeFalse, c.mayBeFalse))};
            if (o.getPredicate() == P::ne)
              bools[o] = differ;
            else if (o.getPredicate() == P::eq)
              bools[o] = {differ.mayBeFalse, differ.mayBeTrue};
            return;
          }
          if (x && y)
            bools[o] = widen(compare(o.getPredicate(), *x, *y),
                             joinTop(x->top, y->top));
        })
        .Case([&](arith::AndIOp o) {
          if (!o.getType().isInteger(1))
            return;
          MaybeBool x = getBool(o.getLhs()), y = getBool(o.getRhs());
          bools[o] = {and_(x.mayBeTrue, y.mayBeTrue),
                      or_(x.mayBeFalse, y.mayBeFalse)};
        })
        .Case([&](arith::OrIOp o) {
          if (!o.getType().isInteger(1))
            return;
          MaybeBool x = getBool(o.getLhs()), y = getBool(o.getRhs());
          bools[o] = {or_(x.mayBeTrue, y.mayBeTrue),
                      and_(x.mayBeFalse, y.mayBeFalse)};
        })
        .Case([&](arith::XOrIOp o) {
          if (!o.getType().isInteger(1))
            return;
          MaybeBool x = getBool(o.getLhs()), y = getBool(o.getRhs());
          bools[o] = {or_(and_(x.mayBeTrue, y.mayBeFalse),
                          and_(x.mayBeFalse, y.mayBeTrue)),
                      or_(and_(x.mayBeTrue, y.mayBeTrue),
                          and_(x.mayBeFalse, y.mayBeFalse))};
        })
        .Case([&](arith::SelectOp o) {
          MaybeBool cond = getBool(o.getCondition());
          if (o.getType().isInteger(1)) {
            bools[o] = selectBool(cond, getBool(o.getTrueValue()),
                                  getBool(o.getFalseValue()));
            return;
          }
          std::optional<Interval> x = getInt(o.getTrueValue()),
                                  y = getInt(o.getFalseValue());
          if (x && y)
            ints[o] = selectInt(cond, *x, *y);
        })
        .Case([&](arith::IndexCastOp o) { passThrough(o.getIn(), o); })
        .Case([&](arith::ExtSIOp o) { passThrough(o.getIn(), o); })
        .Case([&](arith::TruncIOp o) {
          // Exact while the value fits the narrower type (now that input
          // reads have bounds, values need not be small positions).
          unsigned width = o.getType().getIntOrFloatBitWidth();
          if (width >= 64 || width < 2)
            return passThrough(o.getIn(), o);
          passThrough(o.getIn(), o, int64_t(-1) << (width - 1),
                      (int64_t(1) << (width - 1)) - 1);
        })
        .Case([&](arith::ExtUIOp o) {
          if (o.getIn().getType().isInteger(1)) {
            MaybeBool x = getBool(o.getIn());
            Value zero = constI64(0), one = constI64(1);
            ints[o] = {select(x.mayBeFalse, zero, one),
                       select(x.mayBeTrue, one, zero)};
          } else {
            // Zero extension is exact for non-negative values.
            unsigned width = o.getIn().getType().getIntOrFloatBitWidth();
            passThrough(o.getIn(), o, 0,
                        width >= 64 ? INT64_MAX : (int64_t(1) << (width - 1)) - 1);
          }
        })
        .Case([&](NeighborhoodOp o) { bools[o] = neighborhood(o); })
        .Case([&](tensor::ExtractOp o) { inputRead(o); })
        .Case([&](scf::IfOp o) {
          MaybeBool cond = getBool(o.getCondition());
          // A branch the condition cannot take contributes nothing to the
          // results (selectBool / selectInt drop it), so its input reads
          // need no bounds there.
          Value outer = reachable;
          reachable = outer ? and_(outer, cond.mayBeTrue) : cond.mayBeTrue;
          auto thenResults = interpretBlock(o.getThenRegion().front());
          reachable = outer;
          if (o.getElseRegion().empty())
            return;
          reachable = outer ? and_(outer, cond.mayBeFalse) : cond.mayBeFalse;
          auto elseResults = interpretBlock(o.getElseRegion().front());
          reachable = outer;
          for (auto [index, result] : llvm::enumerate(o.getResults())) {
            auto [thenInt, thenBool] = thenResults[index];
            auto [elseInt, elseBool] = elseResults[index];
            if (result.getType().isInteger(1))
              bools[result] = selectBool(cond, thenBool, elseBool);
            else if (thenInt && elseInt && result.getType().isIntOrIndex())
              ints[result] = selectInt(cond, *thenInt, *elseInt);
          }
        })
        .Default([](Operation *) {
          // Unknown ops (float arithmetic, ...) give top results:
          // absent from the maps, so they read as "maybe".
        });
  }

  template <typename OpT, typename Fn>
  void binaryInt(OpT op, Fn fn) {
    if (!op.getType().isIntOrIndex() || op.getType().isInteger(1))
      return;
    std::optional<Interval> x = getInt(op.getLhs()), y = getInt(op.getRhs());
    if (!x || !y)
      return;
    Interval result = fn(*x, *y);
    result.top = joinTop(x->top, y->top);
    ints[op] = result;
  }

  void passThrough(Value in, Operation *op) {
    Value out = op->getResult(0);
    if (out.getType().isInteger(1) || in.getType().isInteger(1))
      return;
    if (std::optional<Interval> x = getInt(in))
      ints[out] = *x;
  }

  /// The same for conversions that keep values only within [min, max]: top
  /// at run time where the interval leaves that range.
  void passThrough(Value in, Operation *op, int64_t min, int64_t max) {
    Value out = op->getResult(0);
    if (out.getType().isInteger(1) || in.getType().isInteger(1))
      return;
    std::optional<Interval> x = getInt(in);
    if (!x)
      return;
    using P = arith::CmpIPredicate;
    Value outside = or_(cmp(P::slt, x->lo, constI64(min)),
                        cmp(P::sgt, x->hi, constI64(max)));
    ints[out] = {x->lo, x->hi, joinTop(x->top, outside)};
  }

  OpBuilder &b;
  Location loc;
  const IRMapping &mapping;
  InputRangeFn inputRanges;
  /// Whether the ops being interpreted can matter (see InputRangeFn); null
  /// outside any scf.if.
  Value reachable;
  llvm::DenseMap<Value, Interval> ints;
  llvm::DenseMap<Value, MaybeBool> bools;
};

} // namespace

MaybeBool mlir::attn::emitMaskClassification(OpBuilder &builder, Location loc,
                                             Region &mask,
                                             ArrayRef<Interval> coordinates,
                                             const IRMapping &mapping,
                                             InputRangeFn inputRanges) {
  IntervalEmitter emitter(builder, loc, mapping, inputRanges);
  Block &block = mask.front();
  for (auto [arg, interval] : llvm::zip(block.getArguments(), coordinates))
    emitter.bindInterval(arg, interval);
  return emitter.interpretBlock(block).front().second;
}
