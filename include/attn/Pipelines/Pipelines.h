//===- Pipelines.h - attnc's registered lowering pipelines ------*- C++ -*-===//
//
// Each pipeline is one builder with typed options, registered under a name so
// it round-trips as a --pass-pipeline= string: any bug reproduces with
// attn-opt alone.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PIPELINES_PIPELINES_H
#define ATTN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> lowerToLLVM{
      *this, "lower-to-llvm",
      llvm::cl::desc("Continue from the scf/vector kernels to the LLVM "
                     "dialect"),
      llvm::cl::init(true)};
};

/// attn-lower-to-cpu-pipeline: default schedules, attn.attention to tiled
/// kernels (scf + vector + memref), then the LLVM dialect.
void buildLowerToCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers attnc's pipelines and the upstream passes they use, so
/// attn-opt can run each step alone.
void registerPipelines();

} // namespace mlir::attn

#endif // ATTN_PIPELINES_PIPELINES_H
