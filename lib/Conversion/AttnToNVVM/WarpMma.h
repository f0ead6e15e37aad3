//===- WarpMma.h - warp-level tensor-core building blocks -------*- C++ -*-===//
//
// The register-level pieces of the mma.sync attention kernel: ldmatrix of
// 8x8 b16 tiles from shared memory, the m16n8k16 product with fp32
// accumulators, packing fp32 pairs into 16-bit A fragments, quad reductions,
// and cp.async tile copies. Fragments are plain `i32` registers (two 16-bit
// elements each) so that f16 and bf16 share one code path: MLIR 22's
// nvgpu.mma.sync cannot deduce bf16 operand types (TOOLCHAIN.md), so the
// products use nvvm.mma.sync directly.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTONVVM_WARPMMA_H
#define ATTN_LIB_CONVERSION_ATTNTONVVM_WARPMMA_H

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn::gpu_kernel {

/// `ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16` at this lane's row
/// address `smem` (an `!llvm.ptr<3>`); returns the four i32 registers.
SmallVector<Value, 4> emitLdMatrixX4(ImplicitLocOpBuilder &b, Value smem,
                                     bool transpose);

/// D = A·B + C for one m16n8k16 tile: `a` four i32, `bFrag` two i32, `c` four
/// f32. `elementType` is f16 or bf16.
SmallVector<Value, 4> emitMma16816(ImplicitLocOpBuilder &b, Type elementType,
                                   ArrayRef<Value> a, ArrayRef<Value> bFrag,
                                   ArrayRef<Value> c);

/// Rounds two f32 values to `elementType` and packs them into one i32, the
/// first in the low half (the lower column of a fragment).
Value emitPack(ImplicitLocOpBuilder &b, Type elementType, Value lo, Value hi);

/// Combines `value` across the four lanes of a quad (xor 1, then 2) with
/// max (`isMax`) or add.
Value emitQuadReduce(ImplicitLocOpBuilder &b, Value value, bool isMax);

/// 2^x as one `ex2.approx.ftz.f32` (-inf gives +0). Without .ftz (what
/// math.exp2 becomes through libdevice) ptxas wraps every MUFU.EX2 in a
/// compare and two predicated multiplies that keep subnormal results, which
/// a softmax weight below 2^-126 does not need.
Value emitFastExp2(ImplicitLocOpBuilder &b, Value x);

/// A 16-byte `cp.async.cg.shared.global` from `global` (generic pointer) to
/// `smem`; when `valid` is false nothing is read and the 16 bytes are zeroed.
void emitCopy16(ImplicitLocOpBuilder &b, Value smem, Value global, Value valid);

/// A 4-byte `cp.async.ca.shared.global`, zero-filling where `valid` is
/// false.
void emitCopy4(ImplicitLocOpBuilder &b, Value smem, Value global, Value valid);

/// `base + bytes` for a shared-memory pointer.
Value smemOffset(ImplicitLocOpBuilder &b, Value base, Value bytes);

} // namespace mlir::attn::gpu_kernel

#endif // ATTN_LIB_CONVERSION_ATTNTONVVM_WARPMMA_H
