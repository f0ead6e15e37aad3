//===- AttentionKernel.h - the tiled attn.attention CPU kernel --*- C++ -*-===//
//
// The emitter of the CPU kernel of one attn.attention, shared by the files
// that build its parts: AttnToCPU.cpp (entry, query tile, key tile walk,
// output), TileMask.cpp (mask evaluation and application on a tile) and
// TileMath.cpp (score block, online softmax update, P·V). The per-tile steps
// live in their own files so each can be read (and tuned) without the
// driver around it; they share the tile's state through this class.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOCPU_ATTENTIONKERNEL_H
#define ATTN_LIB_CONVERSION_ATTNTOCPU_ATTENTIONKERNEL_H

#include "CPULowering.h"

#include "attn/Conversion/TileRanges.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <optional>

namespace mlir::attn::cpu {

/// Whether the mask region is element-wise arithmetic on coordinates and
/// captured scalars only (arith, math, attn.neighborhood; no input reads, no
/// control flow), so one evaluation can cover a vector of queries.
bool isVectorizableMask(Region &mask);

/// Builds the kernel of one attention function.
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
  /// The same for masks that factor per token axis (`axisFactors`): each
  /// axis' factor on that axis' key positions only, then combined per key.
  Value evaluateMaskFactored(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart);
  /// The query positions of the tile as i64 vectors of `rowLanes`, per row
  /// chunk and axis.
  SmallVector<SmallVector<Value>> queryCoordinateVectors(ImplicitLocOpBuilder &b);
  /// Finds, once per kernel, the mask's per-axis factors and the
  /// neighborhood windows bounding each key axis (MaskStructure.cpp).
  void analyzeMask();
  /// Per query tile: the key positions [keyBegin, keyEnd) per axis outside
  /// which the mask keeps nothing for any query of the tile.
  void computeKeyRange(ImplicitLocOpBuilder &b);
  /// The number of key tiles along `axis` and the first position of the
  /// `coord`-th, within [keyBegin, keyEnd).
  Value keyTileCount(ImplicitLocOpBuilder &b, unsigned axis);
  Value keyTileStart(ImplicitLocOpBuilder &b, unsigned axis, Value coord);
  void computeKeyRows(ImplicitLocOpBuilder &b, ArrayRef<Value> keyStart);
  /// The f32 value of K at element offset `rowOffset + column`.
  Value loadKeyElement(ImplicitLocOpBuilder &b, Value rowOffset, Value column);
  /// The f32 vector of V at element offset `rowOffset + column`.
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
  /// Bounds of the mask's input reads for the tile classification (masks
  /// that read tensors only; TileRanges.h).
  std::optional<InputRanges> inputRanges;
  InputRangeFn inputRangeFn() {
    return inputRanges ? InputRangeFn(*inputRanges) : InputRangeFn();
  }

  /// The mask's conjuncts grouped by the one token axis whose positions they
  /// read (those reading none go with axis 0); empty unless the mask is
  /// vectorizable, has several token axes and factors so.
  SmallVector<SmallVector<Value>> axisFactors;
  /// Per token axis, a neighborhood conjunct of the mask on that axis'
  /// (query, key) positions, whose window bounds the keys worth visiting.
  SmallVector<NeighborhoodOp> axisWindows;

  Value batch, head, kvHead, scaleLog2e;
  SmallVector<Value> queryStart, queryExtent, keyExtent;
  /// Per token axis, the schedule's tile dilation d and this tile's residue
  /// class r (constant 0 where d = 1): starts, tiles and key ranges count
  /// class positions p, token r + d·p (#attn.schedule tile_dilation).
  SmallVector<int64_t> dilations;
  SmallVector<Value> residues;
  /// Token position of class position `p` along `axis`.
  Value tokenOf(ImplicitLocOpBuilder &b, unsigned axis, Value p);
  /// Key tiles on axis a start at keyBegin[a] and cover [keyBegin, keyEnd):
  /// aligned to the query tile's window rather than to the grid, so a
  /// neighborhood touches as few (and as full) key tiles as it can.
  SmallVector<Value> keyBegin, keyEnd;
  /// Per-axis keep tables of factored masks, [tk[a]][query] bytes.
  SmallVector<Value> axisKeep;
  /// Stack buffers: Q transposed and scaled [d][query], scores and keep
  /// flags [key][query], running max / sum / correction per query, the
  /// numerator [query][dv], and the element offsets of the tile's K and V rows.
  Value qt, scores, keep, rowMax, rowSum, correction, acc, keyRows, valueRows;
};

} // namespace mlir::attn::cpu

#endif // ATTN_LIB_CONVERSION_ATTNTOCPU_ATTENTIONKERNEL_H
