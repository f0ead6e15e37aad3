//===- TileRanges.cpp - input-read bounds for the key-tile classification -===//
//
// The mask analysis asks the back end for bounds of input reads over a tile's
// index box (InputRangeFn, TileClassification.h). Here one thread classifies
// one key tile (KeyTileLoop.cpp), so a thread scanning its own box would
// issue 64-128 scattered loads per read (lanes 64 elements apart) in its
// classification. Instead the ranges are computed before, by whole warps,
// with coalesced loads and one redux.sync per tile and bound:
//  * reads that depend on the query tile only (`doc[b, i]`): at the start of
//    each chunk (one chunk up to 64 · threads keys; recomputing them costs a
//    few loads per warp, keeping them would hold registers across the whole
//    walk); every warp computes them itself (lanes read consecutive
//    elements, then redux.sync min / max), so no shared memory and no
//    barrier are needed;
//  * reads along one key axis (`doc[b, j]`, `vertical[b, h, j]`): per chunk
//    of key tiles, warp w computes the ranges of the chunk's tiles
//    32w..32w+31 (the tiles its own lanes classify) in 32 steps of
//    coalesced loads plus a redux.sync each, unrolled by 8 so that 16 loads
//    are in flight, and lane l keeps step l's result in registers;
//  * other reads (`blocks[b, h, i / 64, j / 64]`): each thread scans its
//    box if it has at most kScanVolume elements (a block table: 1-4), else
//    top.
// The classification then takes a recorded range only where its box covers
// the asked one (checked at run time, InputRanges), so a mismatch costs
// precision, never soundness. Elements of 64 bits are not pre-computed
// (redux.sync reduces 32-bit values): they are scanned if small, else top.
//
// A generated tile-table kernel (a pre-pass writing a table of tile classes
// to a workspace, FlexAttention's block mask) would need two kernels and a
// workspace per launch in the bundle format and runtimes; the in-kernel pass
// needs neither and its loads hit the same lines as the mask evaluation.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"
#include "WarpMma.h"

#include "attn/Conversion/TileRanges.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

#include <climits>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::gpu_kernel;

namespace {

/// Largest box a thread scans on its own for a read of another shape.
constexpr int64_t kScanVolume = 16;
/// Key tiles whose ranges a warp computes between loads that must return.
constexpr int64_t kUnroll = 8;

/// A read a warp reduces along one dimension: the fixed indices of the
/// other dimensions, the dimension that varies, and whether they are valid.
struct Stream {
  const TensorParam *input;
  bool isBool;
  unsigned dim;
  /// Index values; the entry of `dim` is replaced per element.
  SmallVector<Value> indices;
  /// Whether the fixed indices are inside the tensor and `dim` is not empty
  /// (warp-uniform). Where not, every element reads 0.
  Value usable;
};

Stream makeStream(ImplicitLocOpBuilder &b, const TensorParam &input,
                  bool isBool, const ReadShape &shape, unsigned dim,
                  ArrayRef<Value> coordinates) {
  Stream s{&input, isBool, dim, {}, arith::ConstantIntOp::create(b, true, 1)};
  for (auto [d, coordinate] : llvm::enumerate(shape.coordinate)) {
    Value size = input.sizes[d];
    if (d == dim) {
      s.indices.push_back(idx(b, 0));
      s.usable = arith::AndIOp::create(
          b, s.usable,
          arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, size, idx(b, 0)));
      continue;
    }
    Value index = coordinate >= 0 ? coordinates[coordinate]
                                  : idx(b, shape.constants[d]);
    Value inside = arith::AndIOp::create(
        b,
        arith::CmpIOp::create(b, arith::CmpIPredicate::sge, index, idx(b, 0)),
        arith::CmpIOp::create(b, arith::CmpIPredicate::slt, index, size));
    s.usable = arith::AndIOp::create(b, s.usable, inside);
    // Clamped so that the loads stay in bounds where `usable` is false.
    Value last = arith::MaxSIOp::create(
        b, arith::SubIOp::create(b, size, idx(b, 1)), idx(b, 0));
    s.indices.push_back(arith::MinSIOp::create(
        b, arith::MaxSIOp::create(b, index, idx(b, 0)), last));
  }
  return s;
}

/// [min, max] (i32, in every lane) of the stream's elements at positions
/// [lo, hi] of its dimension (index values; hi - lo < `extent`), elements
/// past the tensor's end reading 0. All 32 lanes of the warp must run it.
std::pair<Value, Value> warpRange(ImplicitLocOpBuilder &b, const Stream &s,
                                  Value lane, Value lo, Value hi,
                                  int64_t extent) {
  Type i32 = b.getI32Type();
  auto c32 = [&](int64_t v) { return arith::ConstantIntOp::create(b, i32, v); };
  Value size = s.input->sizes[s.dim];
  Value last = arith::MaxSIOp::create(
      b, arith::SubIOp::create(b, size, idx(b, 1)), idx(b, 0));
  Value mn = c32(INT32_MAX), mx = c32(INT32_MIN);
  for (int64_t e = 0; e < extent; e += 32) {
    Value pos = arith::AddIOp::create(
        b, lo, arith::AddIOp::create(b, lane, idx(b, e)));
    Value inBox =
        arith::CmpIOp::create(b, arith::CmpIPredicate::sle, pos, hi);
    Value inTensor = arith::AndIOp::create(
        b, s.usable,
        arith::CmpIOp::create(b, arith::CmpIPredicate::slt, pos, size));
    SmallVector<Value> indices = s.indices;
    indices[s.dim] = arith::MinSIOp::create(b, pos, last);
    Value loaded = s.input->load(
        b, s.input->elementType,
        s.input->addressOf(b, s.input->offsetOf(b, indices)));
    Value value;
    if (s.isBool)
      value = arith::ExtUIOp::create(
          b, i32,
          arith::CmpIOp::create(
              b, arith::CmpIPredicate::ne, loaded,
              arith::ConstantIntOp::create(b, s.input->elementType, 0)));
    else if (s.input->elementType.getIntOrFloatBitWidth() < 32)
      value = arith::ExtSIOp::create(b, i32, loaded);
    else
      value = loaded;
    value = arith::SelectOp::create(b, inTensor, value, c32(0));
    mn = arith::SelectOp::create(b, inBox, arith::MinSIOp::create(b, mn, value),
                                 mn);
    mx = arith::SelectOp::create(b, inBox, arith::MaxSIOp::create(b, mx, value),
                                 mx);
  }
  Value all = c32(-1);
  return {NVVM::ReduxOp::create(b, i32, mn, NVVM::ReduxKind::MIN, all),
          NVVM::ReduxOp::create(b, i32, mx, NVVM::ReduxKind::MAX, all)};
}

/// Reads of the mask worth a pass of their own: one per distinct
/// (input, shape) of `kind` with elements of at most 32 bits.
SmallVector<std::tuple<unsigned, ReadShape, bool>>
readsOfKind(Region &mask, unsigned numAxes, ReadShape::Kind kind) {
  unsigned numCoordinates = 2 + 2 * numAxes;
  SmallVector<std::tuple<unsigned, ReadShape, bool>> reads;
  mask.walk([&](tensor::ExtractOp read) {
    auto tensor = dyn_cast<BlockArgument>(read.getTensor());
    Type type = read.getType();
    if (!tensor || tensor.getArgNumber() < numCoordinates ||
        !type.isSignlessInteger() || type.getIntOrFloatBitWidth() > 32)
      return;
    ReadShape shape = classifyRead(read, numAxes);
    if (shape.kind != kind)
      return;
    unsigned input = tensor.getArgNumber() - numCoordinates;
    for (auto &[other, seen, isBool] : reads)
      if (other == input && seen.coordinate == shape.coordinate &&
          seen.constants == shape.constants)
        return;
    reads.push_back({input, shape, type.isInteger(1)});
  });
  return reads;
}

} // namespace

SmallVector<Interval> KernelEmitter::rangeCoordinates(ImplicitLocOpBuilder &b,
                                                      ArrayRef<Value> keyStart) {
  SmallVector<Interval> coordinates{{toI64(b, batch), toI64(b, batch)},
                                    {toI64(b, head), toI64(b, head)}};
  for (auto [axis, start] : llvm::enumerate(queryStart))
    coordinates.push_back(tileInterval(b, start, tq[axis], queryExtent[axis]));
  for (auto [axis, start] : llvm::enumerate(keyStart))
    coordinates.push_back(tileInterval(b, start, tk[axis], keyExtent[axis]));
  return coordinates;
}

void KernelEmitter::precomputeQueryRanges(ImplicitLocOpBuilder &b) {
  unsigned numAxes = op.getNumTokenAxes();
  inputRanges.emplace(inputs, 2 + 2 * numAxes, kScanVolume);
  SmallVector<Value> zeros(numAxes, idx(b, 0));
  SmallVector<Interval> coordinates = rangeCoordinates(b, zeros);
  SmallVector<Value> coordinateValues{batch, head};
  for (auto [shapeInput, shape, isBool] :
       readsOfKind(op.getMask(), numAxes, ReadShape::QuerySide)) {
    unsigned input = shapeInput;
    // The index that is a query position, if exactly one is.
    std::optional<unsigned> dim;
    unsigned positions = 0;
    for (auto [d, coordinate] : llvm::enumerate(shape.coordinate))
      if (coordinate >= 2) {
        dim = d;
        ++positions;
      }
    SmallVector<Interval> box = InputRanges::boxOf(b, shape, coordinates);
    if (positions != 1) {
      // `retrieval[h]`, `prefix_len[b]`: one element, scanned by each thread.
      inputRanges->add(input, box,
                       emitBoxRange(b, inputs[input], isBool, box, kScanVolume));
      continue;
    }
    unsigned axis = shape.coordinate[*dim] - 2;
    Stream s = makeStream(b, inputs[input], isBool, shape, *dim,
                          coordinateValues);
    Value start = queryStart[axis];
    Value hi = arith::SubIOp::create(
        b,
        arith::MinUIOp::create(b, arith::AddIOp::create(b, start, idx(b, tq[axis])),
                               queryExtent[axis]),
        idx(b, 1));
    auto [mn, mx] = warpRange(b, s, lane, start, hi, tq[axis]);
    Type i64 = b.getI64Type();
    inputRanges->add(input, box,
                     {arith::ExtSIOp::create(b, i64, mn),
                      arith::ExtSIOp::create(b, i64, mx), Value()});
  }
}

void KernelEmitter::precomputeKeyRanges(ImplicitLocOpBuilder &b, Value first,
                                        Value numKeyTiles) {
  unsigned numAxes = op.getNumTokenAxes();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  SmallVector<Value> coordinateValues{batch, head};
  // The key tile this thread classifies (clamped: past the end, the range is
  // computed for some tile and never used).
  Value lastTile = arith::SubIOp::create(b, numKeyTiles, idx(b, 1));
  Value myTile = arith::MinUIOp::create(b, arith::AddIOp::create(b, first, tid),
                                        lastTile);
  SmallVector<Interval> myCoordinates =
      rangeCoordinates(b, keyTileStart(b, myTile));
  for (auto [shapeInput, shape, isBool] :
       readsOfKind(op.getMask(), numAxes, ReadShape::KeyStream)) {
    unsigned input = shapeInput, axis = shape.axis;
    Stream s = makeStream(b, inputs[input], isBool, shape, shape.dim,
                          coordinateValues);
    Value warpFirst = arith::AddIOp::create(
        b, first, arith::MulIOp::create(b, warp, idx(b, 32)));
    Value init = arith::ConstantIntOp::create(b, i32, 0);
    SmallVector<Value> mine = forEachCarry(
        b, idx(b, 0), idx(b, 32), kUnroll, ValueRange{init, init},
        [&](ImplicitLocOpBuilder &in, Value step, ValueRange carried) {
          Value mn = carried[0], mx = carried[1];
          for (int64_t u = 0; u < kUnroll; ++u) {
            Value slot = arith::AddIOp::create(in, step, idx(in, u));
            Value tile = arith::MinUIOp::create(
                in, arith::AddIOp::create(in, warpFirst, slot), lastTile);
            Value start = keyTileStart(in, tile)[axis];
            Value hi = arith::SubIOp::create(
                in,
                arith::MinUIOp::create(
                    in, arith::AddIOp::create(in, start, idx(in, tk[axis])),
                    keyExtent[axis]),
                idx(in, 1));
            auto [tileMin, tileMax] = warpRange(in, s, lane, start, hi, tk[axis]);
            Value isMine = arith::CmpIOp::create(in, arith::CmpIPredicate::eq,
                                                 lane, slot);
            mn = arith::SelectOp::create(in, isMine, tileMin, mn);
            mx = arith::SelectOp::create(in, isMine, tileMax, mx);
          }
          return SmallVector<Value>{mn, mx};
        });
    inputRanges->add(input, InputRanges::boxOf(b, shape, myCoordinates),
                     {arith::ExtSIOp::create(b, i64, mine[0]),
                      arith::ExtSIOp::create(b, i64, mine[1]), Value()});
  }
}

//===----------------------------------------------------------------------===//
// Key-stream reads staged in shared memory
//===----------------------------------------------------------------------===//
//
// A partial tile evaluates the mask per element; a read along the key axis
// (`doc[b, j]`) is then one global load per column with a 64-bit address
// (runtime strides) and bounds checks, on the path between the S product
// and the softmax. Copied once per key tile with the K/V tiles (64 cp.async
// of 4 bytes, zero-filled out of bounds as reads are), the element reads it
// from shared memory at a constant offset from the stage.

Value KernelEmitter::stagedSlot(ImplicitLocOpBuilder &b, int64_t read,
                                Value stage, Value key) {
  Value slot = arith::AddIOp::create(
      b,
      arith::MulIOp::create(
          b, arith::AddIOp::create(b, idx(b, 2 * read), stage),
          idx(b, kKeyTile)),
      key);
  return smemOffset(b, stagedSmem, arith::MulIOp::create(b, slot, idx(b, 4)));
}

void KernelEmitter::planStagedReads() {
  unsigned numAxes = op.getNumTokenAxes();
  if (!op.hasMask() || numAxes != 1)
    return;
  for (auto [input, shape, isBool] :
       readsOfKind(op.getMask(), numAxes, ReadShape::KeyStream)) {
    Type element = inputs[input].elementType;
    if (isBool || element.getIntOrFloatBitWidth() != 32)
      continue;
    stagedReads.push_back({input, shape});
  }
}

void KernelEmitter::issueStagedReads(ImplicitLocOpBuilder &b,
                                     ArrayRef<Value> keyStart, Value stage) {
  if (stagedReads.empty())
    return;
  // One element per thread of the first kKeyTile.
  Value mine = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tid,
                                     idx(b, kKeyTile));
  ifThen(b, mine, [&](ImplicitLocOpBuilder &in) {
    Value position = positionsOf(in, tid, keyStart, tk)[0];
    for (auto [n, staged] : llvm::enumerate(stagedReads)) {
      const TensorParam &input = inputs[staged.input];
      SmallVector<Value> indices;
      for (auto [d, coordinate] : llvm::enumerate(staged.shape.coordinate)) {
        if (coordinate < 0)
          indices.push_back(idx(in, staged.shape.constants[d]));
        else if (coordinate == 0)
          indices.push_back(batch);
        else if (coordinate == 1)
          indices.push_back(head);
        else
          indices.push_back(position);
      }
      Value valid = input.inBounds(in, indices);
      Value offset = arith::SelectOp::create(
          in, valid, input.offsetOf(in, indices), idx(in, 0));
      emitCopy4(in, stagedSlot(in, n, stage, tid), input.addressOf(in, offset),
                valid);
    }
  });
}

Value KernelEmitter::stagedRead(ImplicitLocOpBuilder &b, unsigned input,
                                ValueRange indices,
                                ArrayRef<Value> coordinates, Value col) {
  for (auto [n, staged] : llvm::enumerate(stagedReads)) {
    if (staged.input != input ||
        indices.size() != staged.shape.coordinate.size())
      continue;
    bool same = true;
    for (auto [d, index] : llvm::enumerate(indices)) {
      Value v = withoutExactCasts(index);
      int64_t coordinate = staged.shape.coordinate[d];
      APInt value;
      if (coordinate < 0)
        same &= matchPattern(v, m_ConstantInt(&value)) &&
                value.getSExtValue() == staged.shape.constants[d];
      else
        same &= v == withoutExactCasts(coordinates[coordinate]);
    }
    if (!same)
      continue;
    return LLVM::LoadOp::create(b, inputs[input].elementType,
                                stagedSlot(b, n, currentStage, col), 4);
  }
  return Value();
}
