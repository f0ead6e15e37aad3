//===- Passes.td - conversions out of attn ------------------*- tablegen -*-===//

#ifndef ATTN_CONVERSION_PASSES_TD
#define ATTN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertAttnToCPUPass : Pass<"convert-attn-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lower attn functions to CPU kernels (tiled softmax attention, chunked linear attention, unfused cascades)";
  let description = [{
    Replaces each function holding one `attn.attention` (taking q, k, v and
    the inputs, returning the op's results) by a kernel of the same name in
    the packed calling convention: `void name(void **args)` with args
    `block x, y, z, data pointers..., sizes and strides...` (see
    `attn/Conversion/KernelABI.h` and docs/bundle.md). One call computes one
    query tile of one (batch, head); the grid is
    `(query tiles, heads, batch)`.

    The kernel is FuseMax's one-pass cascade over key tiles of the op's
    schedule (or the CPU default): scores `S = (scale·log2 e · Q) Kᵀ`, running
    max `RM`, correction `exp2(RM_old − RM_new)`, running denominator and
    numerator, final division. Scores are kept transposed, `[key][query]`, so
    the row statistics are element-wise across a vector of queries; K and V
    are read in place. Key tiles are walked one token axis at a time; at each
    level the interval analysis of the mask region decides at run time
    whether the tiles are empty (skipped with no loads), full (no mask code)
    or partial (mask evaluated per element — a vector of queries at a time
    when the mask is coordinate arithmetic — and the tile skipped when
    nothing survives). Fully masked rows yield 0 and lse `-inf`.

    A function holding one `attn.linear_attention` becomes a kernel of grid
    `(1, heads, batch)` computing the chunked causal form (running state,
    decay or gates, feature maps, normalisation); a function of cascade ops
    becomes an unfused loop nest of grid `(1, 1, 1)` (docs/cpu-backend.md).
    The result uses `scf`, `vector`, `memref`, `math` and `llvm` (pointer
    arithmetic of the packed arguments).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::func::FuncDialect"
  ];
}

def ConvertAttnToNVVMPass : Pass<"convert-attn-to-nvvm", "::mlir::ModuleOp"> {
  let summary = "Lower attn.attention functions to tensor-core CUDA kernels";
  let description = [{
    Replaces each function holding one `attn.attention` by a `gpu.func`
    kernel of the same name in a `gpu.module`: a FlashAttention-style forward
    pass over 128-query tiles and 64-key tiles copied to shared memory with
    cp.async (two K/V stages), online softmax in registers with quad shuffles
    and exp2, P kept in registers as the A operand of P·V. For `chip=sm_90a`
    and head dims 64 or 128 over one token axis the products are Hopper
    warpgroup MMAs (two warpgroups of 64 rows, 128-byte swizzled shared
    memory, S = Q·Kᵀ by `nvvm.wgmma.mma_async`, O += P·V by a register-A
    wgmma in inline PTX, two CTAs per SM); otherwise ldmatrix + `mma.sync`
    m16n8k16 with 32 query rows per warp. The interval analysis of the mask
    skips empty key tiles (classified one per thread, compacted into a list)
    and runs full ones without mask code; reads of input tensors are bounded
    per tile from ranges the warps compute; neighborhood windows set the key
    range. The kernel's parameters are cuLaunchKernel's kernelParams: data
    pointers, then each tensor's sizes and strides (i64); grid = (query
    tiles, heads, batch). Each kernel records `attn.schedule` and
    `attn.dynamic_shared_memory` (bytes). The result holds gpu, nvvm, llvm,
    scf, arith and math ops for the upstream GPU-to-NVVM passes. Linear
    attention and cascades are refused ("not supported on cuda yet").
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string", "\"attn_kernels\"",
           "Name of the gpu.module that receives the kernels">,
    Option<"chip", "chip", "std::string", "\"sm_80\"",
           "Target chip; sm_90a kernels use warpgroup MMA (wgmma) for head "
           "dims 64 and 128, others mma.sync">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect"
  ];
}

def AttnNarrowKernelIntegersPass
    : Pass<"attn-narrow-kernel-integers", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Evaluate kernel integer arithmetic in 32 bits where ranges allow";
  let description = [{
    Runs upstream `arith-int-range-narrowing` (32 bits) on the kernels of a
    `gpu.module`, then replaces each `attn.assume_range` by its operand.
    The kernel builder marks token positions and the sizes of q, k, v and
    the output with `attn.assume_range` (sizes at most 2^30, which CUDA
    launches check); integer range analysis carries those intervals through
    the mask and score arithmetic, which the spec language defines on i64,
    and every op whose operands and result provably fit 32 bits is rewritten
    to i32 (a 64-bit compare is two SASS instructions, an i32 one is one).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // ATTN_CONVERSION_PASSES_TD
