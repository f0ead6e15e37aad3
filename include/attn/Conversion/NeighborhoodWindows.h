//===- NeighborhoodWindows.h - key ranges of neighborhood masks -*- C++ -*-===//
//
// A mask that is a conjunction with `attn.neighborhood(q_a, k_a, n, size,
// dilation)` on token axis a keeps, for a box of queries along a, only keys
// in a range computable before the key walk. Both back ends start their key
// tiles at that range instead of the global tile grid, so a window not
// aligned to the grid costs fewer key tiles (NATTEN's KV range per query
// tile, GPU-KERNELS.md §4).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_NEIGHBORHOODWINDOWS_H
#define ATTN_CONVERSION_NEIGHBORHOODWINDOWS_H

#include "attn/Dialect/Attn/Analysis/TileClassification.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn {

/// Splits `v` at the `arith.andi` ops of `block` into its conjuncts.
void collectConjuncts(Value v, Block &block, SmallVectorImpl<Value> &out);

/// The numbers of the arguments of `block` that `v` is computed from.
SmallVector<unsigned> argumentsOf(Value v, Block &block);

/// Per token axis, the neighborhood conjunct of `op`'s mask that pairs that
/// axis' query and key positions and whose extent, size and dilation depend
/// only on batch, head and values from outside the mask (so they are known
/// before the key walk); null where there is none.
SmallVector<NeighborhoodOp> findAxisWindows(AttentionOp op);

/// The dilation of `window`'s rule when it is a constant (at least 1), else
/// 0 (also for a null window).
int64_t constantWindowDilation(NeighborhoodOp window);

/// The size of `window` when it is a constant of at least 1, else 0 (also
/// for a null window).
int64_t constantWindowSize(NeighborhoodOp window);

/// Per token axis, the tile dilation both kernels use by default
/// (#attn.schedule tile_dilation): the constant dilation of the axis'
/// neighborhood window, so that a tile holds one residue class and every key
/// of its key tiles can be paired with every query, or 1. Empty (contiguous
/// tiles everywhere) when no axis is dilated or the mask reads tensors
/// (their per-tile input ranges scan contiguous boxes).
SmallVector<int64_t> residueClassDilations(AttentionOp op);

/// The tile dilations a kernel of `op` under `schedule` uses: the
/// schedule's tile_dilation where it has one (all 1: contiguous tiles), else
/// residueClassDilations(op). Empty: contiguous tiles.
SmallVector<int64_t> effectiveTileDilations(AttentionOp op,
                                            ScheduleAttr schedule);

/// Refuses (with an error on `op`) a schedule whose tile_dilation is not
/// justified by the mask: a tile of one residue class visits only its
/// class's keys, sound only where a neighborhood window on that axis is
/// dilated by a constant multiple of the tile dilation and the mask reads
/// no tensors.
LogicalResult checkTileDilations(AttentionOp op, ScheduleAttr schedule);

/// Token position of class position `p` along an axis tiled in dilated
/// coordinates: residue + dilation·p (`p` itself for dilation 1), the
/// arithmetic carrying `flags`.
Value classPosition(
    ImplicitLocOpBuilder &b, Value p, Value residue, int64_t dilation,
    arith::IntegerOverflowFlags flags = arith::IntegerOverflowFlags::none);

/// Where query tile `linear` starts, in a grid of queryTilesAlong(extent,
/// tile, dilation) tiles per axis: per axis its start in class positions (a
/// multiple of the tile) into `starts` and its residue class (index 0 on
/// contiguous axes) into `residues`. Consecutive tiles of a dilated axis are
/// of consecutive classes (r = coordinate mod d, which LLVM knows lies in
/// [0, d)).
void queryTileOrigin(ImplicitLocOpBuilder &b, Value linear,
                     ArrayRef<Value> extents, ArrayRef<int64_t> tile,
                     ArrayRef<int64_t> dilations,
                     SmallVectorImpl<Value> &starts,
                     SmallVectorImpl<Value> &residues);

/// The token interval (i64) of a tile of `tile` class positions starting at
/// class position `start` along an axis of `extent` tokens, class position p
/// being token residue + dilation·p (dilation 1: tileInterval); the last
/// position is clipped to the extent (an interval past it is empty).
Interval dilatedTileInterval(ImplicitLocOpBuilder &b, Value start,
                             int64_t tile, Value extent, Value residue,
                             int64_t dilation);

/// The key positions [lo, hi] (i64, inclusive, possibly outside [0, n)) that
/// NATTEN's rule along an axis of extent `n` (window `size`, `dilation`,
/// `causal`) may pair with query positions in [qlo, qhi], qlo >= 0. Exact
/// for dilation 1; a sound superset otherwise.
std::pair<Value, Value> neighborhoodKeyBounds(ImplicitLocOpBuilder &b,
                                              Value qlo, Value qhi, Value n,
                                              Value size, Value dilation,
                                              bool causal);

/// Bounds a mask's conjuncts put on the keys of one token axis relative to
/// the query: `key <= query + ahead` (causal: ahead 0; bottom-right aligned
/// cross attention: S - L) and `key >= query - behind` (a sliding window w:
/// behind w - 1), each an offset of a constant plus scalars of the mask that
/// depend on batch, head and outer values only.
struct BandBounds {
  struct Offset {
    int64_t constant = 0;
    /// (sign, mask value) terms added to the constant.
    SmallVector<std::pair<int64_t, Value>> scalars;
  };
  std::optional<Offset> ahead, behind;
};
/// The band of `axis` found among the necessary conditions of `op`'s mask
/// (its conjuncts, and the conditions of `c && x` written as scf.if):
/// compares of linear forms of that axis' query and key positions.
BandBounds findAxisBand(AttentionOp op, unsigned axis);

/// Per token axis, the key positions [begin, end) (index values) outside
/// which the mask keeps nothing for any query of the tile starting at
/// `queryStart` (`tq` positions per axis): the window's range where
/// `windows` has one whose parameters are computable from batch, head,
/// values from outside the mask (`outer`) and constants, else [0, extent).
/// Axes tiled in dilated coordinates (`dilations[a]` = d > 1, the tile's
/// residue class `residues[a]` = r; both empty: none) take and give class
/// positions p (token r + d·p): the query tile is r + d·[queryStart,
/// queryStart + tq), the range counts the class's keys. Contiguous axes
/// without a window take the mask's band (findAxisBand), its begin rounded
/// down to a multiple of `keyTile` (when given).
SmallVector<std::pair<Value, Value>>
windowKeyRanges(ImplicitLocOpBuilder &b, AttentionOp op,
                ArrayRef<NeighborhoodOp> windows, ArrayRef<Value> queryStart,
                ArrayRef<int64_t> tq, ArrayRef<Value> queryExtent,
                ArrayRef<Value> keyExtent, Value batch, Value head,
                const IRMapping &outer, ArrayRef<int64_t> dilations = {},
                ArrayRef<Value> residues = {}, ArrayRef<int64_t> keyTile = {});

} // namespace mlir::attn

#endif // ATTN_CONVERSION_NEIGHBORHOODWINDOWS_H
