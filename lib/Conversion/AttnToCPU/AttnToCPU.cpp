//===- AttnToCPU.cpp - attn.attention to a tiled CPU kernel ---------------===//
//
// Lowers a function holding one `attn.attention` to a kernel in the packed
// calling convention (KernelABI.h) that computes one query tile of one
// (batch, head): the grid is (query tiles, heads, batch) and the host runs it
// on a thread pool. Inside, the kernel walks the key tiles with FuseMax's
// one-pass online softmax (running max, rescaled denominator and numerator,
// exp2 with scale·log2(e) folded into Q). Per key tile, the compiled interval
// analysis of the mask (TileClassification.h) decides:
//   empty   -> skipped: no loads, no math;
//   full    -> no mask code (unless the tile overhangs the sequence end);
//   partial -> the mask region is evaluated per element; tiles where no
//              element survives are skipped too (masks that read tensors).
// Products are register-blocked vector FMAs over small stack buffers.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"

#include "CPULowering.h"

#include "attn/Conversion/KernelABI.h"
#include "attn/Dialect/Attn/Analysis/TileClassification.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Schedules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOCPUPASS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cpu;

namespace {

/// Rows per register block so that rows × chunks accumulators fit in 16
/// vector registers, dividing the tile's rows.
int64_t chooseRowBlock(int64_t chunks, int64_t rows) {
  for (int64_t block : {4, 2})
    if (block * chunks <= 16 && rows % block == 0)
      return block;
  return 1;
}

/// Builds the kernel of one attention function.
/// Whether the mask region is element-wise arithmetic on coordinates and
/// captured scalars only (arith, math, attn.neighborhood; no input reads, no
/// control flow), so one evaluation can cover a vector of queries.
bool isVectorizableMask(Region &mask) {
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

/// Evaluates a vectorizable mask region on vectors of coordinates (one
/// vector per coordinate block argument, `lanes` wide), returning the
/// vector of keep flags. Values captured from above come through `outer`
/// and are broadcast.
Value evaluateMaskVector(ImplicitLocOpBuilder &b, Region &mask,
                         ValueRange coordinates, const IRMapping &outer,
                         int64_t lanes) {
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
  return lookup(cast<YieldOp>(block.getTerminator()).getValues()[0]);
}

class AttentionKernelEmitter {
public:
  AttentionKernelEmitter(func::FuncOp func, AttentionOp op,
                         ScheduleAttr schedule)
      : func(func), op(op), schedule(schedule) {}

  LogicalResult emit();

private:
  LogicalResult checkSupported();
  LogicalResult mapOuterValues(ImplicitLocOpBuilder &b);
  void allocateBuffers(ImplicitLocOpBuilder &b);
  void emitTile(ImplicitLocOpBuilder &b);
  void loadQueryTile(ImplicitLocOpBuilder &b);
  /// Loops over the key tiles, one axis at a time (outermost first), skipping
  /// slabs of tiles the mask analysis proves empty.
  void visitKeyTiles(ImplicitLocOpBuilder &b, SmallVector<Value> keyCoords);
  /// The tile at `keyCoords` (one tile index per token axis).
  void visitKeyTile(ImplicitLocOpBuilder &b, ArrayRef<Value> keyCoords);
  /// Intervals of the coordinates (batch, head, query box, `keyBoxes`) for
  /// the mask analysis.
  SmallVector<Interval> queryAndKeyBoxes(ImplicitLocOpBuilder &b,
                                         ArrayRef<Interval> keyBoxes);
  /// Evaluates the mask on every pair of the tile into the keep flags;
  /// returns whether any pair is kept.
  Value evaluateMask(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart);
  /// The same for masks of element-wise coordinate arithmetic, a vector of
  /// queries at a time.
  Value evaluateMaskVectorized(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart);
  void computeKeyRows(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart);
  /// The f32 value of K or V at element offset `rowOffset + column`.
  Value loadKeyElement(ImplicitLocOpBuilder &b, Value rowOffset, int64_t column);
  Value loadValueVector(ImplicitLocOpBuilder &b, Value rowOffset,
                        int64_t column);
  void computeScores(ImplicitLocOpBuilder &b);
  void applyKeep(ImplicitLocOpBuilder &b);
  void applyScoreRule(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart);
  void updateSoftmax(ImplicitLocOpBuilder &b);
  void accumulateValues(ImplicitLocOpBuilder &b);
  void storeOutput(ImplicitLocOpBuilder &b);

  /// Positions of row `r` of the query tile, per axis (index values).
  SmallVector<Value> queryPositions(ImplicitLocOpBuilder &b, Value r);
  SmallVector<Value> keyPositions(ImplicitLocOpBuilder &b, Value c,
                                  ArrayRef<Value> keyStart);
  Value allBelow(ImplicitLocOpBuilder &b, ArrayRef<Value> positions,
                 ArrayRef<Value> extents);
  Value inlineRegion(ImplicitLocOpBuilder &b, Region &region,
                     ValueRange leading) {
    return regions->inlineRegion(b, region, leading);
  }

  func::FuncOp func;
  AttentionOp op;
  ScheduleAttr schedule;

  unsigned numAxes = 0;
  int64_t headDim = 0, valueDim = 0, lanes = 1, tileQ = 0, tileK = 0;
  /// Vector width over query rows (scores are kept transposed, [key][query],
  /// so the softmax runs across queries without horizontal reductions).
  int64_t rowLanes = 1;
  SmallVector<int64_t> tq, tk;
  VectorType f32Vec, rowVec;

  TensorParam q, k, v, out;
  std::optional<TensorParam> lse;
  SmallVector<TensorParam> inputs;
  std::optional<RegionInliner> regions;

  Value batch, head, kvHead, scaleLog2e;
  SmallVector<Value> queryStart, queryExtent, keyExtent;
  /// Stack buffers: Q transposed and scaled [d][query], scores and keep
  /// flags [key][query], running max / sum / correction per query, the
  /// numerator [query][dv], and the element offsets of the tile's K and V rows.
  Value qt, scores, keep, rowMax, rowSum, correction, acc, keyRows, valueRows;
};

LogicalResult AttentionKernelEmitter::checkSupported() {
  if (failed(checkAttentionFunctionForm(func, op)))
    return failure();
  numAxes = op.getNumTokenAxes();
  headDim = op.getQuery().getType().getShape().back();
  valueDim = op.getValue().getType().getShape().back();
  tq = llvm::to_vector(schedule.getTileQ());
  tk = llvm::to_vector(schedule.getTileKv());
  tileQ = schedule.getQueryTileVolume();
  tileK = schedule.getKeyTileVolume();
  if (schedule.getNumTokenAxes() != numAxes)
    return op.emitOpError("schedule does not match the token axes");
  lanes = chooseLanes({headDim, valueDim});
  rowLanes = chooseLanes({tileQ});
  f32Vec = VectorType::get({lanes}, Float32Type::get(op.getContext()));
  rowVec = VectorType::get({rowLanes}, Float32Type::get(op.getContext()));
  for (Value input : op.getInputs()) {
    Type element = cast<RankedTensorType>(input.getType()).getElementType();
    if (!element.isIntOrFloat())
      return op.emitOpError("inputs must hold integers, floats or booleans");
  }
  return success();
}

LogicalResult AttentionKernelEmitter::mapOuterValues(ImplicitLocOpBuilder &b) {
  SmallVector<const TensorParam *> byArg{&q, &k, &v};
  for (TensorParam &input : inputs)
    byArg.push_back(&input);
  return regions->cloneOuterOps(b, func, op, byArg);
}

void AttentionKernelEmitter::allocateBuffers(ImplicitLocOpBuilder &b) {
  Type f32 = b.getF32Type();
  auto allocate = [&](ArrayRef<int64_t> shape, Type element) -> Value {
    return memref::AllocaOp::create(b, MemRefType::get(shape, element),
                                    b.getI64IntegerAttr(64));
  };
  qt = allocate({headDim, tileQ}, f32);
  scores = allocate({tileK, tileQ}, f32);
  keep = allocate({tileK, tileQ}, b.getI8Type());
  rowMax = allocate({tileQ}, f32);
  rowSum = allocate({tileQ}, f32);
  correction = allocate({tileQ}, f32);
  acc = allocate({tileQ, valueDim}, f32);
  keyRows = allocate({tileK}, b.getIndexType());
  valueRows = allocate({tileK}, b.getIndexType());
}

SmallVector<Value> AttentionKernelEmitter::queryPositions(
    ImplicitLocOpBuilder &b, Value r) {
  SmallVector<Value> positions;
  for (auto [start, offset] : llvm::zip(queryStart, boxOffsets(b, r, tq)))
    positions.push_back(arith::AddIOp::create(b, start, offset));
  return positions;
}

SmallVector<Value> AttentionKernelEmitter::keyPositions(
    ImplicitLocOpBuilder &b, Value c, ArrayRef<Value> keyStart) {
  SmallVector<Value> positions;
  for (auto [start, offset] : llvm::zip(keyStart, boxOffsets(b, c, tk)))
    positions.push_back(arith::AddIOp::create(b, start, offset));
  return positions;
}

Value AttentionKernelEmitter::allBelow(ImplicitLocOpBuilder &b,
                                       ArrayRef<Value> positions,
                                       ArrayRef<Value> extents) {
  Value ok = arith::ConstantIntOp::create(b, true, 1);
  for (auto [p, e] : llvm::zip(positions, extents))
    ok = arith::AndIOp::create(
        b, ok, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, p, e));
  return ok;
}

void AttentionKernelEmitter::loadQueryTile(ImplicitLocOpBuilder &b) {
  Type f32 = b.getF32Type();
  auto elementVec = VectorType::get({lanes}, q.elementType);
  Value zeroVec = floatConstant(b, f32Vec, 0.0);
  Value scaleVec = vector::BroadcastOp::create(b, f32Vec, scaleLog2e);
  // Q is stored transposed ([d][query]) once per query tile, so the score
  // product broadcasts K elements against contiguous query vectors.
  forEach(b, idx(b, 0), idx(b, tileQ), 1, [&](ImplicitLocOpBuilder &b, Value r) {
    SmallVector<Value> pos = queryPositions(b, r);
    Value valid = allBelow(b, pos, queryExtent);
    SmallVector<Value> indices{batch, head};
    llvm::append_range(indices, pos);
    for (int64_t chunk = 0; chunk < headDim / lanes; ++chunk) {
      Value row = ifThenElse(
          b, valid, f32Vec,
          [&](ImplicitLocOpBuilder &in) -> Value {
            Value base = arith::AddIOp::create(in, q.offsetOf(in, indices),
                                               idx(in, chunk * lanes));
            Value loaded = q.load(in, elementVec, q.addressOf(in, base));
            if (q.elementType != f32)
              loaded = arith::ExtFOp::create(in, f32Vec, loaded);
            return arith::MulFOp::create(in, loaded, scaleVec);
          },
          [&](ImplicitLocOpBuilder &) { return zeroVec; });
      for (int64_t lane = 0; lane < lanes; ++lane)
        memref::StoreOp::create(b, vector::ExtractOp::create(b, row, lane), qt,
                                ValueRange{idx(b, chunk * lanes + lane), r});
    }
  });
}

Value AttentionKernelEmitter::evaluateMaskVectorized(
    ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart) {
  Type i64 = b.getI64Type();
  auto indexVec = VectorType::get({rowLanes}, b.getIndexType());
  auto i64Vec = VectorType::get({rowLanes}, i64);
  auto byteVec = VectorType::get({rowLanes}, b.getI8Type());
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
      perAxis[axis] = arith::IndexCastOp::create(
          b, i64Vec, arith::AddIOp::create(b, start, offset));
      inner *= tq[axis];
    }
    queryCoords.push_back(perAxis);
  }
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

Value AttentionKernelEmitter::evaluateMask(ImplicitLocOpBuilder &b,
                                          ArrayRef<Value> keyStart) {
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

void AttentionKernelEmitter::computeKeyRows(ImplicitLocOpBuilder &b,
                                            ArrayRef<Value> keyStart) {
  // K and V are read in place. Keys past the end read the last key instead:
  // their scores are masked and their P is exactly 0, and finite values keep
  // 0 · v from being NaN.
  forEach(b, idx(b, 0), idx(b, tileK), 1, [&](ImplicitLocOpBuilder &b, Value c) {
    SmallVector<Value> indices{batch, kvHead};
    for (auto [p, extent] : llvm::zip(keyPositions(b, c, keyStart), keyExtent))
      indices.push_back(
          arith::MinUIOp::create(b, p, arith::SubIOp::create(b, extent, idx(b, 1))));
    memref::StoreOp::create(b, k.offsetOf(b, indices), keyRows, ValueRange{c});
    memref::StoreOp::create(b, v.offsetOf(b, indices), valueRows, ValueRange{c});
  });
}

Value AttentionKernelEmitter::loadKeyElement(ImplicitLocOpBuilder &b,
                                            Value rowOffset, int64_t column) {
  Value offset = arith::AddIOp::create(b, rowOffset, idx(b, column));
  Value element = k.load(b, k.elementType, k.addressOf(b, offset));
  if (k.elementType != b.getF32Type())
    element = arith::ExtFOp::create(b, b.getF32Type(), element);
  return element;
}

Value AttentionKernelEmitter::loadValueVector(ImplicitLocOpBuilder &b,
                                             Value rowOffset, int64_t column) {
  Value offset = arith::AddIOp::create(b, rowOffset, idx(b, column));
  Value loaded = v.load(b, VectorType::get({lanes}, v.elementType),
                        v.addressOf(b, offset));
  if (v.elementType != b.getF32Type())
    loaded = arith::ExtFOp::create(b, f32Vec, loaded);
  return loaded;
}

void AttentionKernelEmitter::computeScores(ImplicitLocOpBuilder &b) {
  // S^T[key][query] = Σ_d K[key][d] · Q^T[d][query]: each K element is
  // broadcast against the query vectors, keys blocked so that keys × query
  // chunks accumulators fill the vector registers.
  int64_t chunks = tileQ / rowLanes;
  int64_t block = 1;
  for (int64_t candidate : {8, 4, 2})
    if (candidate * chunks <= 16 && tileK % candidate == 0) {
      block = candidate;
      break;
    }
  Value zeroVec = floatConstant(b, rowVec, 0.0);
  forEach(b, idx(b, 0), idx(b, tileK), block, [&](ImplicitLocOpBuilder &b, Value c0) {
    SmallVector<Value> keysOfBlock, rows;
    for (int64_t i = 0; i < block; ++i) {
      keysOfBlock.push_back(arith::AddIOp::create(b, c0, idx(b, i)));
      rows.push_back(memref::LoadOp::create(b, keyRows, ValueRange{keysOfBlock.back()}));
    }
    SmallVector<Value> init(block * chunks, zeroVec);
    SmallVector<Value> sums = forEachCarry(
        b, idx(b, 0), idx(b, headDim), 1, init,
        [&](ImplicitLocOpBuilder &b, Value d, ValueRange carried) {
          SmallVector<Value> queries;
          for (int64_t j = 0; j < chunks; ++j)
            queries.push_back(vector::LoadOp::create(
                b, rowVec, qt, ValueRange{d, idx(b, j * rowLanes)}));
          SmallVector<Value> next(carried);
          for (int64_t i = 0; i < block; ++i) {
            Value offset = arith::AddIOp::create(b, rows[i], d);
            Value element = k.load(b, k.elementType, k.addressOf(b, offset));
            if (k.elementType != b.getF32Type())
              element = arith::ExtFOp::create(b, b.getF32Type(), element);
            Value kVec = vector::BroadcastOp::create(b, rowVec, element);
            for (int64_t j = 0; j < chunks; ++j)
              next[i * chunks + j] = vector::FMAOp::create(
                  b, kVec, queries[j], next[i * chunks + j]);
          }
          return next;
        });
    for (int64_t i = 0; i < block; ++i)
      for (int64_t j = 0; j < chunks; ++j)
        vector::StoreOp::create(b, sums[i * chunks + j], scores,
                                ValueRange{keysOfBlock[i], idx(b, j * rowLanes)});
  });
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

void AttentionKernelEmitter::updateSoftmax(ImplicitLocOpBuilder &b) {
  Value minusInf = floatConstant(b, rowVec, -INFINITY);
  Value zeroVec = floatConstant(b, rowVec, 0.0);
  // Vectors run across queries: the row statistics are element-wise maxima
  // and sums over the keys of the tile.
  for (int64_t j = 0; j < tileQ / rowLanes; ++j) {
    Value column = idx(b, j * rowLanes);
    Value tileMax = forEachCarry(
        b, idx(b, 0), idx(b, tileK), 1, ValueRange{minusInf},
        [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
          Value s = vector::LoadOp::create(b, rowVec, scores, ValueRange{c, column});
          return SmallVector<Value>{arith::MaximumFOp::create(b, carried[0], s)};
        })[0];
    Value oldMax = vector::LoadOp::create(b, rowVec, rowMax, ValueRange{column});
    Value newMax = arith::MaximumFOp::create(b, oldMax, tileMax);
    // A row with nothing kept so far subtracts 0, so exp2(-inf) stays 0 and
    // no -inf - -inf = NaN appears.
    Value empty =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, newMax, minusInf);
    Value reference = arith::SelectOp::create(b, empty, zeroVec, newMax);
    Value factor = emitExp2(b, arith::SubFOp::create(b, oldMax, reference));
    vector::StoreOp::create(b, factor, correction, ValueRange{column});
    Value tileSum = forEachCarry(
        b, idx(b, 0), idx(b, tileK), 1, ValueRange{zeroVec},
        [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
          Value s = vector::LoadOp::create(b, rowVec, scores, ValueRange{c, column});
          Value p = emitExp2(b, arith::SubFOp::create(b, s, reference));
          vector::StoreOp::create(b, p, scores, ValueRange{c, column});
          return SmallVector<Value>{arith::AddFOp::create(b, carried[0], p)};
        })[0];
    Value oldSum = vector::LoadOp::create(b, rowVec, rowSum, ValueRange{column});
    vector::StoreOp::create(
        b,
        arith::AddFOp::create(b, arith::MulFOp::create(b, oldSum, factor),
                              tileSum),
        rowSum, ValueRange{column});
    vector::StoreOp::create(b, newMax, rowMax, ValueRange{column});
  }
  forEach(b, idx(b, 0), idx(b, tileQ), 1, [&](ImplicitLocOpBuilder &b, Value r) {
    Value factor = vector::BroadcastOp::create(
        b, f32Vec, memref::LoadOp::create(b, correction, ValueRange{r}));
    for (int64_t j = 0; j < valueDim / lanes; ++j) {
      SmallVector<Value> at{r, idx(b, j * lanes)};
      Value a = vector::LoadOp::create(b, f32Vec, acc, at);
      vector::StoreOp::create(b, arith::MulFOp::create(b, a, factor), acc, at);
    }
  });
}

void AttentionKernelEmitter::accumulateValues(ImplicitLocOpBuilder &b) {
  int64_t chunks = valueDim / lanes;
  int64_t block = chooseRowBlock(chunks, tileQ);
  forEach(b, idx(b, 0), idx(b, tileQ), block, [&](ImplicitLocOpBuilder &b, Value r0) {
    SmallVector<Value> rows, init;
    for (int64_t i = 0; i < block; ++i)
      rows.push_back(arith::AddIOp::create(b, r0, idx(b, i)));
    for (int64_t i = 0; i < block; ++i)
      for (int64_t j = 0; j < chunks; ++j)
        init.push_back(vector::LoadOp::create(
            b, f32Vec, acc, ValueRange{rows[i], idx(b, j * lanes)}));
    SmallVector<Value> sums = forEachCarry(
        b, idx(b, 0), idx(b, tileK), 1, init,
        [&](ImplicitLocOpBuilder &b, Value c, ValueRange carried) {
          Value row = memref::LoadOp::create(b, valueRows, ValueRange{c});
          SmallVector<Value> values;
          for (int64_t j = 0; j < chunks; ++j)
            values.push_back(loadValueVector(b, row, j * lanes));
          SmallVector<Value> next(carried);
          for (int64_t i = 0; i < block; ++i) {
            Value p = memref::LoadOp::create(b, scores, ValueRange{c, rows[i]});
            Value pVec = vector::BroadcastOp::create(b, f32Vec, p);
            for (int64_t j = 0; j < chunks; ++j)
              next[i * chunks + j] = vector::FMAOp::create(
                  b, pVec, values[j], next[i * chunks + j]);
          }
          return next;
        });
    for (int64_t i = 0; i < block; ++i)
      for (int64_t j = 0; j < chunks; ++j)
        vector::StoreOp::create(b, sums[i * chunks + j], acc,
                                ValueRange{rows[i], idx(b, j * lanes)});
  });
}

SmallVector<Interval>
AttentionKernelEmitter::queryAndKeyBoxes(ImplicitLocOpBuilder &b,
                                         ArrayRef<Interval> keyBoxes) {
  SmallVector<Interval> boxes{{toI64(b, batch), toI64(b, batch)},
                              {toI64(b, head), toI64(b, head)}};
  for (auto [axis, start] : llvm::enumerate(queryStart))
    boxes.push_back(tileInterval(b, start, tq[axis], queryExtent[axis]));
  llvm::append_range(boxes, keyBoxes);
  return boxes;
}

void AttentionKernelEmitter::visitKeyTiles(ImplicitLocOpBuilder &b,
                                           SmallVector<Value> keyCoords) {
  unsigned axis = keyCoords.size();
  if (axis == numAxes)
    return visitKeyTile(b, keyCoords);
  Value count = ceilDiv(b, keyExtent[axis], tk[axis]);
  forEach(b, idx(b, 0), count, 1, [&](ImplicitLocOpBuilder &b, Value coord) {
    SmallVector<Value> coords = keyCoords;
    coords.push_back(coord);
    if (axis + 1 == numAxes || !op.hasMask())
      return visitKeyTiles(b, coords);
    // Skip a whole slab of key tiles (these coordinates on the outer axes,
    // anything on the inner ones) when the mask keeps nothing in it: a 2-D
    // neighborhood then classifies a few rows of key tiles, not all of them.
    SmallVector<Interval> keyBoxes;
    for (unsigned a = 0; a < numAxes; ++a) {
      if (a < coords.size()) {
        Value start = arith::MulIOp::create(b, coords[a], idx(b, tk[a]));
        keyBoxes.push_back(tileInterval(b, start, tk[a], keyExtent[a]));
      } else {
        keyBoxes.push_back(
            {toI64(b, idx(b, 0)),
             toI64(b, arith::SubIOp::create(b, keyExtent[a], idx(b, 1)))});
      }
    }
    MaybeBool slab = emitMaskClassification(
        b, b.getLoc(), op.getMask(), queryAndKeyBoxes(b, keyBoxes),
        regions->outer());
    ifThen(b, slab.mayBeTrue,
           [&](ImplicitLocOpBuilder &b) { visitKeyTiles(b, coords); });
  });
}

void AttentionKernelEmitter::visitKeyTile(ImplicitLocOpBuilder &b,
                                          ArrayRef<Value> keyCoords) {
  SmallVector<Value> keyStart;
  Value ragged = arith::ConstantIntOp::create(b, false, 1);
  SmallVector<Interval> keyBoxes;
  for (auto [axis, coord] : llvm::enumerate(keyCoords)) {
    Value start = arith::MulIOp::create(b, coord, idx(b, tk[axis]));
    keyStart.push_back(start);
    Value end = arith::AddIOp::create(b, start, idx(b, tk[axis]));
    ragged = arith::OrIOp::create(
        b, ragged,
        arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, end, keyExtent[axis]));
    keyBoxes.push_back(tileInterval(b, start, tk[axis], keyExtent[axis]));
  }
  SmallVector<Interval> boxes = queryAndKeyBoxes(b, keyBoxes);

  Value mayKeep = arith::ConstantIntOp::create(b, true, 1);
  Value mayDrop = arith::ConstantIntOp::create(b, false, 1);
  if (op.hasMask()) {
    MaybeBool cls = emitMaskClassification(b, b.getLoc(), op.getMask(), boxes,
                                           regions->outer());
    mayKeep = cls.mayBeTrue;
    mayDrop = cls.mayBeFalse;
  }
  Value needMask = arith::OrIOp::create(b, mayDrop, ragged);
  ifThen(b, mayKeep, [&](ImplicitLocOpBuilder &b) {
    Value anyKept = ifThenElse(
        b, needMask, b.getI1Type(),
        [&](ImplicitLocOpBuilder &in) { return evaluateMask(in, keyStart); },
        [&](ImplicitLocOpBuilder &in) -> Value {
          return arith::ConstantIntOp::create(in, true, 1);
        });
    ifThen(b, anyKept, [&](ImplicitLocOpBuilder &b) {
      computeKeyRows(b, keyStart);
      computeScores(b);
      ifThen(b, needMask, [&](ImplicitLocOpBuilder &b) { applyKeep(b); });
      if (op.hasScore())
        applyScoreRule(b, keyStart);
      updateSoftmax(b);
      accumulateValues(b);
    });
  });
}

void AttentionKernelEmitter::storeOutput(ImplicitLocOpBuilder &b) {
  Type f32 = b.getF32Type();
  Value zeroF = floatConstant(b, f32, 0.0);
  Value ln2 = floatConstant(b, f32, M_LN2);
  Value minusInf = floatConstant(b, f32, -INFINITY);
  auto outVec = VectorType::get({lanes}, out.elementType);
  forEach(b, idx(b, 0), idx(b, tileQ), 1, [&](ImplicitLocOpBuilder &b, Value r) {
    SmallVector<Value> pos = queryPositions(b, r);
    ifThen(b, allBelow(b, pos, queryExtent), [&](ImplicitLocOpBuilder &b) {
      SmallVector<Value> indices{batch, head};
      llvm::append_range(indices, pos);
      Value sum = memref::LoadOp::create(b, rowSum, ValueRange{r});
      Value kept =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, zeroF);
      // A fully masked row gives 0 and lse -inf, never NaN.
      Value inverse = arith::SelectOp::create(
          b, kept, arith::DivFOp::create(b, floatConstant(b, f32, 1.0), sum),
          zeroF);
      Value inverseVec = vector::BroadcastOp::create(b, f32Vec, inverse);
      Value base = out.offsetOf(b, indices);
      for (int64_t j = 0; j < valueDim / lanes; ++j) {
        Value a = vector::LoadOp::create(b, f32Vec, acc,
                                         ValueRange{r, idx(b, j * lanes)});
        Value o = arith::MulFOp::create(b, a, inverseVec);
        if (out.elementType != f32)
          o = arith::TruncFOp::create(b, outVec, o);
        out.store(b, o,
                  out.addressOf(b, arith::AddIOp::create(b, base, idx(b, j * lanes))));
      }
      if (lse) {
        Value max = memref::LoadOp::create(b, rowMax, ValueRange{r});
        Value value = arith::AddFOp::create(
            b, arith::MulFOp::create(b, max, ln2),
            math::LogOp::create(b, arith::SelectOp::create(
                                       b, kept, sum, floatConstant(b, f32, 1.0))));
        value = arith::SelectOp::create(b, kept, value, minusInf);
        lse->store(b, value, lse->addressOf(b, lse->offsetOf(b, indices)));
      }
    });
  });
}

void AttentionKernelEmitter::emitTile(ImplicitLocOpBuilder &b) {
  Type f32 = b.getF32Type();
  // Reset the running state of this query tile.
  Value minusInf = floatConstant(b, f32, -INFINITY);
  Value zeroF = floatConstant(b, f32, 0.0);
  Value zeroVec = floatConstant(b, f32Vec, 0.0);
  forEach(b, idx(b, 0), idx(b, tileQ), 1, [&](ImplicitLocOpBuilder &b, Value r) {
    memref::StoreOp::create(b, minusInf, rowMax, ValueRange{r});
    memref::StoreOp::create(b, zeroF, rowSum, ValueRange{r});
    memref::StoreOp::create(b, zeroF, correction, ValueRange{r});
    for (int64_t j = 0; j < valueDim / lanes; ++j)
      vector::StoreOp::create(b, zeroVec, acc, ValueRange{r, idx(b, j * lanes)});
  });
  loadQueryTile(b);
  visitKeyTiles(b, {});
  storeOutput(b);
}

LogicalResult AttentionKernelEmitter::emit() {
  if (failed(checkSupported()))
    return failure();
  MLIRContext *ctx = func.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  OpBuilder top(func);
  auto kernel = func::FuncOp::create(top, func.getLoc(), func.getName(),
                                     FunctionType::get(ctx, {ptrType}, {}));
  kernel->setAttr("attn.kernel", UnitAttr::get(ctx));
  kernel->setAttr("attn.schedule", schedule);
  Block *entry = kernel.addEntryBlock();
  ImplicitLocOpBuilder b = ImplicitLocOpBuilder::atBlockEnd(func.getLoc(), entry);

  PackedArgReader reader(b, entry->getArgument(0));
  Value queryTile = reader.nextIndex();
  head = reader.nextIndex();
  batch = reader.nextIndex();
  SmallVector<RankedTensorType> types;
  for (Type t : func.getArgumentTypes())
    types.push_back(cast<RankedTensorType>(t));
  for (Type t : func.getResultTypes())
    types.push_back(cast<RankedTensorType>(t));
  SmallVector<TensorParam> params = reader.readTensors(types);
  for (TensorParam &param : params)
    if (param.elementType.isInteger(1))
      param.elementType = b.getI8Type();
  q = params[0];
  k = params[1];
  v = params[2];
  unsigned numInputs = op.getInputs().size();
  inputs.assign(params.begin() + 3, params.begin() + 3 + numInputs);
  out = params[3 + numInputs];
  if (op.getLse())
    lse = params[4 + numInputs];
  regions.emplace(b, inputs, op.getInputs().getTypes());

  if (failed(mapOuterValues(b)))
    return kernel.erase(), failure();

  // q head h reads kv head h / (H / G).
  Value groupSize = arith::DivUIOp::create(b, q.sizes[1], k.sizes[1]);
  kvHead = arith::DivUIOp::create(b, head, groupSize);
  Type f32 = b.getF32Type();
  Value scale = op.getScale() ? regions->outer().lookupOrDefault(op.getScale())
                              : floatConstant(b, f32, 1.0 / std::sqrt(headDim));
  scaleLog2e = arith::MulFOp::create(b, scale, floatConstant(b, f32, M_LOG2E));
  for (unsigned axis = 0; axis < numAxes; ++axis) {
    queryExtent.push_back(q.sizes[2 + axis]);
    keyExtent.push_back(k.sizes[2 + axis]);
  }
  SmallVector<Value> queryCounts;
  for (auto [extent, tile] : llvm::zip(queryExtent, tq))
    queryCounts.push_back(ceilDiv(b, extent, tile));
  for (auto [axis, coord] :
       llvm::enumerate(gridCoordinates(b, queryTile, queryCounts)))
    queryStart.push_back(arith::MulIOp::create(b, coord, idx(b, tq[axis])));

  allocateBuffers(b);
  emitTile(b);
  func::ReturnOp::create(b);

  regions->eraseUnusedPlaceholders();
  func.erase();
  return success();
}

struct ConvertAttnToCPUPass
    : mlir::attn::impl::ConvertAttnToCPUPassBase<ConvertAttnToCPUPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::pair<func::FuncOp, AttentionOp>> work;
    SmallVector<std::pair<func::FuncOp, LinearAttentionOp>> linear;
    SmallVector<func::FuncOp> cascades;
    WalkResult result = getOperation().walk([&](func::FuncOp func) {
      SmallVector<AttentionOp> ops;
      func.walk([&](AttentionOp op) { ops.push_back(op); });
      SmallVector<LinearAttentionOp> linearOps;
      func.walk([&](LinearAttentionOp op) { linearOps.push_back(op); });
      if (!linearOps.empty()) {
        if (linearOps.size() > 1 || !ops.empty()) {
          func.emitError("a kernel function holds one attn.linear_attention "
                         "and no other attention op");
          return WalkResult::interrupt();
        }
        linear.push_back({func, linearOps.front()});
        return WalkResult::advance();
      }
      if (ops.empty()) {
        if (isCascadeFunction(func))
          cascades.push_back(func);
        return WalkResult::advance();
      }
      if (ops.size() > 1) {
        func.emitError("a kernel function holds one attn.attention");
        return WalkResult::interrupt();
      }
      work.push_back({func, ops.front()});
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (auto [func, op] : work) {
      ScheduleAttr schedule = op.getScheduleAttr();
      if (!schedule)
        schedule = defaultSchedule(op, ScheduleTarget::cpu);
      if (failed(AttentionKernelEmitter(func, op, schedule).emit()))
        return signalPassFailure();
    }
    for (auto [func, op] : linear)
      if (failed(lowerLinearAttentionFunction(func, op)))
        return signalPassFailure();
    for (func::FuncOp func : cascades)
      if (failed(lowerCascadeFunction(func)))
        return signalPassFailure();
  }
};

} // namespace
