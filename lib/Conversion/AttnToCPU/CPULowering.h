//===- CPULowering.h - what the CPU lowerings share -------------*- C++ -*-===//
//
// The CPU kernels of attn.attention, attn.linear_attention and raw cascades:
// vector width choice and the entry points of the per-op lowerings. The
// builders every back end uses (loops, branches, region inlining) are in
// attn/Conversion/LoweringUtils.h; its names are visible here as members of
// the enclosing mlir::attn.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOCPU_CPULOWERING_H
#define ATTN_LIB_CONVERSION_ATTNTOCPU_CPULOWERING_H

#include "attn/Conversion/LoweringUtils.h"

namespace mlir::attn::cpu {

/// The largest vector width of at most 16 lanes dividing every extent.
inline int64_t chooseLanes(ArrayRef<int64_t> extents) {
  for (int64_t lanes : {16, 8, 4, 2})
    if (llvm::all_of(extents, [&](int64_t e) { return e % lanes == 0; }))
      return lanes;
  return 1;
}

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

#endif // ATTN_LIB_CONVERSION_ATTNTOCPU_CPULOWERING_H
