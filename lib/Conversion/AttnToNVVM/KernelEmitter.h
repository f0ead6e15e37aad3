//===- KernelEmitter.h - the mma.sync attention kernel builder --*- C++ -*-===//
//
// The state of one kernel being built (AttnToNVVM.cpp has the overview),
// shared by AttnToNVVM.cpp (setup, tile math, softmax, output) and
// KeyTileLoop.cpp (which key tiles are visited, and their K/V copies).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTONVVM_KERNELEMITTER_H
#define ATTN_LIB_CONVERSION_ATTNTONVVM_KERNELEMITTER_H

#include "attn/Conversion/KernelABI.h"
#include "attn/Conversion/KernelLimits.h"
#include "attn/Conversion/LoweringUtils.h"
#include "attn/Conversion/TileRanges.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include <optional>

namespace mlir::attn::gpu_kernel {

/// Key rows per K/V tile.
constexpr int64_t kKeyTile = 64;
/// Shared-memory rows are padded by 16 bytes so that the 8 row addresses of
/// one ldmatrix fall in distinct bank groups.
constexpr int64_t kPad = 8;

/// Dilated tiles spanning at most this many positions keep positions below
/// kMaxKernelExtent + kMaxTileSpan.
constexpr int64_t kMaxTileSpan = int64_t(1) << 24;

/// `value`, marked as lying in [lower, upper] (attn.assume_range) for the
/// 32-bit narrowing of kernel arithmetic.
Value assumeRange(ImplicitLocOpBuilder &b, Value value, int64_t lower,
                  int64_t upper);

/// An f32 constant.
Value f32c(ImplicitLocOpBuilder &b, double v);

/// An scf.if yielding `types`.
SmallVector<Value>
ifThenElseN(ImplicitLocOpBuilder &b, Value cond, TypeRange types,
            function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> then,
            function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)> otherwise);

/// Byte offsets of this lane's ldmatrix row address inside the Q, K and V
/// tiles (see GPU-KERNELS.md §2 for the lane -> row mapping).
struct LaneOffsets {
  Value q, k, v;
};

/// Which position slots (bit per query axis, then per key axis) a value
/// stands for: the fragment positions and staged key-axis reads.
using PositionSlots = llvm::DenseMap<Value, uint32_t>;

/// Builds the kernel of one attention function.
class KernelEmitter {
public:
  /// `hopper`: the target is sm_90a, whose warpgroup MMA (wgmma) replaces
  /// mma.sync where the head dims allow it.
  KernelEmitter(func::FuncOp func, AttentionOp op, ScheduleAttr schedule,
                gpu::GPUModuleOp module, bool hopper)
      : func(func), op(op), schedule(schedule), module(module),
        hopper(hopper) {}
  LogicalResult emit();

private:
  LogicalResult checkSupported();
  void loadTile(ImplicitLocOpBuilder &b, const TensorParam &param, Value head,
                ArrayRef<Value> start, ArrayRef<Value> extent,
                ArrayRef<int64_t> tile, int64_t rows, int64_t dim, Value smem);
  /// Byte offset of 16-byte chunk `chunk` of row `row` in a shared-memory
  /// tile of `rows` rows and `dim` columns (padded rows for ldmatrix, the
  /// swizzled layout of WarpgroupMma.h for wgmma).
  Value tileChunkOffset(ImplicitLocOpBuilder &b, Value row, Value chunk,
                        int64_t rows, int64_t dim);
  int64_t tileBytes(int64_t rows, int64_t dim) const;
  /// S = Q·Kᵀ of the key tile in `kTile`: per m-tile, 32 fp32 in C-fragment
  /// order.
  SmallVector<SmallVector<Value>> scoreTile(ImplicitLocOpBuilder &b,
                                            Value kTile);
  /// O += P·V (accumulators at accIndex in `acc`) with P the exponentiated
  /// scores `p` and V in `vTile`.
  void accumulateTile(ImplicitLocOpBuilder &b,
                      ArrayRef<SmallVector<Value>> p, Value vTile,
                      SmallVector<Value> &acc);
  /// Token positions of box position `row` of a query or key tile starting
  /// at `start` (per axis, in class units on dilated axes: position p is
  /// token residue + dilation·p).
  SmallVector<Value> positionsOf(ImplicitLocOpBuilder &b, Value row,
                                 ArrayRef<Value> start, ArrayRef<int64_t> tile);
  /// The token interval (i64) a tile of `tile` positions starting at class
  /// position `start` spans along `axis`, clipped to `extent`.
  Interval axisInterval(ImplicitLocOpBuilder &b, unsigned axis, Value start,
                        int64_t tile, Value extent);
  Value allBelow(ImplicitLocOpBuilder &b, ArrayRef<Value> pos,
                 ArrayRef<Value> extent);
  /// KeyTileLoop.cpp: the key-tile walk (classification, compaction of the
  /// visited tiles, double-buffered K/V copies).
  SmallVector<Value> keyTileStart(ImplicitLocOpBuilder &b, Value keyTile);
  /// Key tiles along `axis`: they tile [keyBegin, keyEnd), the keys a
  /// neighborhood window lets the query tile see (all keys otherwise).
  Value keyTileCount(ImplicitLocOpBuilder &b, unsigned axis);
  Value classifyKeyTile(ImplicitLocOpBuilder &b, Value keyTile);
  void issueKeyTile(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart,
                    Value stage);
  SmallVector<Value> walkKeyTiles(ImplicitLocOpBuilder &b, ValueRange init);
  /// TileRanges.cpp: bounds of the mask's input reads for classifyKeyTile,
  /// computed by whole warps at the start of each chunk of key tiles (reads
  /// of the query tile; reads along a key axis, per tile), into
  /// `inputRanges`.
  void precomputeQueryRanges(ImplicitLocOpBuilder &b);
  void precomputeKeyRanges(ImplicitLocOpBuilder &b, Value first,
                           Value numKeyTiles);
  /// TileRanges.cpp: the mask's reads along the key axis (`doc[b, j]`) of
  /// 32-bit elements, for one token axis: each key tile's values are copied
  /// to shared memory with its K/V (issueStagedReads), and the per-element
  /// mask reads them there (stagedRead).
  void planStagedReads();
  void issueStagedReads(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart,
                        Value stage);
  /// The staged value of a read of `input` at `indices` by the element whose
  /// mask coordinates are `coordinates` and whose tile column is `col`, or
  /// null when the read is not a staged one at that element's key.
  Value stagedRead(ImplicitLocOpBuilder &b, unsigned input, ValueRange indices,
                   ArrayRef<Value> coordinates, Value col);
  /// The shared-memory address of staged read `read`'s element for key
  /// `key` (0..kKeyTile) of `stage`.
  Value stagedSlot(ImplicitLocOpBuilder &b, int64_t read, Value stage,
                   Value key);
  /// The mask analysis' coordinate intervals: batch, head, the query tile
  /// and the key tile starting at `keyStart`.
  SmallVector<Interval> rangeCoordinates(ImplicitLocOpBuilder &b,
                                         ArrayRef<Value> keyStart);
  /// S, softmax and O += P·V of one key tile whose K/V sit in `stage`;
  /// where `needMask`, the mask is evaluated per element (keptElements).
  SmallVector<Value> processTile(ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> keyStart, Value needMask,
                                 Value stage, ValueRange state);
  /// Positions of fragment rows or columns by their constant part, built
  /// once per block that uses them (fragmentPositions).
  using PositionCache =
      llvm::DenseMap<std::pair<int, int64_t>, SmallVector<Value>>;
  /// Element e (an i1): whether element e of m-tile `m`'s S fragments is
  /// kept.
  SmallVector<Value> keptElements(ImplicitLocOpBuilder &b,
                                  ArrayRef<Value> keyStart, int64_t m,
                                  PositionCache &cache);
  /// A token position as a mask or score coordinate (i64), with its range
  /// (positionBound) for the 32-bit narrowing of the rule's arithmetic.
  Value maskCoordinate(ImplicitLocOpBuilder &b, Value position);
  /// Which position slots as an AND of groups of its conjuncts, one
  /// group per set of position slots that no other conjunct's set contains:
  /// the groups of a separable mask are shared by the elements of a row or
  /// a column.
  static Value conjunctsByPositions(ImplicitLocOpBuilder &b, Value kept,
                                    const PositionSlots &slots);
  /// Token positions of the query row (`isRow`) or key column of this
  /// thread whose constant part is `staticPart` (elementParts), in the tile
  /// starting at `start`; equal positions are the same values.
  SmallVector<Value> fragmentPositions(ImplicitLocOpBuilder &b, bool isRow,
                                       int64_t staticPart,
                                       ArrayRef<Value> start,
                                       PositionCache &cache);
  /// Positions from box offsets (positionsOf without the offsets).
  SmallVector<Value> positionsAt(ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> offsets,
                                 ArrayRef<Value> start);
  /// The constant parts of element e's row (8 · row half + 16 · m; the
  /// thread adds warp · rowsPerWarp + g) and column (8 · n-tile + odd; the
  /// thread adds 2t).
  static std::pair<int64_t, int64_t> elementParts(int64_t e, int64_t m) {
    return {8 * ((e % 4) / 2) + 16 * m, 8 * (e / 4) + e % 2};
  }
  void applyScoreRule(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart,
                      int64_t m, SmallVector<Value> &s);
  void storeOutput(ImplicitLocOpBuilder &b, ValueRange state);
  /// Row (0..tileQ) and column (0..64) of element `e` (0..31) of this
  /// thread's S fragments: n-tile e/4, row half (e%4)/2, column (e%2).
  /// `m` selects the warp's m-tile (16 rows).
  std::pair<Value, Value> elementCoords(ImplicitLocOpBuilder &b, Value e,
                                        int64_t m);
  /// The loop state: running max and sum of the thread's two rows per
  /// m-tile, then per m-tile the O accumulators (valueDim / 8 n-tiles of 4
  /// fp32).
  int64_t maxIndex(int64_t m, int64_t r) const { return 2 * m + r; }
  int64_t sumIndex(int64_t m, int64_t r) const { return 2 * mTiles + 2 * m + r; }
  int64_t accIndex(int64_t m, int64_t e) const {
    return 4 * mTiles + m * (valueDim / 8 * 4) + e;
  }

  func::FuncOp func;
  AttentionOp op;
  ScheduleAttr schedule;
  gpu::GPUModuleOp module;
  bool hopper = false;
  /// Whether products use wgmma (sm_90a, head dims 64 or 128): then each
  /// warpgroup owns 64 query rows, one m16 tile per warp.
  bool wgmma = false;
  /// wgmma: when a tile's P·V products end. With one token axis they run
  /// under the next tile's barrier and copy wait and end before its S batch
  /// (scoreTile), or at the end of a chunk of key tiles (KeyTileLoop.cpp), so
  /// that S may reuse the registers P is read from: in flight under S too,
  /// ptxas found no registers for both and serialised every wgmma (C7515 /
  /// C7512); on the H200 the wait made d128 kernels 1-2% faster (dense 477
  /// -> 487, causal 409 -> 416, documents 332 -> 336). With several token
  /// axes they end at once: NA-2D 13x13 ran 73.1 effective TFLOP/s against
  /// 70.8 with no wait (documents, one axis: 327.0 against 332.5).
  bool waitForPVAtOnce = false;

  Type elementType;
  int64_t headDim = 0, valueDim = 0, tileQ = 0, warps = 0, threads = 0;
  /// m16 tiles of query rows per warp (1 or 2) and the rows they make.
  int64_t mTiles = 1, rowsPerWarp = 16;
  /// Whether the softmax folds a positive scale into one FMA per exponent
  /// (no score rule, which must see scaled scores).
  bool foldScale = false;
  /// Whether the mask reads input tensors, which the interval analysis
  /// cannot bound: then partial tiles are checked for "nothing kept" first.
  bool maskReadsInputs = false;
  SmallVector<int64_t> tq, tk;
  /// Per token axis, the schedule's tile dilation d and this CTA's residue
  /// class r (constant 0 where d = 1): a tile holds the positions
  /// r + d·p of its class positions p, queries and keys alike.
  SmallVector<int64_t> dilations;
  SmallVector<Value> residues;
  TensorParam q, k, v, out;
  std::optional<TensorParam> lse;
  SmallVector<TensorParam> inputs;
  /// Clones the mask and score regions; owns the values above the op.
  std::optional<RegionInliner> regions;
  /// Reads staged in shared memory (planStagedReads): per read, two stages
  /// of kKeyTile elements from `stagedSmem` on; `stage` of the tile being
  /// processed.
  struct StagedRead {
    unsigned input;
    ReadShape shape;
  };
  SmallVector<StagedRead> stagedReads;
  Value stagedSmem, currentStage;
  /// Masks that read tensors: the ranges classifyKeyTile's analysis uses.
  std::optional<InputRanges> inputRanges;
  Value batch, head, kvHead, scaleLog2e, tid, warp, lane, g, t;
  /// Q tile; two stages of K and V tiles (`stage` selects one); per warp
  /// its count of visited tiles of a chunk (the first `warps` words of
  /// `flagSmem`) and the list of visited key tiles.
  Value qSmem, kSmem, vSmem, flagSmem, listSmem;
  int64_t kStageBytes = 0, vStageBytes = 0;
  LaneOffsets lanes;
  SmallVector<Value> queryStart, queryExtent, keyExtent;
  /// Per token axis, the key positions [keyBegin, keyEnd) the key tiles
  /// cover (NeighborhoodWindows.h).
  SmallVector<Value> keyBegin, keyEnd;
  /// Per token axis, whether one key tile always covers [keyBegin, keyEnd):
  /// a window of constant size s that starts the key tiles, with
  /// tq + s - 1 <= tk. Its key positions are then the same in every tile,
  /// so what the mask computes from them alone is loop-invariant.
  SmallVector<bool> singleKeyTile;
  /// Upper bound of every token position (0: none known, tiles too wide).
  int64_t positionBound = 0;
};


} // namespace mlir::attn::gpu_kernel

#endif // ATTN_LIB_CONVERSION_ATTNTONVVM_KERNELEMITTER_H
