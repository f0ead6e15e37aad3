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
// Reads of input tensors in the mask are bounded for the analysis by scans of
// the inputs (TileRanges.h): reads that depend on the query tile only once
// per query tile, before the key tiles; the others per key tile, up to
// kScanVolume elements.
// Products are register-blocked vector FMAs over small stack buffers.
//
// This file holds the pass, the kernel's entry (arguments, query tile, output)
// and the key tile walk; the per-tile steps are in TileMask.cpp (mask) and
// TileMath.cpp (scores, softmax update, P·V), the emitter class they share in
// AttentionKernel.h.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"

#include "AttentionKernel.h"

#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/NeighborhoodWindows.h"
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
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOCPUPASS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cpu;

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
  if (failed(checkTileDilations(op, schedule)))
    return failure();
  for (unsigned axis = 0; axis < numAxes; ++axis)
    dilations.push_back(schedule.getDilation(axis));
  lanes = chooseLanes({headDim, valueDim});
  rowLanes = chooseLanes({tileQ});
  f32Vec = VectorType::get({lanes}, Float32Type::get(op.getContext()));
  rowVec = VectorType::get({rowLanes}, Float32Type::get(op.getContext()));
  for (Value input : op.getInputs()) {
    Type element = cast<RankedTensorType>(input.getType()).getElementType();
    if (!element.isIntOrFloat())
      return op.emitOpError("inputs must hold integers, floats or booleans");
  }
  analyzeMask();
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
  for (auto [axis, factors] : llvm::enumerate(axisFactors))
    axisKeep.push_back(allocate({tk[axis], tileQ}, b.getI8Type()));
}

Value AttentionKernelEmitter::tokenOf(ImplicitLocOpBuilder &b, unsigned axis,
                                      Value p) {
  return classPosition(b, p, residues[axis], dilations[axis]);
}

SmallVector<Value> AttentionKernelEmitter::queryPositions(
    ImplicitLocOpBuilder &b, Value r) {
  SmallVector<Value> positions;
  for (auto [axis, start, offset] :
       llvm::enumerate(queryStart, boxOffsets(b, r, tq)))
    positions.push_back(
        tokenOf(b, axis, arith::AddIOp::create(b, start, offset)));
  return positions;
}

SmallVector<Value> AttentionKernelEmitter::keyPositions(
    ImplicitLocOpBuilder &b, Value c, ArrayRef<Value> keyStart) {
  SmallVector<Value> positions;
  for (auto [axis, start, offset] :
       llvm::enumerate(keyStart, boxOffsets(b, c, tk)))
    positions.push_back(
        tokenOf(b, axis, arith::AddIOp::create(b, start, offset)));
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

SmallVector<Interval>
AttentionKernelEmitter::queryAndKeyBoxes(ImplicitLocOpBuilder &b,
                                         ArrayRef<Interval> keyBoxes) {
  SmallVector<Interval> boxes{{toI64(b, batch), toI64(b, batch)},
                              {toI64(b, head), toI64(b, head)}};
  for (auto [axis, start] : llvm::enumerate(queryStart))
    boxes.push_back(dilatedTileInterval(b, start, tq[axis], queryExtent[axis],
                                        residues[axis], dilations[axis]));
  llvm::append_range(boxes, keyBoxes);
  return boxes;
}

void AttentionKernelEmitter::visitKeyTiles(ImplicitLocOpBuilder &b,
                                           SmallVector<Value> keyCoords) {
  unsigned axis = keyCoords.size();
  if (axis == numAxes)
    return visitKeyTile(b, keyCoords);
  Value count = keyTileCount(b, axis);
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
        Value start = keyTileStart(b, a, coords[a]);
        keyBoxes.push_back(dilatedTileInterval(b, start, tk[a], keyExtent[a],
                                               residues[a], dilations[a]));
      } else {
        keyBoxes.push_back(
            {toI64(b, idx(b, 0)),
             toI64(b, arith::SubIOp::create(b, keyExtent[a], idx(b, 1)))});
      }
    }
    MaybeBool slab = emitMaskClassification(
        b, b.getLoc(), op.getMask(), queryAndKeyBoxes(b, keyBoxes),
        regions->outer(), inputRangeFn());
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
    Value start = keyTileStart(b, axis, coord);
    keyStart.push_back(start);
    // Ragged: the tile's last position lies past the extent.
    Value last = tokenOf(b, axis,
                         arith::AddIOp::create(b, start, idx(b, tk[axis] - 1)));
    ragged = arith::OrIOp::create(
        b, ragged,
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, last,
                              keyExtent[axis]));
    keyBoxes.push_back(dilatedTileInterval(b, start, tk[axis], keyExtent[axis],
                                           residues[axis], dilations[axis]));
  }
  SmallVector<Interval> boxes = queryAndKeyBoxes(b, keyBoxes);

  Value mayKeep = arith::ConstantIntOp::create(b, true, 1);
  Value mayDrop = arith::ConstantIntOp::create(b, false, 1);
  if (op.hasMask()) {
    MaybeBool cls = emitMaskClassification(b, b.getLoc(), op.getMask(), boxes,
                                           regions->outer(), inputRangeFn());
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
  if (op.hasMask() && maskReadsInputs(op.getMask())) {
    // Per key tile, a scan of up to 1024 elements per read costs at most half
    // of evaluating the mask on the tile's 32 x 64 pairs.
    constexpr int64_t kScanVolume = 1024;
    inputRanges.emplace(inputs, 2 + 2 * numAxes, kScanVolume);
    SmallVector<Interval> wholeKeyAxes;
    for (Value extent : keyExtent)
      wholeKeyAxes.push_back(
          {toI64(b, idx(b, 0)),
           toI64(b, arith::SubIOp::create(b, extent, idx(b, 1)))});
    inputRanges->precomputeQuerySide(
        b, op.getMask(), queryAndKeyBoxes(b, wholeKeyAxes), numAxes);
  }
  computeKeyRange(b);
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
  queryTileOrigin(b, queryTile, queryExtent, tq, dilations, queryStart,
                  residues);

  allocateBuffers(b);
  emitTile(b);
  func::ReturnOp::create(b);

  regions->eraseUnusedPlaceholders();
  func.erase();
  return success();
}

/// `schedule` with its tile dilations made explicit (effectiveTileDilations):
/// a dilated axis is tiled one residue class at a time, and its key tiles,
/// which start at the query box's window, span the window in class
/// positions (box + size - 1, as the default schedule sizes them for
/// undilated windows) instead of size·dilation tokens.
static ScheduleAttr withTileDilations(AttentionOp op, ScheduleAttr schedule) {
  SmallVector<int64_t> dilations = effectiveTileDilations(op, schedule);
  if (dilations.empty() || !schedule.getTileDilation().empty())
    return schedule;
  SmallVector<int64_t> tk = llvm::to_vector(schedule.getTileKv());
  SmallVector<NeighborhoodOp> windows = findAxisWindows(op);
  for (auto [axis, d] : llvm::enumerate(dilations)) {
    APInt size;
    if (d == 1 || !windows[axis] ||
        !matchPattern(windows[axis].getSize(), m_ConstantInt(&size)))
      continue;
    int64_t span = schedule.getTileQ()[axis] + size.getSExtValue() - 1;
    if (span >= 1 && span <= 32)
      tk[axis] = span;
  }
  return ScheduleAttr::get(op.getContext(), schedule.getTileQ(), tk,
                           schedule.getWarps(), schedule.getStages(),
                           schedule.getSplitKv(), dilations);
}

namespace {

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
      schedule = withTileDilations(op, schedule);
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
