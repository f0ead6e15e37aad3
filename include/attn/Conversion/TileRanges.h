//===- TileRanges.h - bounds of input reads for the mask analysis -*- C++ -*-===//
//
// The back-end side of the mask analysis' hook for reads of input tensors
// (InputRangeFn in TileClassification.h): code that bounds the values of an
// input over a box of indices, so that `doc[b, i] == doc[b, j]` over a query
// tile and a key tile becomes "never" (disjoint document ids: the tile is
// empty) or "always" (one and the same id: full), and
// `blocks[b, h, i / 64, j / 64]` the OR / AND of the table entries the tile
// covers.
//
// Two pieces, shared by the CPU and CUDA kernels:
//  * emitBoxRange scans a box of an input (one load per element, bounded:
//    larger boxes give "top" at run time);
//  * InputRanges answers the hook from ranges computed earlier (per query
//    tile, before the key-tile loop; per key tile, by a cooperative pass on
//    the GPU) for boxes that cover the asked one, checked at run time, and
//    falls back to a scan or to top otherwise. Answers are therefore sound
//    whatever the precomputed box was: a range over a larger box bounds any
//    box inside it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_TILERANGES_H
#define ATTN_CONVERSION_TILERANGES_H

#include "attn/Conversion/KernelABI.h"
#include "attn/Dialect/Attn/Analysis/TileClassification.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <optional>

namespace mlir::attn {

/// How the indices of a read of an input depend on the mask's coordinates
/// (block arguments batch, head, query positions..., key positions...).
struct ReadShape {
  enum Kind {
    /// Every index is a coordinate (through integer casts) or a constant,
    /// and no key position appears: one range per query tile.
    QuerySide,
    /// Every index is a coordinate or a constant, and exactly one index is a
    /// key position, with no query position: one range per key tile.
    KeyStream,
    /// Anything else (`i / 64`, `i - j`, ...): scanned per tile, if small.
    Other
  };
  Kind kind = Other;
  /// KeyStream: the index that is the key position, and its token axis.
  unsigned dim = 0, axis = 0;
  /// Per index: the coordinate it is (block argument number), or -1 for a
  /// constant (its value in `constants`). Empty for Other.
  SmallVector<int64_t> coordinate;
  SmallVector<int64_t> constants;
};

/// Classifies a tensor.extract of the mask region of an op with `numAxes`
/// token axes.
ReadShape classifyRead(tensor::ExtractOp read, unsigned numAxes);

/// `index` without the exact integer conversions (index_cast, extsi) in
/// front of it: what classifyRead takes as the coordinate an index is.
Value withoutExactCasts(Value index);

/// Emits a scan of `input` over `box` (one i64 interval per dimension):
/// bounds [min, max] of the values there as i64 (`isBool`: the i8 elements
/// read as 0 / 1), where indices outside the tensor read 0 as kernels do. A
/// box of more than `maxVolume` elements (or an empty or inverted one) is not
/// scanned: the result's `top` is true.
Interval emitBoxRange(ImplicitLocOpBuilder &b, const TensorParam &input,
                      bool isBool, ArrayRef<Interval> box, int64_t maxVolume);

/// Whether every interval of `inner` lies inside the same one of `outer`.
Value boxWithin(ImplicitLocOpBuilder &b, ArrayRef<Interval> inner,
                ArrayRef<Interval> outer);

/// Ranges of input reads known before the classification, and the hook that
/// answers the analysis from them.
class InputRanges {
public:
  /// `inputs`: the kernel parameters of the op's inputs; `numCoordinates`:
  /// the mask's coordinate block arguments (2 + 2 · token axes);
  /// `scanVolume`: the largest box the fallback scans (0: no scan, top).
  InputRanges(ArrayRef<TensorParam> inputs, unsigned numCoordinates,
              int64_t scanVolume)
      : inputs(inputs), numCoordinates(numCoordinates),
        scanVolume(scanVolume) {}

  /// Records that the values of input `input` over `box` lie in `range`.
  void add(unsigned input, SmallVector<Interval> box, Interval range);

  /// Scans, at the builder, every read of `mask` of shape QuerySide over the
  /// box that `coordinates` (an interval per coordinate block argument; key
  /// positions unused) gives it, and records the ranges. Called once per
  /// query tile, before the key tiles are classified.
  void precomputeQuerySide(ImplicitLocOpBuilder &b, Region &mask,
                           ArrayRef<Interval> coordinates,
                           unsigned numAxes);

  /// The box that a read of shape QuerySide or KeyStream covers, given an
  /// interval per coordinate (constants become single points).
  static SmallVector<Interval> boxOf(ImplicitLocOpBuilder &b,
                                     const ReadShape &shape,
                                     ArrayRef<Interval> coordinates);

  /// The InputRangeFn: the recorded range of the read's input whose box
  /// covers `box` (checked at run time), else a scan of at most `scanVolume`
  /// elements (skipped where the read is not `reachable`), else top.
  std::optional<Interval> operator()(OpBuilder &builder, Location loc,
                                     tensor::ExtractOp read,
                                     ArrayRef<Interval> box, Value reachable);

private:
  struct Entry {
    unsigned input;
    SmallVector<Interval> box;
    Interval range;
  };
  SmallVector<TensorParam> inputs;
  unsigned numCoordinates;
  int64_t scanVolume;
  SmallVector<Entry> entries;
};

} // namespace mlir::attn

#endif // ATTN_CONVERSION_TILERANGES_H
