//===- MaskStructure.cpp - what the CPU kernel uses of a mask's form ------===//
//
// Two facts about the mask's form that make local masks cheap on the CPU
// (AttentionKernel.h), found once per kernel:
//   - per-axis factors: a mask that is a conjunction of terms each reading one
//     token axis' (query, key) positions (a 2-D neighborhood is
//     `nb(x, kx) && nb(y, ky)`) is evaluated on a partial tile per key
//     position of each axis, not per key (TileMask.cpp);
//   - windows: a conjunct `attn.neighborhood(q_a, k_a, ...)` bounds the keys
//     any query of a tile may keep on axis a, so the key tiles start at the
//     tile's window instead of the global grid: a 4-wide query box under a
//     13-wide window needs 16 keys per axis, which the grid would cover with
//     five 4-key tiles (20 keys) instead.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cpu;

namespace {

/// Splits `v` at the `arith.andi` ops of `block` into its conjuncts.
void collectConjuncts(Value v, Block &block, SmallVectorImpl<Value> &out) {
  if (auto andOp = v.getDefiningOp<arith::AndIOp>();
      andOp && andOp->getBlock() == &block) {
    collectConjuncts(andOp.getLhs(), block, out);
    collectConjuncts(andOp.getRhs(), block, out);
    return;
  }
  out.push_back(v);
}

/// Adds the numbers of the arguments of `block` that `v` is computed from.
void collectArguments(Value v, Block &block, SmallVectorImpl<unsigned> &args,
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

SmallVector<unsigned> argumentsOf(Value v, Block &block) {
  SmallVector<unsigned> args;
  llvm::SmallPtrSet<Operation *, 16> seen;
  collectArguments(v, block, args, seen);
  return args;
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
std::pair<Value, Value> neighborhoodKeyBounds(ImplicitLocOpBuilder &b,
                                              Value qlo, Value qhi, Value n,
                                              Value size, Value dilation,
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

} // namespace

void AttentionKernelEmitter::analyzeMask() {
  axisWindows.assign(numAxes, nullptr);
  axisFactors.clear();
  if (!op.hasMask())
    return;
  Block &block = op.getMask().front();
  unsigned firstQuery = 2, firstKey = 2 + numAxes, firstInput = 2 + 2 * numAxes;
  SmallVector<Value> conjuncts;
  collectConjuncts(cast<YieldOp>(block.getTerminator()).getValues()[0], block,
                   conjuncts);
  bool factors = numAxes > 1 && isVectorizableMask(op.getMask());
  SmallVector<SmallVector<Value>> groups(numAxes);
  for (Value conjunct : conjuncts) {
    std::optional<unsigned> axis;
    for (unsigned arg : argumentsOf(conjunct, block)) {
      if (arg < firstQuery)
        continue;
      unsigned argAxis = arg < firstInput ? (arg - firstQuery) % numAxes : ~0u;
      if (argAxis == ~0u || (axis && *axis != argAxis))
        factors = false;
      axis = argAxis;
    }
    if (factors)
      groups[axis.value_or(0)].push_back(conjunct);

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
    if (fromOutside && !axisWindows[windowAxis])
      axisWindows[windowAxis] = window;
  }
  if (factors)
    axisFactors = std::move(groups);
}

Value AttentionKernelEmitter::materializeMaskScalar(ImplicitLocOpBuilder &b,
                                                    Value v) {
  Block &block = op.getMask().front();
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != &block || arg.getArgNumber() > 1)
      return {};
    return toI64(b, arg.getArgNumber() == 0 ? batch : head);
  }
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != &block) {
    if (Value outer = regions->outer().lookupOrNull(v))
      return outer;
    if (auto constant = v.getDefiningOp<arith::ConstantOp>())
      return b.clone(*constant)->getResult(0);
    return {};
  }
  if (!isa<arith::ArithDialect>(def->getDialect()) || def->getNumRegions() ||
      def->getNumResults() != 1)
    return {};
  IRMapping operands;
  for (Value operand : def->getOperands()) {
    Value value = materializeMaskScalar(b, operand);
    if (!value)
      return {};
    operands.map(operand, value);
  }
  return b.clone(*def, operands)->getResult(0);
}

void AttentionKernelEmitter::computeKeyRange(ImplicitLocOpBuilder &b) {
  keyBegin.clear();
  keyEnd.clear();
  for (unsigned axis = 0; axis < numAxes; ++axis) {
    Value begin = idx(b, 0), end = keyExtent[axis];
    if (NeighborhoodOp window = axisWindows[axis]) {
      Value n = materializeMaskScalar(b, window.getExtent());
      Value size = materializeMaskScalar(b, window.getSize());
      Value dilation = materializeMaskScalar(b, window.getDilation());
      if (n && size && dilation) {
        Value last = arith::SubIOp::create(b, queryExtent[axis], idx(b, 1));
        Value qhi = arith::MinUIOp::create(
            b, arith::AddIOp::create(b, queryStart[axis], idx(b, tq[axis] - 1)),
            last);
        auto [lo, hi] =
            neighborhoodKeyBounds(b, toI64(b, queryStart[axis]), toI64(b, qhi),
                                  n, size, dilation, window.getCausal());
        Value zero = arith::ConstantIntOp::create(b, b.getI64Type(), 0);
        Value one = arith::ConstantIntOp::create(b, b.getI64Type(), 1);
        Value extent = toI64(b, keyExtent[axis]);
        Value lo64 = arith::MinSIOp::create(
            b, arith::MaxSIOp::create(b, lo, zero), extent);
        Value hi64 = arith::MaxSIOp::create(
            b, arith::MinSIOp::create(b, arith::AddIOp::create(b, hi, one),
                                      extent),
            lo64);
        begin = arith::IndexCastOp::create(b, b.getIndexType(), lo64);
        end = arith::IndexCastOp::create(b, b.getIndexType(), hi64);
      }
    }
    keyBegin.push_back(begin);
    keyEnd.push_back(end);
  }
}

Value AttentionKernelEmitter::keyTileCount(ImplicitLocOpBuilder &b,
                                           unsigned axis) {
  return ceilDiv(b, arith::SubIOp::create(b, keyEnd[axis], keyBegin[axis]),
                 tk[axis]);
}

Value AttentionKernelEmitter::keyTileStart(ImplicitLocOpBuilder &b,
                                           unsigned axis, Value coord) {
  return arith::AddIOp::create(
      b, keyBegin[axis], arith::MulIOp::create(b, coord, idx(b, tk[axis])));
}
