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

#include "attn/Conversion/NeighborhoodWindows.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cpu;

void AttentionKernelEmitter::analyzeMask() {
  axisWindows = findAxisWindows(op);
  axisFactors.clear();
  if (!op.hasMask())
    return;
  Block &block = op.getMask().front();
  unsigned firstQuery = 2, firstInput = 2 + 2 * numAxes;
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
  }
  if (factors)
    axisFactors = std::move(groups);
}

void AttentionKernelEmitter::computeKeyRange(ImplicitLocOpBuilder &b) {
  keyBegin.clear();
  keyEnd.clear();
  for (auto [begin, end] : windowKeyRanges(
           b, op, axisWindows, queryStart, tq, queryExtent, keyExtent, batch,
           head, regions->outer(), dilations, residues, tk)) {
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
