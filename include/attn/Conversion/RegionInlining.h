//===- RegionInlining.h - shared pieces of the attn kernel emitters -*- C++ -*-===//
//
// The CPU and GPU lowerings of attn.attention both clone the op's mask and
// score regions into their kernels, read the values defined above the op
// (sizes, constants) and map linear tile indices to per-axis positions. These
// helpers are that shared part, so both back ends evaluate a mask the same
// way: input reads are guarded (an out-of-range read is false / 0) and
// attn.neighborhood expands to NATTEN's rule.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_REGIONINLINING_H
#define ATTN_CONVERSION_REGIONINLINING_H

#include "attn/Conversion/KernelABI.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::attn {

/// `cond ? then() : otherwise()` for one value of `type` (an scf.if).
Value emitIfThenElse(ImplicitLocOpBuilder &b, Value cond, Type type,
                     function_ref<Value(ImplicitLocOpBuilder &)> then,
                     function_ref<Value(ImplicitLocOpBuilder &)> otherwise);

/// Per-axis offsets of the `linear`-th position of a row-major box `tile`.
SmallVector<Value> boxOffsets(ImplicitLocOpBuilder &b, Value linear,
                              ArrayRef<int64_t> tile);

/// Per-axis tile indices of the `linear`-th tile of a row-major grid of
/// `counts` tiles.
SmallVector<Value> gridCoordinates(ImplicitLocOpBuilder &b, Value linear,
                                   ArrayRef<Value> counts);

/// Expands `attn.neighborhood` into arith ops with NATTEN's rule (the same
/// as attn/Support/Neighborhood.h).
Value expandNeighborhood(ImplicitLocOpBuilder &b, Value i, Value j, Value n,
                         Value size, Value dilation, bool causal);

/// Clones the values an attention function computes above its attn.attention
/// (tensor.dim of arguments, scalar constants and arithmetic) at `b`, mapping
/// them in `outer`. `byArg` gives the kernel parameter of each function
/// argument (q, k, v, inputs...).
LogicalResult mapValuesAbove(ImplicitLocOpBuilder &b, func::FuncOp func,
                             AttentionOp op, ArrayRef<const TensorParam *> byArg,
                             IRMapping &outer);

/// What a cloned mask or score region needs from its kernel.
struct RegionContext {
  /// Values above the op (see mapValuesAbove).
  const IRMapping &outer;
  /// The kernel parameters of the op's input tensors.
  ArrayRef<TensorParam> inputs;
  /// One placeholder value per input tensor that the region's tensor block
  /// arguments map to; reads through them become guarded loads.
  ArrayRef<Value> placeholders;
};

/// Clones a region of the op at `b`, binding its leading block arguments to
/// `leading` and its input tensors to the kernel's inputs; rewrites input
/// reads, their sizes and attn.neighborhood. Returns the yielded value.
Value inlineAttnRegion(ImplicitLocOpBuilder &b, Region &region,
                       ValueRange leading, const RegionContext &context);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_REGIONINLINING_H
