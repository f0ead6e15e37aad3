//===- LoweringUtils.h - builders shared by the kernel lowerings -*- C++ -*-===//
//
// The CPU lowerings (attn.attention, attn.linear_attention, raw cascades) and
// the CUDA lowering of attn.attention all clone an op's scalar regions (mask,
// score, feature, decay) into a kernel, read the values defined above the op
// (sizes, constants) and map linear tile indices to per-axis positions. This
// is that shared part, in one place so that every back end evaluates a mask
// the same way: input reads are guarded (an out-of-range read is false / 0)
// and attn.neighborhood expands to NATTEN's rule.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_LOWERINGUTILS_H
#define ATTN_CONVERSION_LOWERINGUTILS_H

#include "attn/Conversion/KernelABI.h"
#include "attn/Dialect/Attn/Analysis/TileClassification.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>

namespace mlir::attn {

using BodyFn = function_ref<void(ImplicitLocOpBuilder &, Value)>;
using CarryFn = function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                                ValueRange)>;

/// An `index` constant.
Value idx(ImplicitLocOpBuilder &b, int64_t v);

/// `for iv = lb to ub step step { body }`.
void forEach(ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step,
             BodyFn body);

/// A loop carrying `init` through iterations; returns the final values.
SmallVector<Value> forEachCarry(ImplicitLocOpBuilder &b, Value lb, Value ub,
                                int64_t step, ValueRange init, CarryFn body);

/// `if (cond) { then }`.
void ifThen(ImplicitLocOpBuilder &b, Value cond,
            function_ref<void(ImplicitLocOpBuilder &)> then);

/// `cond ? then() : otherwise()` for one value of `type` (an scf.if).
Value ifThenElse(ImplicitLocOpBuilder &b, Value cond, Type type,
                 function_ref<Value(ImplicitLocOpBuilder &)> then,
                 function_ref<Value(ImplicitLocOpBuilder &)> otherwise);

Value toI64(ImplicitLocOpBuilder &b, Value index);

/// The positions a tile starting at `start` covers on an axis of `extent`
/// positions, [start, min(start + tile, extent) - 1], as the i64 interval the
/// mask analysis takes.
Interval tileInterval(ImplicitLocOpBuilder &b, Value start, int64_t tile,
                      Value extent);

Value ceilDiv(ImplicitLocOpBuilder &b, Value x, int64_t d);

/// Per-axis offsets of the `linear`-th position of a row-major box `tile`.
SmallVector<Value> boxOffsets(ImplicitLocOpBuilder &b, Value linear,
                              ArrayRef<int64_t> tile);

/// The digits of `v` in the row-major box `tile` (innermost last; the
/// outermost is not reduced).
SmallVector<int64_t> boxDigits(int64_t v, ArrayRef<int64_t> tile);

/// The digits of a row-major `tile` box (boxOffsets) of d + c, where d is a
/// run-time value taking only `dynamicValues` and c a constant, as per-axis
/// sums `dynamicDigits` (boxOffsets of d, computed once) + digits of c, when
/// no carry crosses an axis for any of those d; else empty. The sums are
/// then the same values wherever d's digits are shared, and no division is
/// emitted per c.
SmallVector<Value> carryFreeOffsets(ImplicitLocOpBuilder &b,
                                    ArrayRef<Value> dynamicDigits,
                                    ArrayRef<int64_t> dynamicValues,
                                    int64_t c, ArrayRef<int64_t> tile);

/// Per-axis tile indices of the `linear`-th tile of a row-major grid of
/// `counts` tiles; `linear` must be below the product of `counts`.
SmallVector<Value> gridCoordinates(ImplicitLocOpBuilder &b, Value linear,
                                   ArrayRef<Value> counts);

/// Checks the form every kernel lowering expects of an attention function
/// (what the spec front end emits): one block, arguments q, k, v and the
/// inputs passed in that order to its one `attn.attention`, whose results it
/// returns. Emits the error on `func`.
LogicalResult checkAttentionFunctionForm(func::FuncOp func, AttentionOp op);

/// Expands `attn.neighborhood` into arith ops with NATTEN's rule (the same
/// as attn/Support/Neighborhood.h), on i64 scalars or vectors of i64.
Value expandNeighborhood(ImplicitLocOpBuilder &b, Value i, Value j, Value n,
                         Value size, Value dilation, bool causal);

/// Clones the scalar regions of an attn op into a kernel. The op's input
/// tensors stand behind placeholders (casts of the data pointers) while a
/// region is cloned; `tensor.extract` / `tensor.dim` of them then become
/// loads from and sizes of the kernel's tensor parameters.
class RegionInliner {
public:
  /// `inputs` are the kernel parameters of the op's input tensors, whose
  /// tensor types are `types`.
  RegionInliner(ImplicitLocOpBuilder &b, ArrayRef<TensorParam> inputs,
                TypeRange types);

  /// Clones the scalar ops of `func` that precede `stop` (constants, sizes
  /// and what is computed from them) into the kernel, mapping `tensor.dim`
  /// of argument n to the sizes of `byArg[n]`.
  LogicalResult cloneOuterOps(ImplicitLocOpBuilder &b, func::FuncOp func,
                              Operation *stop,
                              ArrayRef<const TensorParam *> byArg);

  /// Clones `region` at the builder, binding its leading block arguments to
  /// `leading` and the rest to the op's inputs; returns the yielded value.
  Value inlineRegion(ImplicitLocOpBuilder &b, Region &region,
                     ValueRange leading);

  /// Values of the function computed outside the op, mapped into the kernel.
  IRMapping &outer() { return mapping; }

  /// Makes inlined reads of input tensors branch-free: an out-of-bounds read
  /// loads from `address` (an `!llvm.ptr` to at least 8 readable bytes)
  /// instead and still yields 0 / false. Straight-line reads let LLVM share
  /// the loads of equal indices (GPU mask words read doc[b, j] once per
  /// column, not once per element behind a branch each).
  void setOutOfBoundsAddress(Value address) { outOfBoundsAddress = address; }

  /// Lets the caller supply the value of an inlined read of input `input` at
  /// `indices` (the cloned index values), e.g. from a copy in shared memory;
  /// a null result falls back to the load from global memory. Applies to
  /// the regions inlined until it is cleared (an empty function).
  using ReadOverride = std::function<Value(ImplicitLocOpBuilder &,
                                           unsigned input, ValueRange indices)>;
  void setReadOverride(ReadOverride override) {
    readOverride = std::move(override);
  }

  /// Whether a cloned region still uses an input other than through
  /// tensor.extract / tensor.dim (which a kernel cannot lower).
  bool placeholdersInUse() const;

  /// Drops the placeholders no region needed.
  void eraseUnusedPlaceholders();

private:
  void lowerClonedOp(Operation *cloned, DenseMap<Value, Value> &replaced);

  SmallVector<TensorParam> inputs;
  SmallVector<Value> placeholders;
  IRMapping mapping;
  Value outOfBoundsAddress;
  ReadOverride readOverride;
};

} // namespace mlir::attn

#endif // ATTN_CONVERSION_LOWERINGUTILS_H
