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
// (unknown ops, float arithmetic) are "top": statically known, so they cost
// nothing at run time and make the dependent predicates "maybe".
//
// Reads of input tensors (document ids, block tables) go through a back-end
// hook, InputRangeFn: given the intervals of a read's indices (a box of
// elements), the back end emits code that bounds the values read there (a
// scan of the box, or a table it computed before). A back end may give up at
// run time (a box too large to scan): the interval then carries a run-time
// "top" flag, which every predicate that depends on it ORs into both "may be
// true" and "may be false". Without a hook, reads are top as before.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_ANALYSIS_TILECLASSIFICATION_H
#define ATTN_DIALECT_ATTN_ANALYSIS_TILECLASSIFICATION_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Region.h"

namespace mlir::attn {

/// A run-time interval [lo, hi] of i64 values (both inclusive).
struct Interval {
  Value lo, hi;
  /// An i1 that is true at run time where lo/hi bound nothing (the value is
  /// unknown); null where the bounds always hold.
  Value top = {};
};

/// The abstract value of an i1: whether it may be true and may be false.
struct MaybeBool {
  Value mayBeTrue, mayBeFalse;
};

/// Whether the mask region reads input tensors (then exact per-element
/// evaluation is needed to find empty tiles).
bool maskReadsInputs(Region &mask);

/// The back-end hook for reads of input tensors. `read` is a tensor.extract
/// of an input (a block argument of the mask region) and `box` the interval
/// of each of its indices (their `top` flags are null: the analysis ORs them
/// into the result itself). The hook emits, at the builder,
/// bounds on the values read anywhere in the box, as i64 (booleans as 0/1),
/// where an index outside the tensor reads 0 / false as kernels do. It may set
/// the result's `top` (e.g. when the box is too large to scan at run time) or
/// return std::nullopt (this read is not handled: top). Soundness: every
/// element of the box must lie within the bounds whenever `top` is false.
/// `reachable` (an i1, or null for "always") is false at run time where the
/// read cannot matter: it sits in a branch of an scf.if whose condition
/// cannot take that branch for the box (the `doc` reads of
/// `j <= i && doc[b, i] == doc[b, j]` above the diagonal). The hook may then
/// skip its work and return any bounds, with `top` false.
using InputRangeFn = llvm::function_ref<std::optional<Interval>(
    OpBuilder &, Location, tensor::ExtractOp read, ArrayRef<Interval> box,
    Value reachable)>;

/// Emits, at the builder's insertion point, the interval interpretation of the
/// single-block `mask` region of an `attn.attention` op. `coordinates` gives
/// an interval for each coordinate block argument (batch, head, query
/// positions..., key positions...) in order; the remaining block arguments
/// (input tensors) are bounded through `inputRanges` where given, and are top
/// otherwise. `mapping` maps values captured from above to their values at the
/// insertion point (sizes). Returns the abstract value of the yielded i1.
MaybeBool emitMaskClassification(OpBuilder &builder, Location loc,
                                 Region &mask, ArrayRef<Interval> coordinates,
                                 const IRMapping &mapping,
                                 InputRangeFn inputRanges = nullptr);

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_ANALYSIS_TILECLASSIFICATION_H
