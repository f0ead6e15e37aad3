//===- TileClassification.h - per-tile mask analysis ------------*- C++ -*-===//
//
// Mask analysis for tiled attention. A mask is an expression over coordinates;
// for a tile (a box of query positions meeting a box of key positions) we need
// to know whether the mask may hold somewhere in the box (otherwise the tile is
// empty and skipped) and whether it may fail somewhere (otherwise the tile is
// full and runs without mask code).
//
// The analysis is an interval abstract interpretation of the mask region that
// is *compiled into the kernel*: every i64 value of the region becomes a pair
// of i64 bounds computed at run time from the tile's box, every i1 a pair
// (may be true, may be false). Sizes are bound at launch, so this yields
// run-time predicates over tile indices and sizes; when sizes are constants
// the emitted arithmetic folds. Values the interval domain cannot bound
// (reads of input tensors, unknown ops) are "top": statically known, so they
// cost nothing at run time and make the dependent predicates "maybe".
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_ANALYSIS_TILECLASSIFICATION_H
#define ATTN_DIALECT_ATTN_ANALYSIS_TILECLASSIFICATION_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Region.h"

namespace mlir::attn {

/// A run-time interval [lo, hi] of i64 positions (both inclusive).
struct Interval {
  Value lo, hi;
};

/// The abstract value of an i1: whether it may be true and may be false.
struct MaybeBool {
  Value mayBeTrue, mayBeFalse;
};

/// Whether the mask region reads input tensors (then exact per-element
/// evaluation is needed to find empty tiles).
bool maskReadsInputs(Region &mask);

/// Emits, at the builder's insertion point, the interval interpretation of the
/// single-block `mask` region of an `attn.attention` op. `coordinates` gives
/// an interval for each coordinate block argument (batch, head, query
/// positions..., key positions...) in order; the remaining block arguments
/// (input tensors) are top. `mapping` maps values captured from above to their
/// values at the insertion point (sizes). Returns the abstract value of the
/// yielded i1.
MaybeBool emitMaskClassification(OpBuilder &builder, Location loc,
                                 Region &mask, ArrayRef<Interval> coordinates,
                                 const IRMapping &mapping);

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_ANALYSIS_TILECLASSIFICATION_H
