//===- WarpgroupMma.cpp - Hopper warpgroup tensor-core building blocks ----===//

#include "WarpgroupMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::attn::gpu_kernel;

Value mlir::attn::gpu_kernel::swizzledChunkOffset(ImplicitLocOpBuilder &b,
                                                  Value row, Value chunk,
                                                  int64_t rows) {
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, v); };
  Value block = arith::DivUIOp::create(b, chunk, c(8));
  Value within = arith::RemUIOp::create(b, chunk, c(8));
  Value swizzled =
      arith::XOrIOp::create(b, within, arith::RemUIOp::create(b, row, c(8)));
  Value offset = arith::AddIOp::create(
      b, arith::MulIOp::create(b, block, c(rows * 128)),
      arith::MulIOp::create(b, row, c(128)));
  return arith::AddIOp::create(b, offset,
                               arith::MulIOp::create(b, swizzled, c(16)));
}

Value mlir::attn::gpu_kernel::emitSwizzledDescriptor(ImplicitLocOpBuilder &b,
                                                     Value smem,
                                                     int64_t leadingBytes,
                                                     int64_t strideBytes) {
  Type i64 = b.getI64Type();
  auto c = [&](uint64_t v) {
    return arith::ConstantIntOp::create(b, i64, static_cast<int64_t>(v));
  };
  // Bits 0-13: address >> 4; 16-29: leading byte offset >> 4; 32-45: stride
  // byte offset >> 4; 62-63: layout (1 = 128-B swizzle). Base offset 0: the
  // tiles are 1024-B aligned.
  Value address = LLVM::PtrToIntOp::create(b, i64, smem);
  Value start = arith::ShRUIOp::create(
      b, arith::AndIOp::create(b, address, c(0x3FFFF)), c(4));
  uint64_t fields = (uint64_t(leadingBytes >> 4) << 16) |
                    (uint64_t(strideBytes >> 4) << 32) | (uint64_t(1) << 62);
  return arith::OrIOp::create(b, start, c(fields));
}

Value mlir::attn::gpu_kernel::offsetDescriptor(ImplicitLocOpBuilder &b,
                                               Value descriptor,
                                               int64_t byteOffset) {
  if (byteOffset == 0)
    return descriptor;
  // Shared-memory addresses stay below 256 KiB, so the address field never
  // carries into the next one.
  return arith::AddIOp::create(
      b, descriptor,
      arith::ConstantIntOp::create(b, b.getI64Type(), byteOffset >> 4));
}

static NVVM::WGMMATypes wgmmaType(Type elementType) {
  return elementType.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
}

static Value packStruct(ImplicitLocOpBuilder &b, ArrayRef<Value> values) {
  SmallVector<Type> fields(values.size(), b.getF32Type());
  auto type = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  Value result = LLVM::UndefOp::create(b, type);
  for (auto [i, v] : llvm::enumerate(values))
    result = LLVM::InsertValueOp::create(b, result, v, i);
  return result;
}

static SmallVector<Value> unpackStruct(ImplicitLocOpBuilder &b, Value s,
                                       int64_t count) {
  SmallVector<Value> values;
  for (int64_t i = 0; i < count; ++i)
    values.push_back(LLVM::ExtractValueOp::create(b, s, i));
  return values;
}

SmallVector<Value> mlir::attn::gpu_kernel::emitWgmmaSS(
    ImplicitLocOpBuilder &b, Type elementType, Value descA, Value descB,
    ArrayRef<Value> acc, bool accumulate) {
  MLIRContext *ctx = b.getContext();
  int64_t n = 2 * acc.size();
  // D = A·B (scale-d 0) reads no accumulator: undefined inputs, so that no
  // instruction writes the accumulator registers inside the batch (zeros
  // materialised there made ptxas serialise the wgmmas, C7515).
  Value inout = packStruct(b, acc);
  if (!accumulate)
    inout = LLVM::UndefOp::create(b, inout.getType());
  auto type = wgmmaType(elementType);
  auto scaleIn = NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one);
  // layoutB = col is B K-major (imm-trans-b 0); layoutA = row, A K-major.
  Value d = NVVM::WgmmaMmaAsyncOp::create(
      b, inout.getType(), inout, descA, descB,
      NVVM::MMAShapeAttr::get(ctx, 64, n, 16),
      NVVM::WGMMATypesAttr::get(ctx, type), NVVM::WGMMATypesAttr::get(ctx, type),
      NVVM::WGMMATypesAttr::get(ctx, NVVM::WGMMATypes::f32),
      NVVM::WGMMAScaleOutAttr::get(ctx, accumulate ? NVVM::WGMMAScaleOut::one
                                                   : NVVM::WGMMAScaleOut::zero),
      scaleIn, scaleIn, NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::row),
      NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::col),
      NVVM::MMAIntOverflowAttr());
  return unpackStruct(b, d, acc.size());
}

SmallVector<Value> mlir::attn::gpu_kernel::emitWgmmaRS(ImplicitLocOpBuilder &b,
                                                       Type elementType,
                                                       ArrayRef<Value> a,
                                                       Value descB,
                                                       ArrayRef<Value> acc) {
  int64_t count = acc.size(), n = 2 * count;
  std::string regs, constraints;
  for (int64_t i = 0; i < count; ++i) {
    regs += llvm::formatv("{0}${1}", i ? ", " : "", i).str();
    constraints += llvm::formatv("{0}=f", i ? "," : "").str();
  }
  // Operands: the outputs, the accumulators tied to them, then a and b-desc.
  for (int64_t i = 0; i < count; ++i)
    constraints += llvm::formatv(",{0}", i).str();
  constraints += ",r,r,r,r,l";
  // scale-d is a predicate operand: always accumulate (O starts at zero).
  std::string text = llvm::formatv(
      "{{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n{0}k16.f32.{1}.{1} "
      "{{{2}}, {{${3}, ${4}, ${5}, ${6}}, ${7}, p, 1, 1, 1;\n}\n",
      n, elementType.isBF16() ? "bf16" : "f16", regs, 2 * count,
      2 * count + 1, 2 * count + 2, 2 * count + 3, 2 * count + 4);
  SmallVector<Value> operands(acc.begin(), acc.end());
  llvm::append_range(operands, a);
  operands.push_back(descB);
  SmallVector<Type> fields(count, b.getF32Type());
  auto type = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  auto asmOp = LLVM::InlineAsmOp::create(
      b, type, operands, text, constraints, /*has_side_effects=*/true,
      /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
  return unpackStruct(b, asmOp.getResult(0), count);
}

void mlir::attn::gpu_kernel::emitWgmmaBatch(ImplicitLocOpBuilder &b,
                                            function_ref<void()> body,
                                            bool wait) {
  NVVM::WgmmaFenceAlignedOp::create(b);
  body();
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  if (wait)
    emitWgmmaWait(b);
}

void mlir::attn::gpu_kernel::emitWgmmaWait(ImplicitLocOpBuilder &b) {
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
}

void mlir::attn::gpu_kernel::emitAsyncProxyFence(ImplicitLocOpBuilder &b) {
  NVVM::FenceProxyOp::create(
      b, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
}
