//===- AttnToNVVM.cpp - attn.attention to an mma.sync CUDA kernel ---------===//
//
// Lowers a function holding one `attn.attention` to a `gpu.func` kernel in a
// `gpu.module`, FlashAttention-2 style (GPU-KERNELS.md §2):
//   * one CTA computes one query tile of one (batch, head); grid =
//     (query tiles, heads, batch); 32 query rows (two m16 tiles) per warp
//     when both head dims are <= 128, else 16, so a 128-row tile is 4 or 8
//     warps;
//   * the Q tile and each 64-key K/V tile are copied to shared memory with
//     16-byte cp.async (ragged rows are zero-filled, no branches); K/V have
//     two stages, the next visited tile's copies run under this tile's math
//     (KeyTileLoop.cpp);
//   * S and O = P·V are m16n8k16 tensor-core products fed by ldmatrix (V with
//     .trans), fp32 accumulators; P never leaves registers: two adjacent S
//     accumulator tiles are exactly the A fragment of P·V;
//   * the online softmax runs in registers: row max and sum over the 4 lanes
//     of a quad by xor shuffles, exp2 with scale·log2(e) folded in (one FMA
//     per exponent when the scale is a positive constant and no score rule);
//   * per key tile the compiled interval analysis of the mask
//     (TileClassification.h) drops empty tiles before the walk (only the
//     visited ones are iterated, KeyTileLoop.cpp) and runs full ones without
//     mask code; partial tiles evaluate the cloned mask region per element
//     and select (straight-line, so LLVM shares the per-row and per-column
//     parts; reads of input tensors are bounds-safe loads, not branches);
//   * fully masked rows write 0 and lse -inf.
// Kernel parameters are exactly cuLaunchKernel's kernelParams: data pointers
// (q, k, v, inputs..., out, lse?), then per tensor its sizes and strides as
// i64 (KernelABI.h). Data pointers and all but the last stride of q, k, v and
// out must be 16-byte aligned; the head dim is unit-stride.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"

#include "KernelEmitter.h"
#include "WarpMma.h"
#include "WarpgroupMma.h"
#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/LoweringUtils.h"
#include "attn/Conversion/NeighborhoodWindows.h"
#include "attn/Dialect/Attn/Analysis/TileClassification.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Schedules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTONVVMPASS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::gpu_kernel;

Value gpu_kernel::assumeRange(ImplicitLocOpBuilder &b, Value value,
                              int64_t lower, int64_t upper) {
  return AssumeRangeOp::create(b, value.getType(), value,
                               b.getI64IntegerAttr(lower),
                               b.getI64IntegerAttr(upper));
}

Value gpu_kernel::f32c(ImplicitLocOpBuilder &b, double v) {
  return floatConstant(b, b.getF32Type(), v);
}

SmallVector<Value>
gpu_kernel::ifThenElseN(ImplicitLocOpBuilder &b, Value cond, TypeRange types,
            function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> then,
            function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> otherwise) {
  auto ifOp = scf::IfOp::create(b, types, cond, /*withElse=*/true);
  ImplicitLocOpBuilder thenB =
      ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), ifOp.thenBlock());
  scf::YieldOp::create(thenB, then(thenB));
  ImplicitLocOpBuilder elseB =
      ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), ifOp.elseBlock());
  scf::YieldOp::create(elseB, otherwise(elseB));
  return SmallVector<Value>(ifOp.getResults());
}

/// The tile shapes the kernel supports: 16 query rows per warp (64 or 128
/// per CTA) and 64-key tiles. Schedules of other volumes are replaced.
static ScheduleAttr normalizeSchedule(AttentionOp op, ScheduleAttr schedule) {
  auto volume = [](ArrayRef<int64_t> tile) {
    int64_t v = 1;
    for (int64_t t : tile)
      v *= t;
    return v;
  };
  if (schedule && (volume(schedule.getTileQ()) == 64 ||
                   volume(schedule.getTileQ()) == 128) &&
      volume(schedule.getTileKv()) == kKeyTile) {
    // A schedule without tile_dilation gets the default; an explicit one
    // (all 1: contiguous tiles) is kept.
    if (!schedule.getTileDilation().empty())
      return schedule;
    return ScheduleAttr::get(op.getContext(), schedule.getTileQ(),
                             schedule.getTileKv(), schedule.getWarps(),
                             schedule.getStages(), schedule.getSplitKv(),
                             residueClassDilations(op));
  }
  unsigned axes = op.getNumTokenAxes();
  SmallVector<int64_t> tq(axes, 1), tk(axes, 1);
  if (axes == 1) {
    tq[0] = 128;
    tk[0] = 64;
  } else if (axes == 2) {
    tq = {4, 16};
    tk = {16, 4};
  } else {
    tq[axes - 1] = 8;
    tq[axes - 2] = 8;
    tk[axes - 1] = 4;
    tk[axes - 2] = 4;
    tk[axes - 3] = 4;
  }
  return ScheduleAttr::get(op.getContext(), tq, tk, volume(tq) / 16, 2, 1,
                          residueClassDilations(op));
}

LogicalResult KernelEmitter::checkSupported() {
  if (failed(checkAttentionFunctionForm(func, op)))
    return failure();
  elementType = op.getQuery().getType().getElementType();
  if (!elementType.isF16() && !elementType.isBF16())
    return op.emitOpError("not supported on cuda yet: q/k/v of ")
           << elementType << " (the mma.sync kernel takes f16 or bf16)";
  if (op.getKey().getType().getElementType() != elementType ||
      op.getValue().getType().getElementType() != elementType)
    return op.emitOpError("not supported on cuda yet: q, k and v of "
                          "different element types");
  headDim = op.getQuery().getType().getShape().back();
  valueDim = op.getValue().getType().getShape().back();
  if (headDim % 16 || valueDim % 16 || headDim > 256 || valueDim > 256)
    return op.emitOpError("not supported on cuda yet: head dims must be "
                          "multiples of 16 up to 256, got ")
           << headDim << " and " << valueDim;
  tq = llvm::to_vector(schedule.getTileQ());
  tk = llvm::to_vector(schedule.getTileKv());
  tileQ = schedule.getQueryTileVolume();
  // Two m-tiles (32 query rows) per warp halve the shared-memory reads per
  // product (FA2's layout); their O accumulators (valueDim / 2 registers per
  // m-tile) only fit for value dims up to 128.
  mTiles = valueDim <= 128 && headDim <= 128 && tileQ % 32 == 0 ? 2 : 1;
  // Hopper: one warpgroup per 64 query rows, each warp one m16 tile of it;
  // wgmma reads Q, K and V from shared memory itself, so no ldmatrix
  // fragments occupy registers. Head dims must fill whole 128-B swizzle
  // rows (64 or 128 columns).
  auto swizzleFits = [](int64_t dim) { return dim == 64 || dim == 128; };
  // Several token axes (neighborhoods) too, with one warpgroup per CTA and
  // four CTAs per SM (below): on the H200 NA-2D 13x13 ran 69.6 effective
  // TFLOP/s so against 58.5 with mma.sync (two warps, 255 registers, eight
  // warps per SM); with two CTAs per SM wgmma ran 56.0.
  wgmma = hopper && swizzleFits(headDim) && swizzleFits(valueDim) &&
          tileQ % 64 == 0;
  if (wgmma)
    mTiles = 1;
  waitForPVAtOnce = op.getNumTokenAxes() > 1;
  rowsPerWarp = 16 * mTiles;
  warps = tileQ / rowsPerWarp;
  threads = warps * 32;
  for (Value input : op.getInputs()) {
    Type element = cast<RankedTensorType>(input.getType()).getElementType();
    if (!element.isIntOrFloat())
      return op.emitOpError("inputs must hold integers, floats or booleans");
  }
  if (failed(checkTileDilations(op, schedule)))
    return failure();
  for (unsigned axis = 0; axis < op.getNumTokenAxes(); ++axis)
    dilations.push_back(schedule.getDilation(axis));
  // A position is a tile start inside the extent plus less than a dilated
  // tile and one residue class.
  int64_t span = 0;
  for (auto [axis, d] : llvm::enumerate(dilations))
    span = std::max(span, d * (std::max(tq[axis], tk[axis]) + 1));
  if (span <= kMaxTileSpan)
    positionBound = kMaxKernelExtent + kMaxTileSpan;
  return success();
}

SmallVector<Value> KernelEmitter::positionsOf(ImplicitLocOpBuilder &b, Value row,
                                              ArrayRef<Value> start,
                                              ArrayRef<int64_t> tile) {
  return positionsAt(b, boxOffsets(b, row, tile), start);
}

SmallVector<Value> KernelEmitter::fragmentPositions(ImplicitLocOpBuilder &b,
                                                    bool isRow,
                                                    int64_t staticPart,
                                                    ArrayRef<Value> start,
                                                    PositionCache &cache) {
  std::pair<int, int64_t> key{isRow, staticPart};
  if (auto found = cache.find(key); found != cache.end())
    return found->second;
  ArrayRef<int64_t> tile = isRow ? ArrayRef<int64_t>(tq) : ArrayRef<int64_t>(tk);
  // The thread's part: rows warp·rowsPerWarp + g, columns 2t.
  auto dynamicPart = [&](ImplicitLocOpBuilder &at) -> Value {
    return isRow ? Value(arith::AddIOp::create(
                       at, arith::MulIOp::create(at, warp, idx(at, rowsPerWarp)),
                       g))
                 : Value(arith::MulIOp::create(at, t, idx(at, 2)));
  };
  // The element's position is the thread's part plus a constant; split into
  // digits (carryFreeOffsets), elements sharing a row or a column get the
  // same position values.
  SmallVector<int64_t> dynamicValues;
  if (isRow) {
    for (int64_t w = 0; w < warps; ++w)
      for (int64_t lane8 = 0; lane8 < 8; ++lane8)
        dynamicValues.push_back(w * rowsPerWarp + lane8);
  } else {
    for (int64_t quad = 0; quad < 4; ++quad)
      dynamicValues.push_back(2 * quad);
  }
  // The thread part's digits, once per cache (key: isRow + 2).
  std::pair<int, int64_t> digitsKey{isRow + 2, 0};
  if (!cache.count(digitsKey))
    cache[digitsKey] = boxOffsets(b, dynamicPart(b), tile);
  SmallVector<Value> offsets = carryFreeOffsets(b, cache[digitsKey],
                                                dynamicValues, staticPart, tile);
  if (offsets.empty())
    offsets = boxOffsets(
        b, arith::AddIOp::create(b, dynamicPart(b), idx(b, staticPart)), tile);
  SmallVector<Value> positions = positionsAt(b, offsets, start);
  cache[key] = positions;
  return positions;
}

SmallVector<Value> KernelEmitter::positionsAt(ImplicitLocOpBuilder &b,
                                              ArrayRef<Value> offsets,
                                              ArrayRef<Value> start) {
  SmallVector<Value> pos;
  for (auto [axis, s, o] : llvm::enumerate(start, offsets)) {
    if (dilations[axis] == 1) {
      pos.push_back(arith::AddIOp::create(b, s, o));
      continue;
    }
    // Positions are small and non-negative: the no-wrap flags let LLVM see
    // that (r + d·p) div d is p and mod d is r in the mask's window rule,
    // instead of emitting signed i64 division sequences per element. (On
    // contiguous axes the same flags made NA-2D's mask code longer.)
    auto flags =
        arith::IntegerOverflowFlags::nsw | arith::IntegerOverflowFlags::nuw;
    pos.push_back(classPosition(b, arith::AddIOp::create(b, s, o, flags),
                                residues[axis], dilations[axis], flags));
  }
  return pos;
}

Interval KernelEmitter::axisInterval(ImplicitLocOpBuilder &b, unsigned axis,
                                     Value start, int64_t tile, Value extent) {
  return dilatedTileInterval(b, start, tile, extent, residues[axis],
                             dilations[axis]);
}

Value KernelEmitter::allBelow(ImplicitLocOpBuilder &b, ArrayRef<Value> pos,
                              ArrayRef<Value> extent) {
  Value ok = arith::ConstantIntOp::create(b, true, 1);
  for (auto [p, e] : llvm::zip(pos, extent))
    ok = arith::AndIOp::create(
        b, ok, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, p, e));
  return ok;
}

Value KernelEmitter::tileChunkOffset(ImplicitLocOpBuilder &b, Value row,
                                     Value chunk, int64_t rows, int64_t dim) {
  if (wgmma)
    return swizzledChunkOffset(b, row, chunk, rows);
  return arith::AddIOp::create(
      b, arith::MulIOp::create(b, row, idx(b, (dim + kPad) * 2)),
      arith::MulIOp::create(b, chunk, idx(b, 16)));
}

int64_t KernelEmitter::tileBytes(int64_t rows, int64_t dim) const {
  return wgmma ? rows * dim * 2 : rows * (dim + kPad) * 2;
}

void KernelEmitter::loadTile(ImplicitLocOpBuilder &b, const TensorParam &param,
                             Value headIndex, ArrayRef<Value> start,
                             ArrayRef<Value> extent, ArrayRef<int64_t> tile,
                             int64_t rows, int64_t dim, Value smem) {
  int64_t chunks = dim / 8;
  // Copy `it` moves row tid / chunks + it · threads / chunks, chunk
  // tid % chunks: the thread's row digits are split once and each copy adds
  // constants (carryFreeOffsets) instead of dividing per copy. Addresses are
  // linear in those digits: the thread's first element offset is computed
  // once per tile and each copy adds its digits times the strides, where
  // products of positions and strides per copy were most of the copy code.
  bool rowsAlign = threads % chunks == 0;
  Value threadRow, threadChunk, threadOffset;
  SmallVector<int64_t> threadRows;
  SmallVector<Value> threadDigits, tokenStrides;
  if (rowsAlign) {
    threadRow = arith::DivUIOp::create(b, tid, idx(b, chunks));
    threadChunk = arith::RemUIOp::create(b, tid, idx(b, chunks));
    for (int64_t r = 0; r < threads / chunks; ++r)
      threadRows.push_back(r);
    threadDigits = boxOffsets(b, threadRow, tile);
    // Along an axis tiled in residue classes, consecutive class positions
    // are `dilation` tokens apart.
    for (unsigned axis = 0; axis < tile.size(); ++axis)
      tokenStrides.push_back(arith::MulIOp::create(b, param.strides[2 + axis],
                                                   idx(b, dilations[axis])));
    SmallVector<Value> indices{batch, headIndex};
    llvm::append_range(indices, positionsAt(b, threadDigits, start));
    threadOffset =
        arith::AddIOp::create(b, param.offsetOf(b, indices),
                              arith::MulIOp::create(b, threadChunk, idx(b, 8)));
  }
  for (int64_t it = 0; it < rows * chunks / threads; ++it) {
    Value row, chunk, offset;
    SmallVector<Value> offsets;
    if (rowsAlign) {
      row = arith::AddIOp::create(b, threadRow,
                                  idx(b, it * (threads / chunks)));
      chunk = threadChunk;
      offsets = carryFreeOffsets(b, threadDigits, threadRows,
                                 it * (threads / chunks), tile);
      if (!offsets.empty()) {
        offset = idx(b, 0);
        for (auto [axis, digit] :
             llvm::enumerate(boxDigits(it * (threads / chunks), tile)))
          if (digit)
            offset = arith::AddIOp::create(
                b, offset,
                arith::MulIOp::create(b, tokenStrides[axis], idx(b, digit)));
      }
    } else {
      Value id = arith::AddIOp::create(b, tid, idx(b, it * threads));
      row = arith::DivUIOp::create(b, id, idx(b, chunks));
      chunk = arith::RemUIOp::create(b, id, idx(b, chunks));
    }
    if (offsets.empty())
      offsets = boxOffsets(b, row, tile);
    SmallVector<Value> pos = positionsAt(b, offsets, start);
    Value valid = allBelow(b, pos, extent);
    Value address;
    if (offset) {
      // The thread's address plus the copy's (loop-invariant) offset.
      address = LLVM::GEPOp::create(
          b, param.data.getType(), param.elementType,
          param.addressOf(b, threadOffset),
          ValueRange{arith::IndexCastOp::create(b, b.getI64Type(), offset)});
    } else {
      SmallVector<Value> indices{batch, headIndex};
      llvm::append_range(indices, pos);
      address = param.addressOf(
          b, arith::AddIOp::create(b, param.offsetOf(b, indices),
                                   arith::MulIOp::create(b, chunk, idx(b, 8))));
    }
    // Out-of-range rows copy nothing; point them at the base all the same.
    address = arith::SelectOp::create(b, valid, address, param.data);
    Value dst =
        smemOffset(b, smem, tileChunkOffset(b, row, chunk, rows, dim));
    emitCopy16(b, dst, address, valid);
  }
}

std::pair<Value, Value> KernelEmitter::elementCoords(ImplicitLocOpBuilder &b,
                                                     Value e, int64_t m) {
  Value nTile = arith::DivUIOp::create(b, e, idx(b, 4));
  Value within = arith::RemUIOp::create(b, e, idx(b, 4));
  Value half = arith::DivUIOp::create(b, within, idx(b, 2));
  Value odd = arith::RemUIOp::create(b, within, idx(b, 2));
  Value row = arith::AddIOp::create(
      b,
      arith::AddIOp::create(b, arith::MulIOp::create(b, warp, idx(b, rowsPerWarp)),
                            g),
      arith::AddIOp::create(b, arith::MulIOp::create(b, half, idx(b, 8)),
                            idx(b, 16 * m)));
  Value col = arith::AddIOp::create(
      b, arith::AddIOp::create(b, arith::MulIOp::create(b, nTile, idx(b, 8)),
                               arith::MulIOp::create(b, t, idx(b, 2))),
      odd);
  return {row, col};
}

Value KernelEmitter::maskCoordinate(ImplicitLocOpBuilder &b, Value position) {
  Value coordinate = toI64(b, position);
  return positionBound ? assumeRange(b, coordinate, 0, positionBound)
                       : coordinate;
}

/// The position slots (bit per query axis, then per key axis) a value
/// depends on, found by walking its operands back to values of `slots`.
static uint32_t slotsOf(Value v, const PositionSlots &slots,
                        DenseMap<Value, uint32_t> &memo) {
  if (auto found = slots.find(v); found != slots.end())
    return found->second;
  if (auto found = memo.find(v); found != memo.end())
    return found->second;
  uint32_t result = 0;
  if (Operation *def = v.getDefiningOp())
    for (Value operand : def->getOperands())
      result |= slotsOf(operand, slots, memo);
  memo[v] = result;
  return result;
}

/// Splits an i1 at `arith.andi` and at `select(c, x, false)` (a flattened
/// short-circuit `c && x`) into its conjuncts.
static void collectKeptConjuncts(Value v, SmallVectorImpl<Value> &out) {
  if (auto andOp = v.getDefiningOp<arith::AndIOp>()) {
    collectKeptConjuncts(andOp.getLhs(), out);
    collectKeptConjuncts(andOp.getRhs(), out);
    return;
  }
  if (auto select = v.getDefiningOp<arith::SelectOp>();
      select && select.getType().isInteger(1) &&
      matchPattern(select.getFalseValue(), m_Zero())) {
    collectKeptConjuncts(select.getCondition(), out);
    collectKeptConjuncts(select.getTrueValue(), out);
    return;
  }
  if (matchPattern(v, m_One()))
    return;
  out.push_back(v);
}

Value KernelEmitter::conjunctsByPositions(ImplicitLocOpBuilder &b, Value kept,
                                          const PositionSlots &slots) {
  SmallVector<Value> conjuncts;
  collectKeptConjuncts(kept, conjuncts);
  DenseMap<Value, uint32_t> memo;
  SmallVector<uint32_t> deps;
  for (Value c : conjuncts)
    deps.push_back(slotsOf(c, slots, memo));
  // Groups: the slot sets no other conjunct's set strictly contains, in
  // order of first appearance (the same for every element, so that equal
  // groups of different elements are equal ops for CSE).
  SmallVector<uint32_t> groups;
  for (uint32_t d : deps) {
    bool covered = llvm::any_of(
        deps, [&](uint32_t other) { return other != d && (other & d) == d; });
    if (!covered && !llvm::is_contained(groups, d))
      groups.push_back(d);
  }
  Value result;
  for (uint32_t group : groups) {
    Value part;
    for (auto [c, dep] : llvm::zip(conjuncts, deps)) {
      // Each conjunct joins the first group that covers it.
      uint32_t d = dep;
      uint32_t first =
          *llvm::find_if(groups, [&](uint32_t g) { return (g & d) == d; });
      if (first != group)
        continue;
      part = part ? Value(arith::AndIOp::create(b, part, c)) : c;
    }
    result = result ? Value(arith::AndIOp::create(b, result, part)) : part;
  }
  return result ? result : arith::ConstantIntOp::create(b, true, 1);
}

SmallVector<Value> KernelEmitter::keptElements(ImplicitLocOpBuilder &b,
                                               ArrayRef<Value> keyStart,
                                               int64_t m,
                                               PositionCache &cache) {
  // Straight-line over the 32 elements (2 rows x 16 columns) and evaluated
  // unconditionally (input reads are guarded anyway), on positions shared by
  // the elements of a row or a column (fragmentPositions), so that LLVM
  // evaluates what depends on the row alone or the column alone (a
  // neighborhood's window start, doc[b, i]) once, and an axis' test of a
  // separable mask once per distinct pair of positions on that axis.
  //
  // The conjuncts of each element's test are regrouped by the positions they
  // depend on (conjunctsByPositions): a separable mask then costs an AND of
  // shared per-row and per-column parts per element, not a select per
  // conjunct (NA-2D: 3 selects per element before).
  unsigned numAxes = tq.size();
  PositionSlots slots;
  SmallVector<Value> keptBits;
  for (int64_t e = 0; e < 32; ++e) {
    auto [rowPart, colPart] = elementParts(e, m);
    SmallVector<Value> qpos =
        fragmentPositions(b, /*isRow=*/true, rowPart, queryStart, cache);
    SmallVector<Value> kpos =
        fragmentPositions(b, /*isRow=*/false, colPart, keyStart, cache);
    for (unsigned axis = 0; axis < numAxes; ++axis) {
      slots[qpos[axis]] = 1u << axis;
      slots[kpos[axis]] = 1u << (numAxes + axis);
    }
    SmallVector<Value> keyCoords, keyExtents;
    for (auto [p, extent] : llvm::zip(kpos, keyExtent)) {
      keyCoords.push_back(maskCoordinate(b, p));
      keyExtents.push_back(toI64(b, extent));
    }
    // Compared as coordinates, so that the narrowing makes them 32-bit
    // (with 64-bit index compares window ran 348 against 378).
    Value kept = allBelow(b, keyCoords, keyExtents);
    if (op.hasMask()) {
      SmallVector<Value> coords{toI64(b, batch), toI64(b, head)};
      for (Value p : qpos)
        coords.push_back(maskCoordinate(b, p));
      llvm::append_range(coords, keyCoords);
      if (!stagedReads.empty()) {
        Value col = elementCoords(b, idx(b, e), m).second;
        uint32_t allKeyAxes = ((1u << numAxes) - 1) << numAxes;
        regions->setReadOverride([&, col, allKeyAxes](ImplicitLocOpBuilder &at,
                                                      unsigned input,
                                                      ValueRange indices) {
          Value read = stagedRead(at, input, indices, coords, col);
          if (read)
            slots[read] = allKeyAxes;
          return read;
        });
      }
      kept = arith::AndIOp::create(
          b, kept, regions->inlineRegion(b, op.getMask(), coords));
      regions->setReadOverride({});
    }
    keptBits.push_back(conjunctsByPositions(b, kept, slots));
  }
  return keptBits;
}

void KernelEmitter::applyScoreRule(ImplicitLocOpBuilder &b,
                                   ArrayRef<Value> keyStart, int64_t m,
                                   SmallVector<Value> &s) {
  Value minusInf = f32c(b, -INFINITY);
  Value ln2 = f32c(b, M_LN2), log2e = f32c(b, M_LOG2E);
  PositionCache cache;
  for (auto [e, value] : llvm::enumerate(s)) {
    auto [rowPart, colPart] = elementParts(e, m);
    SmallVector<Value> args{arith::MulFOp::create(b, value, ln2),
                            toI64(b, batch), toI64(b, head)};
    for (Value p :
         fragmentPositions(b, /*isRow=*/true, rowPart, queryStart, cache))
      args.push_back(maskCoordinate(b, p));
    for (Value p :
         fragmentPositions(b, /*isRow=*/false, colPart, keyStart, cache))
      args.push_back(maskCoordinate(b, p));
    Value rewritten = arith::MulFOp::create(
        b, regions->inlineRegion(b, op.getScore(), args), log2e);
    // Masked pairs stay masked; the rule itself may also yield -inf.
    Value masked =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, value, minusInf);
    value = arith::SelectOp::create(b, masked, minusInf, rewritten);
  }
}

static LaneOffsets laneOffsets(ImplicitLocOpBuilder &b, Value lane, Value warp,
                               int64_t rowsPerWarp, int64_t headDim,
                               int64_t valueDim) {
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, v); };
  auto mul = [&](Value x, int64_t y) -> Value {
    return arith::MulIOp::create(b, x, c(y));
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, x, y);
  };
  Value mod8 = arith::RemUIOp::create(b, lane, c(8));
  Value mod16 = arith::RemUIOp::create(b, lane, c(16));
  Value div16 = arith::DivUIOp::create(b, lane, c(16));
  Value oct = arith::RemUIOp::create(b, arith::DivUIOp::create(b, lane, c(8)), c(2));
  int64_t qRow = (headDim + kPad) * 2, vRow = (valueDim + kPad) * 2;
  LaneOffsets o;
  o.q = add(mul(add(mul(warp, rowsPerWarp), mod16), qRow), mul(div16, 16));
  o.k = add(mul(add(mul(div16, 8), mod8), qRow), mul(oct, 16));
  o.v = add(mul(add(mul(oct, 8), mod8), vRow), mul(div16, 16));
  return o;
}

SmallVector<SmallVector<Value>>
KernelEmitter::scoreTile(ImplicitLocOpBuilder &b, Value kTile) {
  Value zero = f32c(b, 0.0);
  SmallVector<SmallVector<Value>> s(mTiles, SmallVector<Value>(32, zero));
  if (wgmma) {
    // The warpgroup's 64 rows of Q against the tile's 64 keys, 16 columns
    // of the head dim per step; a step's descriptors move 32 B inside a
    // 128-B swizzle row, then on to the next 64-column block.
    Value warpgroup = arith::DivUIOp::create(b, warp, idx(b, 4));
    Value qRows = smemOffset(
        b, qSmem, arith::MulIOp::create(b, warpgroup, idx(b, 64 * 128)));
    Value qDesc = emitSwizzledDescriptor(b, qRows, 16, 1024);
    Value kDesc = emitSwizzledDescriptor(b, kTile, 16, 1024);
    // The previous tile's P·V products end here unless they did at once
    // (waitForPVAtOnce).
    if (!waitForPVAtOnce)
      emitWgmmaWait(b);
    emitWgmmaBatch(b, [&] {
      for (int64_t kk = 0; kk < headDim / 16; ++kk) {
        auto at = [&](Value desc, int64_t rows) {
          return offsetDescriptor(b, desc, kk / 4 * rows * 128 + kk % 4 * 32);
        };
        s[0] = emitWgmmaSS(b, elementType, at(qDesc, tileQ),
                           at(kDesc, kKeyTile), s[0],
                           /*accumulate=*/kk > 0);
      }
    });
    return s;
  }
  // Per m-tile (16 query rows): 8 n-tiles of 8 keys, 4 fp32 each. Each K
  // fragment feeds every m-tile of the warp: with two m-tiles a warp reads
  // K and V from shared memory half as often per product.
  int64_t qRow = (headDim + kPad) * 2, kRow = qRow;
  for (int64_t kk = 0; kk < headDim / 16; ++kk) {
    SmallVector<SmallVector<Value, 4>> a;
    for (int64_t m = 0; m < mTiles; ++m)
      a.push_back(emitLdMatrixX4(
          b,
          smemOffset(b, qSmem,
                     arith::AddIOp::create(b, lanes.q,
                                           idx(b, m * 16 * qRow + kk * 32))),
          false));
    for (int64_t j = 0; j < 8; j += 2) {
      Value at = arith::AddIOp::create(b, lanes.k,
                                       idx(b, j * 8 * kRow + kk * 32));
      SmallVector<Value, 4> r = emitLdMatrixX4(b, smemOffset(b, kTile, at), false);
      for (int64_t m = 0; m < mTiles; ++m)
        for (int64_t h = 0; h < 2; ++h) {
          SmallVector<Value, 4> d = emitMma16816(
              b, elementType, a[m], {r[2 * h], r[2 * h + 1]},
              ArrayRef<Value>(s[m]).slice((j + h) * 4, 4));
          for (int64_t e = 0; e < 4; ++e)
            s[m][(j + h) * 4 + e] = d[e];
        }
    }
  }
  return s;
}

void KernelEmitter::accumulateTile(ImplicitLocOpBuilder &b,
                                   ArrayRef<SmallVector<Value>> s, Value vTile,
                                   SmallVector<Value> &next) {
  // P's A fragments come straight from the S accumulators: two adjacent
  // 8-key accumulator tiles are the A fragment of a 16-key step.
  auto pFragment = [&](int64_t m, int64_t kk) -> SmallVector<Value> {
    auto p = [&](int64_t tile, int64_t e) {
      return s[m][(2 * kk + tile) * 4 + e];
    };
    return {emitPack(b, elementType, p(0, 0), p(0, 1)),
            emitPack(b, elementType, p(0, 2), p(0, 3)),
            emitPack(b, elementType, p(1, 0), p(1, 1)),
            emitPack(b, elementType, p(1, 2), p(1, 3))};
  };
  int64_t accCount = valueDim / 8 * 4;
  if (wgmma) {
    // V is the MN-major operand: 16 keys (two 8-row groups, 2 KiB) per
    // step, the value dim spread over 64-column blocks 8 KiB apart. When
    // the products end: waitForPVAtOnce.
    SmallVector<SmallVector<Value>> a;
    for (int64_t kk = 0; kk < kKeyTile / 16; ++kk)
      a.push_back(pFragment(0, kk));
    Value vDesc = emitSwizzledDescriptor(b, vTile, kKeyTile * 128, 1024);
    emitWgmmaBatch(b, [&] {
      for (int64_t kk = 0; kk < kKeyTile / 16; ++kk) {
        Value desc = offsetDescriptor(b, vDesc, kk * 16 * 128);
        SmallVector<Value> acc =
            emitWgmmaRS(b, elementType, a[kk], desc,
                        ArrayRef<Value>(next).slice(accIndex(0, 0), accCount));
        for (int64_t e = 0; e < accCount; ++e)
          next[accIndex(0, e)] = acc[e];
      }
    }, /*wait=*/waitForPVAtOnce);
    return;
  }
  int64_t vRow = (valueDim + kPad) * 2;
  for (int64_t kk = 0; kk < kKeyTile / 16; ++kk) {
    SmallVector<SmallVector<Value>> a;
    for (int64_t m = 0; m < mTiles; ++m)
      a.push_back(pFragment(m, kk));
    for (int64_t n = 0; n < valueDim / 8; n += 2) {
      Value at = arith::AddIOp::create(b, lanes.v,
                                       idx(b, kk * 16 * vRow + n * 16));
      SmallVector<Value, 4> r = emitLdMatrixX4(b, smemOffset(b, vTile, at), true);
      for (int64_t m = 0; m < mTiles; ++m)
        for (int64_t h = 0; h < 2; ++h) {
          int64_t base = accIndex(m, (n + h) * 4);
          SmallVector<Value, 4> d =
              emitMma16816(b, elementType, a[m], {r[2 * h], r[2 * h + 1]},
                           ArrayRef<Value>(next).slice(base, 4));
          for (int64_t e = 0; e < 4; ++e)
            next[base + e] = d[e];
        }
    }
  }
}

SmallVector<Value> KernelEmitter::processTile(ImplicitLocOpBuilder &b,
                                              ArrayRef<Value> keyStart,
                                              Value needMask, Value stage,
                                              ValueRange state) {
  Type f32 = b.getF32Type();
  // This tile's K and V are in shared memory (walkKeyTiles waited for them).
  currentStage = stage;
  Value kTile = smemOffset(
      b, kSmem, arith::MulIOp::create(b, stage, idx(b, kStageBytes)));
  Value vTile = smemOffset(
      b, vSmem, arith::MulIOp::create(b, stage, idx(b, vStageBytes)));

  SmallVector<SmallVector<Value>> s = scoreTile(b, kTile);
  Value zero = f32c(b, 0.0);
  // With a positive scale and no score rule, S stays unscaled: the row max
  // commutes with the scale, and each exponent is one FMA (s·c − max·c)
  // instead of a multiply and a subtract (FA2's softmax).
  if (!foldScale)
    for (auto &tile : s)
      for (Value &x : tile)
        x = arith::MulFOp::create(b, x, scaleLog2e);

  Value minusInf = f32c(b, -INFINITY);
  SmallVector<Type> sTypes(32 * mTiles, f32);
  SmallVector<Value> flat;
  for (auto &tile : s)
    llvm::append_range(flat, tile);
  flat = ifThenElseN(
      b, needMask, sTypes,
      [&](ImplicitLocOpBuilder &in) {
        // One select per element on the mask's own i1 (a packed keep word
        // cost a shift, an and and a compare more per element). The freeze
        // keeps LLVM's DAG combiner from splitting select(a && b && c) into
        // a chain of selects, one per conjunct: with it ptxas folds the
        // conjunction into its compares (documents: 3 selects per element
        // -> 1; H200 documents 352 -> 368 with the coordinate compares below).
        SmallVector<Value> masked;
        PositionCache cache;
        for (int64_t m = 0; m < mTiles; ++m)
          for (auto [e, keep] :
               llvm::enumerate(keptElements(in, keyStart, m, cache)))
            masked.push_back(arith::SelectOp::create(
                in, LLVM::FreezeOp::create(in, keep), s[m][e], minusInf));
        return masked;
      },
      [&](ImplicitLocOpBuilder &) { return flat; });
  for (int64_t m = 0; m < mTiles; ++m) {
    s[m].assign(flat.begin() + 32 * m, flat.begin() + 32 * (m + 1));
    if (op.hasScore())
      applyScoreRule(b, keyStart, m, s[m]);
  }

  // Online softmax on the thread's rows (per m-tile, r = 0: row g, r = 1:
  // row g + 8), with the reference max moved lazily (FlashAttention-4): the
  // exponents use a row's reference r_i, the largest score seen when it
  // last moved, and r_i moves only when a tile's max exceeds it by more
  // than kRescaleSlack (log2 units) somewhere in the warp. Until then the
  // correction of O and of the sums is exactly 1 and skipped; P stays below
  // 2^kRescaleSlack. O / sum, and the lse (r_i + log2 sum), do not depend on
  // which reference was used.
  constexpr double kRescaleSlack = 8.0;
  SmallVector<Value> next(state.begin(), state.end());
  int64_t accCount = valueDim / 8 * 4;
  SmallVector<Value> tileMax(2 * mTiles);
  Value needed = arith::ConstantIntOp::create(b, false, 1);
  for (int64_t m = 0; m < mTiles; ++m)
    for (int64_t r = 0; r < 2; ++r) {
      Value max = minusInf;
      for (int64_t j = 0; j < 8; ++j)
        for (int64_t c = 0; c < 2; ++c)
          max = arith::MaximumFOp::create(b, max, s[m][j * 4 + 2 * r + c]);
      max = emitQuadReduce(b, max, /*isMax=*/true);
      if (foldScale)
        max = arith::MulFOp::create(b, max, scaleLog2e);
      tileMax[maxIndex(m, r)] = max;
      // -inf + slack stays -inf: a row's first kept score always moves it.
      Value limit = arith::AddFOp::create(b, state[maxIndex(m, r)],
                                          f32c(b, kRescaleSlack));
      needed = arith::OrIOp::create(
          b, needed,
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, max, limit));
    }
  // Warp-uniform, so that the skipped rescale is a branch, not predication.
  Value move = NVVM::VoteSyncOp::create(
      b, b.getI1Type(), arith::ConstantIntOp::create(b, b.getI32Type(), -1),
      needed, NVVM::VoteSyncKind::any);
  SmallVector<Value> ref(2 * mTiles);
  for (int64_t m = 0; m < mTiles; ++m)
    for (int64_t r = 0; r < 2; ++r) {
      Value oldMax = state[maxIndex(m, r)];
      Value newMax = arith::SelectOp::create(
          b, move,
          arith::MaximumFOp::create(b, oldMax, tileMax[maxIndex(m, r)]),
          oldMax);
      // A row with nothing kept so far subtracts 0: exp2(-inf) stays 0.
      Value empty =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, newMax, minusInf);
      ref[maxIndex(m, r)] = arith::SelectOp::create(b, empty, zero, newMax);
      next[maxIndex(m, r)] = newMax;
    }
  // Rescale the sums and O by exp2(old reference - new) where it moved.
  SmallVector<Value> carried;
  for (int64_t m = 0; m < mTiles; ++m) {
    for (int64_t r = 0; r < 2; ++r)
      carried.push_back(state[sumIndex(m, r)]);
    for (int64_t e = 0; e < accCount; ++e)
      carried.push_back(state[accIndex(m, e)]);
  }
  SmallVector<Type> carriedTypes(carried.size(), b.getF32Type());
  SmallVector<Value> rescaled = ifThenElseN(
      b, move, carriedTypes,
      [&](ImplicitLocOpBuilder &in) {
        SmallVector<Value> out;
        for (int64_t m = 0; m < mTiles; ++m) {
          Value correction[2];
          for (int64_t r = 0; r < 2; ++r)
            correction[r] = emitFastExp2(
                in, arith::SubFOp::create(in, state[maxIndex(m, r)],
                                          ref[maxIndex(m, r)]));
          for (int64_t r = 0; r < 2; ++r)
            out.push_back(arith::MulFOp::create(in, state[sumIndex(m, r)],
                                                correction[r]));
          for (int64_t e = 0; e < accCount; ++e)
            out.push_back(arith::MulFOp::create(in, state[accIndex(m, e)],
                                                correction[(e % 4) / 2]));
        }
        return out;
      },
      [&](ImplicitLocOpBuilder &) { return carried; });
  for (int64_t m = 0, at = 0; m < mTiles; ++m) {
    Value rowSum[2] = {zero, zero};
    Value negRef[2] = {arith::NegFOp::create(b, ref[maxIndex(m, 0)]),
                       arith::NegFOp::create(b, ref[maxIndex(m, 1)])};
    for (int64_t e = 0; e < 32; ++e) {
      int64_t r = (e % 4) / 2;
      Value x = foldScale ? Value(math::FmaOp::create(b, s[m][e], scaleLog2e,
                                                      negRef[r]))
                          : Value(arith::SubFOp::create(
                                b, s[m][e], ref[maxIndex(m, r)]));
      s[m][e] = emitFastExp2(b, x);
      rowSum[r] = arith::AddFOp::create(b, rowSum[r], s[m][e]);
    }
    for (int64_t r = 0; r < 2; ++r)
      next[sumIndex(m, r)] =
          arith::AddFOp::create(b, rescaled[at++], rowSum[r]);
    for (int64_t e = 0; e < accCount; ++e)
      next[accIndex(m, e)] = rescaled[at++];
  }

  accumulateTile(b, s, vTile, next);
  return next;
}

void KernelEmitter::storeOutput(ImplicitLocOpBuilder &b, ValueRange state) {
  Type f32 = b.getF32Type();
  Value zero = f32c(b, 0.0);
  for (int64_t m = 0; m < mTiles; ++m)
  for (int64_t r = 0; r < 2; ++r) {
    Value sum = emitQuadReduce(b, state[sumIndex(m, r)], /*isMax=*/false);
    Value row = arith::AddIOp::create(
        b,
        arith::AddIOp::create(b, arith::MulIOp::create(b, warp, idx(b, rowsPerWarp)),
                              g),
        idx(b, 16 * m + 8 * r));
    SmallVector<Value> pos = positionsOf(b, row, queryStart, tq);
    auto ifOp = scf::IfOp::create(b, allBelow(b, pos, queryExtent), false);
    ImplicitLocOpBuilder in =
        ImplicitLocOpBuilder::atBlockBegin(b.getLoc(), ifOp.thenBlock());
    SmallVector<Value> indices{batch, head};
    llvm::append_range(indices, pos);
    Value kept = arith::CmpFOp::create(in, arith::CmpFPredicate::OGT, sum, zero);
    // A fully masked row gives 0 and lse -inf, never NaN.
    Value inverse = arith::SelectOp::create(
        in, kept, arith::DivFOp::create(in, f32c(in, 1.0), sum), zero);
    Value base = arith::AddIOp::create(in, out.offsetOf(in, indices),
                                       arith::MulIOp::create(in, t, idx(in, 2)));
    for (int64_t n = 0; n < valueDim / 8; ++n) {
      Value lo = arith::MulFOp::create(in, state[accIndex(m, n * 4 + 2 * r)],
                                       inverse);
      Value hi = arith::MulFOp::create(
          in, state[accIndex(m, n * 4 + 2 * r + 1)], inverse);
      Value address =
          out.addressOf(in, arith::AddIOp::create(in, base, idx(in, n * 8)));
      if (out.elementType == f32) {
        LLVM::StoreOp::create(in, lo, address, 4);
        Value next = LLVM::GEPOp::create(in, address.getType(), f32, address,
                                         ArrayRef<LLVM::GEPArg>{1});
        LLVM::StoreOp::create(in, hi, next, 4);
      } else {
        LLVM::StoreOp::create(in, emitPack(in, out.elementType, lo, hi),
                              address, 4);
      }
    }
    if (lse) {
      Value isFirst = arith::CmpIOp::create(in, arith::CmpIPredicate::eq, t,
                                            idx(in, 0));
      auto first = scf::IfOp::create(in, isFirst, false);
      ImplicitLocOpBuilder w =
          ImplicitLocOpBuilder::atBlockBegin(in.getLoc(), first.thenBlock());
      Value value = arith::AddFOp::create(
          w, arith::MulFOp::create(w, state[maxIndex(m, r)], f32c(w, M_LN2)),
          math::LogOp::create(w, arith::SelectOp::create(w, kept, sum,
                                                         f32c(w, 1.0))));
      value = arith::SelectOp::create(w, kept, value, f32c(w, -INFINITY));
      lse->store(w, value, lse->addressOf(w, lse->offsetOf(w, indices)));
    }
  }
}

LogicalResult KernelEmitter::emit() {
  if (failed(checkSupported()))
    return failure();
  MLIRContext *ctx = func.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64);
  SmallVector<RankedTensorType> types;
  for (Type type : func.getArgumentTypes())
    types.push_back(cast<RankedTensorType>(type));
  for (Type type : func.getResultTypes())
    types.push_back(cast<RankedTensorType>(type));
  SmallVector<Type> argTypes(types.size(), ptrType);
  for (RankedTensorType type : types)
    argTypes.append(2 * type.getRank(), i64);

  OpBuilder top = OpBuilder::atBlockEnd(module.getBody());
  // Dynamic shared memory (`extern __shared__`), as gpu.dynamic_shared_memory
  // lowers it; one per module.
  StringRef smemName = "__attn_dynamic_smem";
  // 1024-B aligned: the swizzled wgmma tiles need it (WarpgroupMma.h).
  if (!module.lookupSymbol(smemName))
    LLVM::GlobalOp::create(top, func.getLoc(),
                           LLVM::LLVMArrayType::get(top.getI8Type(), 0),
                           /*isConstant=*/false, LLVM::Linkage::External,
                           smemName, Attribute(), /*alignment=*/1024,
                           /*addrSpace=*/3);
  auto kernel = gpu::GPUFuncOp::create(top, func.getLoc(), func.getName(),
                                       FunctionType::get(ctx, argTypes, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  kernel.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {static_cast<int32_t>(threads), 1, 1}));
  kernel->setAttr("attn.schedule", schedule);
  // Two CTAs per SM (at most 128 registers a thread): while one CTA's
  // warpgroups run their softmax, the other's products keep the tensor
  // cores busy — the kernel itself waits for each wgmma batch. Several
  // token axes: four CTAs of one warpgroup (128 registers too), whose
  // short, always partial key tiles need the other CTAs to hide their
  // latencies (three: 68.8 on NA-2D, five at 96 registers: 62.2; after
  // the 32-bit mask arithmetic 94.5 / 101.7 / 101.0 for three / four /
  // five).
  if (wgmma)
    kernel->setAttr("nvvm.minctasm",
                    top.getI32IntegerAttr(op.getNumTokenAxes() > 1 ? 4 : 2));
  Block &entry = kernel.getBody().front();
  ImplicitLocOpBuilder b = ImplicitLocOpBuilder::atBlockEnd(func.getLoc(), &entry);

  // Parameters: data pointers, then each tensor's sizes and strides.
  SmallVector<TensorParam> params(types.size());
  unsigned next = types.size();
  for (auto [i, type] : llvm::enumerate(types)) {
    params[i].data = entry.getArgument(i);
    params[i].elementType = type.getElementType().isInteger(1)
                                ? b.getI8Type()
                                : type.getElementType();
  }
  for (auto [param, type] : llvm::zip(params, types)) {
    for (int64_t d = 0; d < type.getRank(); ++d)
      param.sizes.push_back(arith::IndexCastOp::create(
          b, b.getIndexType(), entry.getArgument(next++)));
    for (int64_t d = 0; d < type.getRank(); ++d)
      param.strides.push_back(arith::IndexCastOp::create(
          b, b.getIndexType(), entry.getArgument(next++)));
  }
  unsigned numInputs = op.getInputs().size();
  // CUDA launches refuse q, k, v and output sizes above kMaxKernelExtent
  // (CudaLaunch.cpp): facts for the 32-bit narrowing of mask arithmetic
  // (attn-narrow-kernel-integers).
  for (size_t i : {size_t(0), size_t(1), size_t(2), size_t(3 + numInputs)})
    for (Value &size : params[i].sizes)
      size = assumeRange(b, size, 0, kMaxKernelExtent);
  q = params[0];
  k = params[1];
  v = params[2];
  inputs.assign(params.begin() + 3, params.begin() + 3 + numInputs);
  out = params[3 + numInputs];
  if (op.getLse())
    lse = params[4 + numInputs];
  regions.emplace(b, inputs, op.getInputs().getTypes());
  if (!inputs.empty()) {
    // Eight zero bytes in global memory for the mask's out-of-bounds reads
    // (RegionInliner::setOutOfBoundsAddress).
    StringRef zerosName = "__attn_zero_bytes";
    if (!module.lookupSymbol(zerosName))
      LLVM::GlobalOp::create(top, func.getLoc(), top.getI64Type(),
                             /*isConstant=*/true, LLVM::Linkage::Internal,
                             zerosName, top.getI64IntegerAttr(0),
                             /*alignment=*/8, /*addrSpace=*/1);
    Value zeros = LLVM::AddressOfOp::create(
        b, LLVM::LLVMPointerType::get(ctx, 1), zerosName);
    regions->setOutOfBoundsAddress(LLVM::AddrSpaceCastOp::create(
        b, LLVM::LLVMPointerType::get(ctx), zeros));
  }
  SmallVector<const TensorParam *> byArg{&q, &k, &v};
  for (TensorParam &input : inputs)
    byArg.push_back(&input);
  auto fail = [&]() {
    kernel.erase();
    return failure();
  };
  if (failed(regions->cloneOuterOps(b, func, op, byArg)))
    return fail();

  Value queryTile = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  // Under a causal band (key <= query + c) later query tiles visit more key
  // tiles: they go first, so that the grid ends on short tiles instead of
  // waiting for a long one (FlashAttention's reversed causal order).
  if (op.getNumTokenAxes() == 1) {
    BandBounds band = findAxisBand(op, 0);
    if (band.ahead && !band.behind)
      queryTile = arith::SubIOp::create(
          b,
          arith::SubIOp::create(b, gpu::GridDimOp::create(b, gpu::Dimension::x),
                                idx(b, 1)),
          queryTile);
  }
  // Grid dimensions y and z are at most 65535.
  head = assumeRange(b, gpu::BlockIdOp::create(b, gpu::Dimension::y), 0, 65535);
  batch =
      assumeRange(b, gpu::BlockIdOp::create(b, gpu::Dimension::z), 0, 65535);
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  warp = arith::DivUIOp::create(b, tid, idx(b, 32));
  lane = arith::RemUIOp::create(b, tid, idx(b, 32));
  g = arith::DivUIOp::create(b, lane, idx(b, 4));
  t = arith::RemUIOp::create(b, lane, idx(b, 4));
  // q head h reads kv head h / (H / G).
  Value groupSize = arith::DivUIOp::create(b, q.sizes[1], k.sizes[1]);
  kvHead = arith::DivUIOp::create(b, head, groupSize);
  Value scale = op.getScale() ? regions->outer().lookupOrDefault(op.getScale())
                              : f32c(b, 1.0 / std::sqrt(double(headDim)));
  scaleLog2e = arith::MulFOp::create(b, scale, f32c(b, M_LOG2E));
  maskReadsInputs = op.hasMask() && mlir::attn::maskReadsInputs(op.getMask());
  planStagedReads();
  FloatAttr scaleConstant;
  foldScale = !op.hasScore() &&
              (!op.getScale() ||
               (matchPattern(scale, m_Constant(&scaleConstant)) &&
                scaleConstant.getValueAsDouble() > 0));
  unsigned numAxes = op.getNumTokenAxes();
  for (unsigned axis = 0; axis < numAxes; ++axis) {
    queryExtent.push_back(q.sizes[2 + axis]);
    keyExtent.push_back(k.sizes[2 + axis]);
  }
  queryTileOrigin(b, queryTile, queryExtent, tq, dilations, queryStart,
                  residues);
  SmallVector<NeighborhoodOp> windows = findAxisWindows(op);
  for (auto [axis, range] : llvm::enumerate(windowKeyRanges(
           b, op, windows, queryStart, tq, queryExtent, keyExtent, batch, head,
           regions->outer(), dilations, residues, tk))) {
    Value begin = range.first;
    // Dilated windows on contiguous tiles (a dilation known only at run
    // time) start on the global tile grid: the mask's `k mod d` and `k div
    // d` then fold per element (the start is a known multiple of the tile),
    // where an exact start costs i64 divisions in every mask word. On the
    // H200 NA-2D 13x13 with dilation 4 ran 7.9 effective TFLOP/s
    // grid-aligned and 5.0 window-aligned; without dilation 25.6
    // window-aligned and 24.3 grid-aligned.
    if (windows[axis] && dilations[axis] == 1 &&
        constantWindowDilation(windows[axis]) != 1)
      begin = arith::MulIOp::create(
          b, arith::DivUIOp::create(b, begin, idx(b, tk[axis])),
          idx(b, tk[axis]));
    keyBegin.push_back(begin);
    keyEnd.push_back(range.second);
    // Consecutive queries' windows start at most one position apart, so a
    // window of constant size s that starts the key tiles (undilated, or
    // tiled in its residue classes) spans at most tq + s - 1 keys.
    int64_t dilation = constantWindowDilation(windows[axis]);
    int64_t size = constantWindowSize(windows[axis]);
    singleKeyTile.push_back((dilation == 1 || dilation == dilations[axis]) &&
                            size && tq[axis] + size - 1 <= tk[axis]);
  }

  // Shared memory: the Q tile, two stages of K and two of V (rows padded by
  // 16 bytes), then one i32 per key tile of a chunk twice: the per-warp
  // counts of visited tiles (the first `warps` words) and the compacted list
  // of visited tiles (KeyTileLoop.cpp), then two stages of each staged read
  // (planStagedReads).
  Value smem = LLVM::AddressOfOp::create(
      b, LLVM::LLVMPointerType::get(ctx, 3), smemName);
  int64_t qBytes = tileBytes(tileQ, headDim);
  kStageBytes = tileBytes(kKeyTile, headDim);
  vStageBytes = tileBytes(kKeyTile, valueDim);
  int64_t kvBytes = 2 * (kStageBytes + vStageBytes);
  qSmem = smem;
  kSmem = smemOffset(b, smem, idx(b, qBytes));
  vSmem = smemOffset(b, smem, idx(b, qBytes + 2 * kStageBytes));
  flagSmem = smemOffset(b, smem, idx(b, qBytes + kvBytes));
  listSmem = smemOffset(b, smem, idx(b, qBytes + kvBytes + threads * 4));
  stagedSmem = smemOffset(b, smem, idx(b, qBytes + kvBytes + 2 * threads * 4));
  int64_t smemBytes = qBytes + kvBytes + 2 * threads * 4 +
                      int64_t(stagedReads.size()) * 2 * kKeyTile * 4;
  kernel->setAttr("attn.dynamic_shared_memory", b.getI64IntegerAttr(smemBytes));
  if (!wgmma)
    lanes = laneOffsets(b, lane, warp, rowsPerWarp, headDim, valueDim);

  // The Q copies fly while the key tiles are classified: the walk's wait
  // for its first visited tile (an older copy group) covers them.
  loadTile(b, q, head, queryStart, queryExtent, tq, tileQ, headDim, qSmem);
  NVVM::CpAsyncCommitGroupOp::create(b);

  Type f32 = b.getF32Type();
  SmallVector<Value> init(2 * mTiles, f32c(b, -INFINITY));
  init.append(2 * mTiles, f32c(b, 0.0));
  init.append(mTiles * (valueDim / 8 * 4), f32c(b, 0.0));
  (void)f32;
  SmallVector<Value> final = walkKeyTiles(b, init);
  // Nothing visited: the Q copies were never waited for. (Every chunk of
  // the walk ends its wgmma products itself.)
  NVVM::CpAsyncWaitGroupOp::create(b, 0);
  storeOutput(b, final);
  gpu::ReturnOp::create(b);

  if (regions->placeholdersInUse())
    return op.emitOpError("not supported on cuda yet: an input tensor used "
                          "other than by tensor.extract / tensor.dim"),
           fail();
  regions->eraseUnusedPlaceholders();
  func.erase();
  return success();
}

namespace {
struct ConvertAttnToNVVMPass
    : mlir::attn::impl::ConvertAttnToNVVMPassBase<ConvertAttnToNVVMPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp moduleOp = getOperation();
    SmallVector<std::pair<func::FuncOp, AttentionOp>> work;
    bool failedWalk = false;
    moduleOp.walk([&](func::FuncOp func) {
      SmallVector<AttentionOp> ops;
      func.walk([&](AttentionOp op) { ops.push_back(op); });
      bool other = false;
      func.walk([&](Operation *o) {
        if (isa<AttnDialect>(o->getDialect()) &&
            !isa<AttentionOp, NeighborhoodOp, YieldOp>(o))
          other = true;
      });
      if (other) {
        func.emitError("not supported on cuda yet: only softmax attention "
                       "(attn.attention) has a CUDA kernel; linear attention "
                       "and cascades run on the cpu target");
        failedWalk = true;
        return;
      }
      if (ops.empty())
        return;
      if (ops.size() > 1) {
        func.emitError("a kernel function holds one attn.attention");
        failedWalk = true;
        return;
      }
      work.push_back({func, ops.front()});
    });
    if (failedWalk)
      return signalPassFailure();
    if (work.empty())
      return;
    OpBuilder b = OpBuilder::atBlockEnd(moduleOp.getBody());
    auto module = gpu::GPUModuleOp::create(b, moduleOp.getLoc(), moduleName);
    moduleOp->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      b.getUnitAttr());
    for (auto [func, op] : work) {
      ScheduleAttr schedule = normalizeSchedule(op, op.getScheduleAttr());
      if (failed(KernelEmitter(func, op, schedule, module, chip == "sm_90a")
                     .emit()))
        return signalPassFailure();
    }
  }
};

} // namespace
