//===- InitAll.h - register what attnc's tools use --------------*- C++ -*-===//
//
// One place that lists the dialects and passes every attnc tool, unit test and
// binding registers, so they cannot drift apart. Only what the project uses is
// registered: the registration TU dominates build time.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INITALL_H
#define ATTN_INITALL_H

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Pipelines/NVVMPipeline.h"
#include "attn/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::attn {

/// Registers the attn dialect and the upstream dialects attn IR uses.
inline void registerAllDialects(DialectRegistry &registry) {
  registry.insert<AttnDialect, arith::ArithDialect, cf::ControlFlowDialect,
                  func::FuncDialect, LLVM::LLVMDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, tensor::TensorDialect,
                  vector::VectorDialect>();
  registerNVVMDialects(registry);
}

/// Registers attn's passes and pipelines, the upstream passes the pipelines
/// use, and the generic ones (canonicalize, cse, ...).
inline void registerAllPasses() {
  mlir::registerTransformsPasses();
  registerAttnPasses();
  registerAttnConversionPasses();
  registerPipelines();
  registerNVVMPipeline();
}

} // namespace mlir::attn

#endif // ATTN_INITALL_H
