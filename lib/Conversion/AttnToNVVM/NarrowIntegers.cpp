//===- NarrowIntegers.cpp - 32-bit kernel arithmetic from assumed ranges --===//
//
// The mask and score rules compute on i64 (the spec language's integers),
// and so did the kernels: every position compare of a neighborhood mask was
// a 64-bit compare, two SASS instructions. The kernel builder knows more
// than the IR says: sizes of q, k, v and the output are at most 2^30 (CUDA
// launches refuse larger), and token positions stay below that plus a tile.
// It records those facts as attn.assume_range ops; this pass lets upstream's
// integer range analysis carry them through the arithmetic and narrows what
// provably fits 32 bits, then drops the assumptions.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNNARROWKERNELINTEGERSPASS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

struct AttnNarrowKernelIntegersPass
    : mlir::attn::impl::AttnNarrowKernelIntegersPassBase<
          AttnNarrowKernelIntegersPass> {
  using Base::Base;

  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    OpPassManager narrowing(gpu::GPUModuleOp::getOperationName());
    arith::ArithIntRangeNarrowingOptions options;
    options.bitwidthsSupported = {32};
    narrowing.addPass(arith::createArithIntRangeNarrowing(options));
    if (failed(runPipeline(narrowing, module)))
      return signalPassFailure();
    module.walk([](AssumeRangeOp assume) {
      assume.getResult().replaceAllUsesWith(assume.getValue());
      assume.erase();
    });
  }
};

} // namespace
