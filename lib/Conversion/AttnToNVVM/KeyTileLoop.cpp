//===- KeyTileLoop.cpp - the key tiles a query tile visits ----------------===//
//
// The key-tile walk of the mma.sync kernel, in chunks of `threads` key tiles:
//   1. each thread classifies one key tile of the chunk with the compiled
//      interval analysis of the mask (TileClassification.h) into a word:
//      0 empty, 1 full, 2 partial or ragged (needs the per-element mask);
//      reads of input tensors in the mask are bounded by ranges the warps
//      computed before (TileRanges.cpp);
//   2. each thread counts the non-empty tiles before its own (a ballot in
//      its warp, the counts of lower warps through shared memory) and
//      writes its tile at that position of a list. The list keeps key order,
//      so results do not depend on timing;
//   3. the CTA walks the list with two K/V stages: the cp.async copies of
//      visited tile n+1 are in flight while tile n is computed.
// An empty tile therefore costs one thread one classification, not a trip
// of the whole CTA through the loop: for window, document and neighborhood
// masks most key tiles are empty.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"
#include "WarpMma.h"
#include "WarpgroupMma.h"

#include "attn/Conversion/NeighborhoodWindows.h"
#include "attn/Dialect/Attn/Analysis/TileClassification.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::gpu_kernel;

SmallVector<Value> KernelEmitter::keyTileStart(ImplicitLocOpBuilder &b,
                                               Value keyTile) {
  // Axes with one key tile start at keyBegin; the others take the tile's
  // grid coordinates (the outermost of them without a remainder).
  SmallVector<unsigned> walked;
  SmallVector<Value> keyCounts;
  for (unsigned axis = 0; axis < tk.size(); ++axis) {
    if (singleKeyTile[axis])
      continue;
    walked.push_back(axis);
    keyCounts.push_back(keyTileCount(b, axis));
  }
  SmallVector<Value> start(keyBegin.begin(), keyBegin.end());
  if (walked.empty())
    return start;
  for (auto [axis, coord] :
       llvm::zip(walked, gridCoordinates(b, keyTile, keyCounts)))
    start[axis] = arith::AddIOp::create(
        b, keyBegin[axis], arith::MulIOp::create(b, coord, idx(b, tk[axis])));
  return start;
}

Value KernelEmitter::keyTileCount(ImplicitLocOpBuilder &b, unsigned axis) {
  if (singleKeyTile[axis])
    return idx(b, 1);
  return arith::CeilDivUIOp::create(
      b, arith::SubIOp::create(b, keyEnd[axis], keyBegin[axis]),
      idx(b, tk[axis]));
}

Value KernelEmitter::classifyKeyTile(ImplicitLocOpBuilder &b, Value keyTile) {
  SmallVector<Value> keyStart = keyTileStart(b, keyTile);
  Value ragged = arith::ConstantIntOp::create(b, false, 1);
  SmallVector<Interval> boxes{{toI64(b, batch), toI64(b, batch)},
                              {toI64(b, head), toI64(b, head)}};
  SmallVector<Interval> keyBoxes;
  for (auto [axis, start] : llvm::enumerate(keyStart)) {
    // Ragged: the tile's last position lies past the extent.
    Value lastPosition = classPosition(
        b, arith::AddIOp::create(b, start, idx(b, tk[axis] - 1)),
        residues[axis], dilations[axis]);
    ragged = arith::OrIOp::create(
        b, ragged,
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, lastPosition,
                              keyExtent[axis]));
    keyBoxes.push_back(
        axisInterval(b, axis, start, tk[axis], keyExtent[axis]));
  }
  for (auto [axis, start] : llvm::enumerate(queryStart))
    boxes.push_back(
        axisInterval(b, axis, start, tq[axis], queryExtent[axis]));
  llvm::append_range(boxes, keyBoxes);
  Value mayKeep = arith::ConstantIntOp::create(b, true, 1);
  Value mayDrop = arith::ConstantIntOp::create(b, false, 1);
  if (op.hasMask()) {
    MaybeBool cls = emitMaskClassification(
        b, b.getLoc(), op.getMask(), boxes, regions->outer(),
        inputRanges ? InputRangeFn(*inputRanges) : InputRangeFn());
    mayKeep = cls.mayBeTrue;
    mayDrop = cls.mayBeFalse;
  }
  Type i32 = b.getI32Type();
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(b, i32, v); };
  Value needMask = arith::OrIOp::create(b, mayDrop, ragged);
  Value word = arith::SelectOp::create(b, needMask, c(2), c(1));
  return arith::SelectOp::create(b, mayKeep, word, c(0));
}

void KernelEmitter::issueKeyTile(ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> keyStart, Value stage) {
  Value kTile = smemOffset(
      b, kSmem, arith::MulIOp::create(b, stage, idx(b, kStageBytes)));
  Value vTile = smemOffset(
      b, vSmem, arith::MulIOp::create(b, stage, idx(b, vStageBytes)));
  loadTile(b, k, kvHead, keyStart, keyExtent, tk, kKeyTile, headDim, kTile);
  loadTile(b, v, kvHead, keyStart, keyExtent, tk, kKeyTile, valueDim, vTile);
  issueStagedReads(b, keyStart, stage);
  NVVM::CpAsyncCommitGroupOp::create(b);
}

SmallVector<Value> KernelEmitter::walkKeyTiles(ImplicitLocOpBuilder &b,
                                               ValueRange init) {
  Type i32 = b.getI32Type();
  auto c32 = [&](ImplicitLocOpBuilder &at, int64_t v) {
    return arith::ConstantIntOp::create(at, i32, v);
  };
  auto wordAt = [&](ImplicitLocOpBuilder &at, Value base, Value index) {
    return smemOffset(at, base, arith::MulIOp::create(at, index, idx(at, 4)));
  };
  auto load = [&](ImplicitLocOpBuilder &at, Value base, Value index) -> Value {
    return LLVM::LoadOp::create(at, i32, wordAt(at, base, index), 4);
  };
  Value numKeyTiles = idx(b, 1);
  for (unsigned axis = 0; axis < tk.size(); ++axis)
    numKeyTiles =
        arith::MulIOp::create(b, numKeyTiles, keyTileCount(b, axis));
  Value numChunks = arith::CeilDivUIOp::create(b, numKeyTiles, idx(b, threads));

  return forEachCarry(
      b, idx(b, 0), numChunks, 1, init,
      [&](ImplicitLocOpBuilder &cb, Value chunk, ValueRange chunkState) {
        Value first = arith::MulIOp::create(cb, chunk, idx(cb, threads));
        Value count = arith::MinUIOp::create(
            cb, idx(cb, threads), arith::SubIOp::create(cb, numKeyTiles, first));
        // Masks that read tensors: bounds of the reads for the
        // classification, computed by whole warps (TileRanges.cpp). The
        // query tile's are recomputed per chunk (a few loads per warp) so
        // that nothing stays live across the walk.
        if (maskReadsInputs) {
          precomputeQueryRanges(cb);
          precomputeKeyRanges(cb, first, numKeyTiles);
        }
        // 1. One key tile per thread.
        Value mine =
            arith::CmpIOp::create(cb, arith::CmpIPredicate::ult, tid, count);
        Value myWord = ifThenElse(
            cb, mine, i32,
            [&](ImplicitLocOpBuilder &in) {
              return classifyKeyTile(in, arith::AddIOp::create(in, first, tid));
            },
            [&](ImplicitLocOpBuilder &in) -> Value { return c32(in, 0); });
        // 2. Ordered compaction of the visited tiles: a thread's position in
        // the list is the visited tiles of lower lanes of its warp (a
        // ballot) plus those of lower warps (their counts, through shared
        // memory). The list keeps key order, so results do not depend on
        // timing. (Each thread scanning the chunk's words cost a loop of up
        // to `threads` trips per chunk.)
        Value listed = arith::AndIOp::create(
            cb, mine,
            arith::CmpIOp::create(cb, arith::CmpIPredicate::ne, myWord,
                                  c32(cb, 0)));
        Value ballot = NVVM::VoteSyncOp::create(cb, i32, c32(cb, -1), listed,
                                                NVVM::VoteSyncKind::ballot);
        auto popc = [&](ImplicitLocOpBuilder &at, Value x) -> Value {
          return LLVM::CtPopOp::create(at, i32, x);
        };
        Value inWarp =
            popc(cb, arith::AndIOp::create(
                         cb, ballot, NVVM::LaneMaskLtOp::create(cb, i32)));
        Value firstLane = arith::CmpIOp::create(cb, arith::CmpIPredicate::eq,
                                                lane, idx(cb, 0));
        ifThen(cb, firstLane, [&](ImplicitLocOpBuilder &in) {
          LLVM::StoreOp::create(in, popc(in, ballot),
                                wordAt(in, flagSmem, warp), 4);
        });
        gpu::BarrierOp::create(cb);
        Value warp32 = arith::IndexCastOp::create(cb, i32, warp);
        Value before32 = inWarp, total32 = c32(cb, 0);
        for (int64_t w = 0; w < warps; ++w) {
          Value count = load(cb, flagSmem, idx(cb, w));
          Value lower = arith::CmpIOp::create(cb, arith::CmpIPredicate::ult,
                                              c32(cb, w), warp32);
          before32 = arith::AddIOp::create(
              cb, before32,
              arith::SelectOp::create(cb, lower, count, c32(cb, 0)));
          total32 = arith::AddIOp::create(cb, total32, count);
        }
        Value before =
            arith::IndexCastUIOp::create(cb, cb.getIndexType(), before32);
        Value total =
            arith::IndexCastUIOp::create(cb, cb.getIndexType(), total32);
        ifThen(cb, listed, [&](ImplicitLocOpBuilder &in) {
          // entry = tile-in-chunk · 2 + needs-mask
          Value tile = arith::IndexCastOp::create(in, i32, tid);
          Value entry = arith::OrIOp::create(
              in, arith::ShLIOp::create(in, tile, c32(in, 1)),
              arith::ExtUIOp::create(
                  in, i32,
                  arith::CmpIOp::create(in, arith::CmpIPredicate::eq, myWord,
                                        c32(in, 2))));
          LLVM::StoreOp::create(in, entry, wordAt(in, listSmem, before), 4);
        });
        gpu::BarrierOp::create(cb);

        // 3. Walk the list, copying tile n + 1 while tile n is computed.
        auto tileOf = [&](ImplicitLocOpBuilder &in, Value entry) {
          Value inChunk = arith::IndexCastOp::create(
              in, in.getIndexType(), arith::ShRUIOp::create(in, entry, c32(in, 1)));
          return arith::AddIOp::create(in, first, inChunk);
        };
        Value any =
            arith::CmpIOp::create(cb, arith::CmpIPredicate::ugt, total, idx(cb, 0));
        ifThen(cb, any, [&](ImplicitLocOpBuilder &in) {
          Value tile = tileOf(in, load(in, listSmem, idx(in, 0)));
          issueKeyTile(in, keyTileStart(in, tile), idx(in, 0));
        });
        SmallVector<Value> walked = forEachCarry(
            cb, idx(cb, 0), total, 1, chunkState,
            [&](ImplicitLocOpBuilder &in, Value n, ValueRange state) {
              Value stage = arith::RemUIOp::create(in, n, idx(in, 2));
              Value entry = load(in, listSmem, n);
              Value needMask = arith::CmpIOp::create(
                  in, arith::CmpIPredicate::ne,
                  arith::AndIOp::create(in, entry, c32(in, 1)), c32(in, 0));
              SmallVector<Value> keyStart = keyTileStart(in, tileOf(in, entry));
              // Every warp is done with tile n - 1, whose stage is refilled.
              gpu::BarrierOp::create(in);
              Value next = arith::AddIOp::create(in, n, idx(in, 1));
              Value hasNext =
                  arith::CmpIOp::create(in, arith::CmpIPredicate::ult, next, total);
              auto prefetch = scf::IfOp::create(in, hasNext, /*withElse=*/true);
              {
                ImplicitLocOpBuilder then = ImplicitLocOpBuilder::atBlockBegin(
                    in.getLoc(), prefetch.thenBlock());
                Value nextTile = tileOf(then, load(then, listSmem, next));
                issueKeyTile(then, keyTileStart(then, nextTile),
                             arith::SubIOp::create(then, idx(then, 1), stage));
                NVVM::CpAsyncWaitGroupOp::create(then, 1);
                ImplicitLocOpBuilder otherwise = ImplicitLocOpBuilder::atBlockBegin(
                    in.getLoc(), prefetch.elseBlock());
                NVVM::CpAsyncWaitGroupOp::create(otherwise, 0);
              }
              // wgmma reads shared memory through the async proxy.
              if (wgmma)
                emitAsyncProxyFence(in);
              // Tile n's copies, from every thread, are visible. (Partial
              // tiles of masks that read tensors used to be checked for
              // "nothing kept" by the whole CTA first, with a bar.red.or;
              // with per-tile input ranges such tiles are rare, and on the
              // H200 documents ran 239 -> 270 TFLOP/s without the check.)
              gpu::BarrierOp::create(in);
              return processTile(in, keyStart, needMask, stage, state);
            });
        // The last P·V products end inside the chunk: carried into the next
        // chunk's classification, their accumulators were moved by ptxas
        // while in flight, which serialised every wgmma (C7515).
        if (wgmma)
          emitWgmmaWait(cb);
        return walked;
      });
}
