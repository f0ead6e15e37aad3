//===- WarpMma.cpp - warp-level tensor-core building blocks ---------------===//

#include "WarpMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::gpu_kernel;

SmallVector<Value, 4> gpu_kernel::emitLdMatrixX4(ImplicitLocOpBuilder &b,
                                                 Value smem, bool transpose) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  auto structType = LLVM::LLVMStructType::getLiteral(ctx, {i32, i32, i32, i32});
  Value loaded = NVVM::LdMatrixOp::create(
      b, structType, smem, 4,
      transpose ? NVVM::MMALayout::col : NVVM::MMALayout::row,
      NVVM::LdStMatrixShapeAttr::get(ctx, 8, 8), NVVM::LdStMatrixEltType::B16);
  SmallVector<Value, 4> regs;
  for (int64_t i = 0; i < 4; ++i)
    regs.push_back(LLVM::ExtractValueOp::create(b, loaded, i));
  return regs;
}

SmallVector<Value, 4> gpu_kernel::emitMma16816(ImplicitLocOpBuilder &b,
                                               Type elementType,
                                               ArrayRef<Value> a,
                                               ArrayRef<Value> bFrag,
                                               ArrayRef<Value> c) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  bool isBF16 = elementType.isBF16();
  // f16 operands are <2 x half> registers; bf16 ones stay i32 (the form the
  // NVVM verifier accepts for bf16).
  auto operand = [&](Value reg) -> Value {
    if (isBF16)
      return reg;
    return LLVM::BitcastOp::create(b, VectorType::get({2}, b.getF16Type()), reg);
  };
  SmallVector<Value> aOps, bOps;
  for (Value reg : a)
    aOps.push_back(operand(reg));
  for (Value reg : bFrag)
    bOps.push_back(operand(reg));
  NVVM::MMATypes ptxType = isBF16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  auto structType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  OperationState state(b.getLoc(), NVVM::MmaOp::getOperationName());
  NVVM::MmaOp::build(b, state, structType, aOps, bOps, c, {16, 8, 16},
                     std::nullopt, std::nullopt,
                     std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
                     std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                                    NVVM::MMALayout::col});
  Value d = b.create(state)->getResult(0);
  SmallVector<Value, 4> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, d, i));
  return out;
}

Value gpu_kernel::emitPack(ImplicitLocOpBuilder &b, Type elementType, Value lo,
                           Value hi) {
  // A <2 x float> truncation is one cvt.rn.{bf16x2,f16x2}.f32 on sm_80+
  // (element 0 in the low half), where two scalar ones took six
  // instructions with the shift and or.
  auto pair = VectorType::get({2}, b.getF32Type());
  Value v = LLVM::UndefOp::create(b, pair);
  v = LLVM::InsertElementOp::create(b, v, lo,
                                    arith::ConstantIntOp::create(b, b.getI32Type(), 0));
  v = LLVM::InsertElementOp::create(b, v, hi,
                                    arith::ConstantIntOp::create(b, b.getI32Type(), 1));
  Value narrow =
      LLVM::FPTruncOp::create(b, VectorType::get({2}, elementType), v);
  return LLVM::BitcastOp::create(b, b.getI32Type(), narrow);
}

Value gpu_kernel::emitQuadReduce(ImplicitLocOpBuilder &b, Value value,
                                 bool isMax) {
  Type i32 = b.getI32Type();
  // Width 32: a width of 4 would lower to member mask 0xf (GPU-KERNELS.md §2).
  Value width = arith::ConstantIntOp::create(b, i32, 32);
  for (int64_t offset : {1, 2}) {
    Value other = gpu::ShuffleOp::create(
                      b, value, arith::ConstantIntOp::create(b, i32, offset),
                      width, gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    value = isMax ? Value(arith::MaximumFOp::create(b, value, other))
                  : Value(arith::AddFOp::create(b, value, other));
  }
  return value;
}

Value gpu_kernel::emitFastExp2(ImplicitLocOpBuilder &b, Value x) {
  Type f32 = b.getF32Type();
  return LLVM::CallIntrinsicOp::create(b, f32,
                                       b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
                                       ValueRange{x})
      .getResult(0);
}

/// cp.async of `size` bytes; src-size 0 reads nothing and zero-fills, so
/// ragged rows need no branch.
static void emitCopy(ImplicitLocOpBuilder &b, Value smem, Value global,
                     Value valid, int32_t size,
                     NVVM::LoadCacheModifierKind modifier) {
  Type i32 = b.getI32Type();
  auto globalPtr = LLVM::LLVMPointerType::get(b.getContext(), 1);
  Value src = LLVM::AddrSpaceCastOp::create(b, globalPtr, global);
  Value bytes = arith::SelectOp::create(
      b, valid, arith::ConstantIntOp::create(b, i32, size),
      arith::ConstantIntOp::create(b, i32, 0));
  NVVM::CpAsyncOp::create(b, smem, src, size, modifier, bytes);
}

void gpu_kernel::emitCopy16(ImplicitLocOpBuilder &b, Value smem, Value global,
                            Value valid) {
  emitCopy(b, smem, global, valid, 16, NVVM::LoadCacheModifierKind::CG);
}

void gpu_kernel::emitCopy4(ImplicitLocOpBuilder &b, Value smem, Value global,
                           Value valid) {
  // .cg takes 16 bytes only.
  emitCopy(b, smem, global, valid, 4, NVVM::LoadCacheModifierKind::CA);
}

Value gpu_kernel::smemOffset(ImplicitLocOpBuilder &b, Value base, Value bytes) {
  Value asI32 = bytes.getType().isIndex()
                    ? Value(arith::IndexCastOp::create(b, b.getI32Type(), bytes))
                    : bytes;
  return LLVM::GEPOp::create(b, base.getType(), b.getI8Type(), base,
                             ValueRange{asI32});
}
