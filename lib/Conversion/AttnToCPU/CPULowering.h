//===- LoweringUtils.h - helpers shared by the CPU lowerings ----*- C++ -*-===//
//
// Small builders shared by the CPU kernels of attn.attention,
// attn.linear_attention and raw cascades: structured loops and branches,
// vector width choice, and the inlining of an op's scalar regions (mask,
// score, feature, decay) into a kernel, where reads of input tensors become
// bounds-checked loads from the packed arguments.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOCPU_LOWERINGUTILS_H
#define ATTN_LIB_CONVERSION_ATTNTOCPU_LOWERINGUTILS_H

#include "attn/Conversion/KernelABI.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn::cpu {

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

/// `cond ? then() : otherwise()` for one value of `type`.
Value ifThenElse(ImplicitLocOpBuilder &b, Value cond, Type type,
                 function_ref<Value(ImplicitLocOpBuilder &)> then,
                 function_ref<Value(ImplicitLocOpBuilder &)> otherwise);

Value toI64(ImplicitLocOpBuilder &b, Value index);

Value ceilDiv(ImplicitLocOpBuilder &b, Value x, int64_t d);

/// The largest vector width of at most 16 lanes dividing every extent.
int64_t chooseLanes(ArrayRef<int64_t> extents);

/// Expands `attn.neighborhood` into arith ops with NATTEN's rule (the same
/// as attn/Support/Neighborhood.h).
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

  /// Drops the placeholders no region needed.
  void eraseUnusedPlaceholders();

private:
  void lowerClonedOp(Operation *cloned, DenseMap<Value, Value> &replaced);

  SmallVector<TensorParam> inputs;
  SmallVector<Value> placeholders;
  IRMapping mapping;
};

/// Replaces `func`, which holds `op` and returns its result, by a kernel of
/// the same name computing one (batch, head) in the chunked form
/// (LinearAttentionToCPU.cpp).
LogicalResult lowerLinearAttentionFunction(func::FuncOp func,
                                           LinearAttentionOp op);

/// Whether `func` is a raw cascade: it holds cascade ops (einsum, map,
/// reduce, split, slice, iterate, iota) and no attention op.
bool isCascadeFunction(func::FuncOp func);

/// Replaces the cascade function `func` by an unfused single-block kernel
/// of the same name (CascadeToCPU.cpp).
LogicalResult lowerCascadeFunction(func::FuncOp func);

} // namespace mlir::attn::cpu

#endif // ATTN_LIB_CONVERSION_ATTNTOCPU_LOWERINGUTILS_H
