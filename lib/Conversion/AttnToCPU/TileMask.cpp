//===- TileMask.cpp - mask evaluation on a tile of the CPU kernel ---------===//
//
// The mask steps of one (query tile, key tile) pair of the CPU attention
// kernel (AttentionKernel.h), run only on tiles the interval analysis
// (TileClassification.h) cannot prove full: the mask is evaluated per pair
// into keep flags ([key][query] bytes, a vector of queries at a time when the
// mask is plain coordinate arithmetic), dropped scores become -inf, and the
// score rule rewrites the kept ones. Kept apart from the products so the
// mask's cost on partial tiles, which dominates local masks such as 2-D
// neighborhoods, can be read and tuned on its own.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cpu;

namespace {

/// Evaluates a vectorizable mask region on vectors of coordinates (one
/// vector per coordinate block argument, `lanes` wide), returning the
/// vectors of the region's values `wanted`. Values captured from above come
/// through `outer` and are broadcast. Ops none of `wanted` needs are dead and
/// folded away later.
SmallVector<Value> evaluateMaskVectors(ImplicitLocOpBuilder &b, Region &mask,
                                       ValueRange coordinates,
                                       const IRMapping &outer, int64_t lanes,
                                       ArrayRef<Value> wanted) {
  IRMapping map;
  Block &block = mask.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), coordinates))
    map.map(arg, value);
  auto vectorType = [&](Type t) { return VectorType::get({lanes}, t); };
  auto lookup = [&](Value v) -> Value {
    if (Value mapped = map.lookupOrNull(v))
      return mapped;
    Value scalar = outer.lookupOrNull(v);
    if (!scalar) {
      auto constant = v.getDefiningOp<arith::ConstantOp>();
      assert(constant && "captured value without a kernel counterpart");
      scalar = b.clone(*constant)->getResult(0);
    }
    Value splat = vector::BroadcastOp::create(b, vectorType(v.getType()), scalar);
    map.map(v, splat);
    return splat;
  };
  for (Operation &o : block.without_terminator()) {
    if (auto constant = dyn_cast<arith::ConstantOp>(o)) {
      auto attr = DenseElementsAttr::get(
          cast<ShapedType>(vectorType(constant.getType())), constant.getValue());
      map.map(constant.getResult(), arith::ConstantOp::create(b, attr));
      continue;
    }
    if (auto nb = dyn_cast<NeighborhoodOp>(o)) {
      map.map(nb.getResult(),
              expandNeighborhood(b, lookup(nb.getQuery()), lookup(nb.getKey()),
                                 lookup(nb.getExtent()), lookup(nb.getSize()),
                                 lookup(nb.getDilation()), nb.getCausal()));
      continue;
    }
    SmallVector<Value> operands;
    for (Value operand : o.getOperands())
      operands.push_back(lookup(operand));
    SmallVector<Type> types;
    for (Type t : o.getResultTypes())
      types.push_back(vectorType(t));
    OperationState state(o.getLoc(), o.getName(), operands, types, o.getAttrs());
    Operation *vectorized = b.create(state);
    for (auto [from, to] : llvm::zip(o.getResults(), vectorized->getResults()))
      map.map(from, to);
  }
  SmallVector<Value> results;
  for (Value v : wanted)
    results.push_back(lookup(v));
  return results;
}

/// The vector of keep flags the mask region yields.
Value evaluateMaskVector(ImplicitLocOpBuilder &b, Region &mask,
                         ValueRange coordinates, const IRMapping &outer,
                         int64_t lanes) {
  Value yielded = cast<YieldOp>(mask.front().getTerminator()).getValues()[0];
  return evaluateMaskVectors(b, mask, coordinates, outer, lanes, yielded)[0];
}

} // namespace

bool mlir::attn::cpu::isVectorizableMask(Region &mask) {
  bool vectorizable = true;
  mask.walk([&](Operation *o) {
    if (isa<YieldOp, NeighborhoodOp>(o))
      return;
    if (o->getNumRegions() ||
        !isa<arith::ArithDialect, math::MathDialect>(o->getDialect()))
      vectorizable = false;
  });
  return vectorizable;
}

SmallVector<SmallVector<Value>>
AttentionKernelEmitter::queryCoordinateVectors(ImplicitLocOpBuilder &b) {
  auto indexVec = VectorType::get({rowLanes}, b.getIndexType());
  auto i64Vec = VectorType::get({rowLanes}, b.getI64Type());
  auto splatIndex = [&](ImplicitLocOpBuilder &b, int64_t v) -> Value {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(indexVec, b.getIndexAttr(v)));
  };
  // Query positions of each row chunk, per axis, as i64 vectors: computed
  // once per tile, reused for every key.
  SmallVector<SmallVector<Value>> queryCoords;
  SmallVector<int64_t> lanesIota = llvm::to_vector(llvm::seq<int64_t>(0, rowLanes));
  for (int64_t j = 0; j < tileQ / rowLanes; ++j) {
    Value rows = arith::AddIOp::create(
        b,
        arith::ConstantOp::create(
            b, DenseElementsAttr::get(
                   indexVec, llvm::to_vector(llvm::map_range(lanesIota, [&](int64_t l) {
                     return (Attribute)b.getIndexAttr(l);
                   })))),
        splatIndex(b, j * rowLanes));
    SmallVector<Value> coords;
    int64_t inner = 1;
    SmallVector<Value> perAxis(numAxes);
    for (int64_t axis = numAxes - 1; axis >= 0; --axis) {
      Value quotient = arith::DivUIOp::create(b, rows, splatIndex(b, inner));
      Value offset = arith::RemUIOp::create(b, quotient, splatIndex(b, tq[axis]));
      Value start = vector::BroadcastOp::create(b, indexVec, queryStart[axis]);
      Value position = arith::AddIOp::create(b, start, offset);
      if (dilations[axis] > 1)
        position = arith::AddIOp::create(
            b, vector::BroadcastOp::create(b, indexVec, residues[axis]),
            arith::MulIOp::create(b, position,
                                  splatIndex(b, dilations[axis])));
      perAxis[axis] = arith::IndexCastOp::create(b, i64Vec, position);
      inner *= tq[axis];
    }
    queryCoords.push_back(perAxis);
  }
  return queryCoords;
}

Value AttentionKernelEmitter::evaluateMaskVectorized(
    ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart) {
  Type i64 = b.getI64Type();
  auto i64Vec = VectorType::get({rowLanes}, i64);
  auto byteVec = VectorType::get({rowLanes}, b.getI8Type());
  SmallVector<SmallVector<Value>> queryCoords = queryCoordinateVectors(b);
  Value batchVec = vector::BroadcastOp::create(b, i64Vec, toI64(b, batch));
  Value headVec = vector::BroadcastOp::create(b, i64Vec, toI64(b, head));
  Value none = arith::ConstantIntOp::create(b, false, 1);
  return forEachCarry(
      b, idx(b, 0), idx(b, tileK), 1, ValueRange{none},
      [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
        SmallVector<Value> kpos = keyPositions(b, c, keyStart);
        Value valid = vector::BroadcastOp::create(
            b, VectorType::get({rowLanes}, b.getI1Type()),
            allBelow(b, kpos, keyExtent));
        Value any = carried[0];
        for (int64_t j = 0; j < tileQ / rowLanes; ++j) {
          Value kept = valid;
          if (op.hasMask()) {
            SmallVector<Value> coords{batchVec, headVec};
            llvm::append_range(coords, queryCoords[j]);
            for (Value p : kpos)
              coords.push_back(
                  vector::BroadcastOp::create(b, i64Vec, toI64(b, p)));
            kept = arith::AndIOp::create(
                b, kept,
                evaluateMaskVector(b, op.getMask(), coords, regions->outer(),
                                   rowLanes));
          }
          vector::StoreOp::create(b, arith::ExtUIOp::create(b, byteVec, kept),
                                  keep, ValueRange{c, idx(b, j * rowLanes)});
          any = arith::OrIOp::create(
              b, any,
              vector::ReductionOp::create(b, vector::CombiningKind::OR, kept));
        }
        return SmallVector<Value>{any};
      })[0];
}

Value AttentionKernelEmitter::evaluateMaskFactored(ImplicitLocOpBuilder &b,
                                                  ArrayRef<Value> keyStart) {
  auto i64Vec = VectorType::get({rowLanes}, b.getI64Type());
  auto byteVec = VectorType::get({rowLanes}, b.getI8Type());
  auto boolVec = VectorType::get({rowLanes}, b.getI1Type());
  int64_t chunks = tileQ / rowLanes;
  SmallVector<SmallVector<Value>> queryCoords = queryCoordinateVectors(b);
  Value batchVec = vector::BroadcastOp::create(b, i64Vec, toI64(b, batch));
  Value headVec = vector::BroadcastOp::create(b, i64Vec, toI64(b, head));
  // The mask is a conjunction of one factor per token axis: evaluate each
  // factor once per key position of its axis (against all queries of the
  // tile) into axisKeep[axis], so a tile of ∏ tk keys costs Σ tk vector
  // evaluations instead of ∏ tk. Keys past the end fail their axis' factor.
  for (unsigned axis = 0; axis < numAxes; ++axis) {
    forEach(b, idx(b, 0), idx(b, tk[axis]), 1,
            [&](ImplicitLocOpBuilder &b, Value t) {
      Value position =
          tokenOf(b, axis, arith::AddIOp::create(b, keyStart[axis], t));
      Value valid = vector::BroadcastOp::create(
          b, boolVec,
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, position,
                                keyExtent[axis]));
      SmallVector<Value> keyCoords;
      for (unsigned other = 0; other < numAxes; ++other)
        keyCoords.push_back(vector::BroadcastOp::create(
            b, i64Vec,
            toI64(b, other == axis ? position
                                   : tokenOf(b, other, keyStart[other]))));
      for (int64_t j = 0; j < chunks; ++j) {
        SmallVector<Value> coords{batchVec, headVec};
        llvm::append_range(coords, queryCoords[j]);
        llvm::append_range(coords, keyCoords);
        Value kept = valid;
        for (Value factor :
             evaluateMaskVectors(b, op.getMask(), coords, regions->outer(),
                                 rowLanes, axisFactors[axis]))
          kept = arith::AndIOp::create(b, kept, factor);
        vector::StoreOp::create(b, arith::ExtUIOp::create(b, byteVec, kept),
                                axisKeep[axis],
                                ValueRange{t, idx(b, j * rowLanes)});
      }
    });
  }
  // Each key's flags: the AND of its row of every axis' table.
  Value zeroBytes = arith::ConstantOp::create(
      b, DenseElementsAttr::get(byteVec, b.getI8IntegerAttr(0)));
  Value none = arith::ConstantIntOp::create(b, false, 1);
  return forEachCarry(
      b, idx(b, 0), idx(b, tileK), 1, ValueRange{none},
      [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
        SmallVector<Value> offsets = boxOffsets(b, c, tk);
        Value any = carried[0];
        for (int64_t j = 0; j < chunks; ++j) {
          Value column = idx(b, j * rowLanes);
          Value bytes;
          for (unsigned axis = 0; axis < numAxes; ++axis) {
            Value row = vector::LoadOp::create(
                b, byteVec, axisKeep[axis], ValueRange{offsets[axis], column});
            bytes = bytes ? arith::AndIOp::create(b, bytes, row).getResult()
                          : row;
          }
          vector::StoreOp::create(b, bytes, keep, ValueRange{c, column});
          Value kept = arith::CmpIOp::create(b, arith::CmpIPredicate::ne,
                                             bytes, zeroBytes);
          any = arith::OrIOp::create(
              b, any,
              vector::ReductionOp::create(b, vector::CombiningKind::OR, kept));
        }
        return SmallVector<Value>{any};
      })[0];
}

Value AttentionKernelEmitter::evaluateMask(ImplicitLocOpBuilder &b,
                                          ArrayRef<Value> keyStart) {
  if (!axisFactors.empty())
    return evaluateMaskFactored(b, keyStart);
  if (!op.hasMask() || isVectorizableMask(op.getMask()))
    return evaluateMaskVectorized(b, keyStart);
  Value zero = idx(b, 0);
  Value count = forEachCarry(
      b, zero, idx(b, tileK), 1, ValueRange{zero},
      [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
        SmallVector<Value> kpos = keyPositions(b, c, keyStart);
        Value valid = allBelow(b, kpos, keyExtent);
        return forEachCarry(
            b, idx(b, 0), idx(b, tileQ), 1, carried,
            [&](ImplicitLocOpBuilder &b, Value r, ValueRange inner) {
              Value kept = valid;
              if (op.hasMask()) {
                kept = ifThenElse(
                    b, valid, b.getI1Type(),
                    [&](ImplicitLocOpBuilder &in) -> Value {
                      SmallVector<Value> coords{toI64(in, batch),
                                                toI64(in, head)};
                      for (Value p : queryPositions(in, r))
                        coords.push_back(toI64(in, p));
                      for (Value p : kpos)
                        coords.push_back(toI64(in, p));
                      return inlineRegion(in, op.getMask(), coords);
                    },
                    [&](ImplicitLocOpBuilder &in) -> Value {
                      return arith::ConstantIntOp::create(in, false, 1);
                    });
              }
              Value asByte = arith::ExtUIOp::create(b, b.getI8Type(), kept);
              memref::StoreOp::create(b, asByte, keep, ValueRange{c, r});
              Value asIndex = arith::IndexCastUIOp::create(
                  b, b.getIndexType(),
                  arith::ExtUIOp::create(b, b.getI64Type(), kept));
              return SmallVector<Value>{
                  arith::AddIOp::create(b, inner[0], asIndex)};
            });
      })[0];
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, count, zero);
}

void AttentionKernelEmitter::applyKeep(ImplicitLocOpBuilder &b) {
  auto byteVec = VectorType::get({rowLanes}, b.getI8Type());
  Value zeroBytes = arith::ConstantOp::create(
      b, DenseElementsAttr::get(byteVec, b.getI8IntegerAttr(0)));
  Value minusInf = floatConstant(b, rowVec, -INFINITY);
  forEach(b, idx(b, 0), idx(b, tileK), 1, [&](ImplicitLocOpBuilder &b, Value c) {
    for (int64_t j = 0; j < tileQ / rowLanes; ++j) {
      SmallVector<Value> position{c, idx(b, j * rowLanes)};
      Value bytes = vector::LoadOp::create(b, byteVec, keep, position);
      Value kept = arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bytes,
                                         zeroBytes);
      Value s = vector::LoadOp::create(b, rowVec, scores, position);
      vector::StoreOp::create(b, arith::SelectOp::create(b, kept, s, minusInf),
                              scores, position);
    }
  });
}

void AttentionKernelEmitter::applyScoreRule(ImplicitLocOpBuilder &b,
                                            ArrayRef<Value> keyStart) {
  Type f32 = b.getF32Type();
  Value minusInf = floatConstant(b, f32, -INFINITY);
  Value ln2 = floatConstant(b, f32, M_LN2);
  Value log2e = floatConstant(b, f32, M_LOG2E);
  forEach(b, idx(b, 0), idx(b, tileK), 1, [&](ImplicitLocOpBuilder &b, Value c) {
    SmallVector<Value> kpos = keyPositions(b, c, keyStart);
    forEach(b, idx(b, 0), idx(b, tileQ), 1, [&](ImplicitLocOpBuilder &b, Value r) {
      Value s = memref::LoadOp::create(b, scores, ValueRange{c, r});
      Value masked =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, s, minusInf);
      // Only unmasked pairs run the rule (it may read inputs).
      Value updated = ifThenElse(
          b, masked, f32, [&](ImplicitLocOpBuilder &) { return minusInf; },
          [&](ImplicitLocOpBuilder &in) -> Value {
            SmallVector<Value> args{arith::MulFOp::create(in, s, ln2),
                                    toI64(in, batch), toI64(in, head)};
            for (Value p : queryPositions(in, r))
              args.push_back(toI64(in, p));
            for (Value p : kpos)
              args.push_back(toI64(in, p));
            Value rewritten = inlineRegion(in, op.getScore(), args);
            return arith::MulFOp::create(in, rewritten, log2e);
          });
      memref::StoreOp::create(b, updated, scores, ValueRange{c, r});
    });
  });
}
