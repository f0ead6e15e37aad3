//===- WarpgroupMma.h - Hopper warpgroup tensor-core building blocks -*- C++ -*-===//
//
// The pieces of the sm_90a kernel variant: `wgmma.mma_async` products of a
// warpgroup (4 warps, 64 rows) reading shared memory through matrix
// descriptors, and the 128-byte swizzled shared-memory layout they read.
//
// Layout (GPU-KERNELS.md §3; PTX ISA "matrix descriptor"): a tile of R rows
// and D 16-bit columns is stored as D/64 column blocks of R rows x 128 B;
// inside each 1024-B group of 8 rows, 16-byte chunk c of row r sits at chunk
// c ^ (r % 8). That one layout serves both operand majors: Q and K rows are
// K-major operands (the reduction runs along the row), V rows are an
// MN-major operand of P·V (the reduction runs across rows), so no tile is
// transposed in shared memory. Every column block starts 1024-B aligned, as
// the swizzle's address bits require.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTONVVM_WARPGROUPMMA_H
#define ATTN_LIB_CONVERSION_ATTNTONVVM_WARPGROUPMMA_H

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn::gpu_kernel {

/// Byte offset of 16-byte chunk `chunk` (0 .. D/8) of row `row` in a swizzled
/// tile of `rows` rows (see above).
Value swizzledChunkOffset(ImplicitLocOpBuilder &b, Value row, Value chunk,
                          int64_t rows);

/// The 64-bit wgmma matrix descriptor of the 128-B-swizzled operand at
/// `smem` (an `!llvm.ptr<3>`): `leadingBytes` is the stride between 64-column
/// blocks along M/N of an MN-major operand (unused for K-major ones),
/// `strideBytes` the stride between 8-row groups.
Value emitSwizzledDescriptor(ImplicitLocOpBuilder &b, Value smem,
                             int64_t leadingBytes, int64_t strideBytes);

/// `descriptor` (emitSwizzledDescriptor) moved by `byteOffset` (a multiple
/// of 16) in shared memory: one add instead of a new descriptor.
Value offsetDescriptor(ImplicitLocOpBuilder &b, Value descriptor,
                       int64_t byteOffset);

/// D (= or +=) A·B for one m64nNk16 step of the warpgroup with both operands
/// in shared memory, A K-major (row) and B K-major (col): `acc` holds the
/// thread's N/2 fp32 accumulators in the mma.sync C-fragment order (for
/// each 8 columns: row g, cols 2t, 2t+1, then row g+8). `accumulate` false
/// ignores `acc` (D = A·B).
SmallVector<Value> emitWgmmaSS(ImplicitLocOpBuilder &b, Type elementType,
                               Value descA, Value descB, ArrayRef<Value> acc,
                               bool accumulate);

/// D += A·B for one m64nNk16 step with A from registers (`a`: four i32, the
/// m16n8k16 A-fragment order of this warp's 16 rows) and B an MN-major
/// (transposed) shared-memory operand. MLIR 22 has no register-A wgmma op
/// (llvm/llvm-project#133733), so this one instruction is inline PTX.
SmallVector<Value> emitWgmmaRS(ImplicitLocOpBuilder &b, Type elementType,
                               ArrayRef<Value> a, Value descB,
                               ArrayRef<Value> acc);

/// wgmma.fence, then `body` (which issues products), then commit and, when
/// `wait`, wait for every batch in flight. A batch left in flight must be
/// waited for (here or by emitWgmmaWait) before its registers are read;
/// ptxas serialises the products if code reads them earlier.
void emitWgmmaBatch(ImplicitLocOpBuilder &b, function_ref<void()> body,
                    bool wait = true);
void emitWgmmaWait(ImplicitLocOpBuilder &b);

/// `fence.proxy.async.shared::cta`: makes this thread's completed cp.async
/// writes visible to the async proxy that wgmma reads shared memory through.
void emitAsyncProxyFence(ImplicitLocOpBuilder &b);

} // namespace mlir::attn::gpu_kernel

#endif // ATTN_LIB_CONVERSION_ATTNTONVVM_WARPGROUPMMA_H
