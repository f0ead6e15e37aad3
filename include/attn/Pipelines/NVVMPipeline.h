//===- NVVMPipeline.h - attn-lower-to-nvvm-pipeline -------------*- C++ -*-===//
//
// attn IR -> mma.sync kernels -> NVVM -> PTX (gpu-module-to-binary
// format=isa), and the extraction of the PTX text from the resulting
// #gpu.object. Registered as `attn-lower-to-nvvm-pipeline` so that every
// step reproduces with attn-opt --pass-pipeline=... alone.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PIPELINES_NVVMPIPELINE_H
#define ATTN_PIPELINES_NVVMPIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

struct NVVMPipelineOptions : public PassPipelineOptions<NVVMPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target chip: sm_80, sm_90 or sm_90a"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features (sm_90 needs at least +ptx80)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level", llvm::cl::desc("LLVM optimisation level"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> libdevice{
      *this, "libdevice",
      llvm::cl::desc("libdevice bitcode for math functions (empty: "
                     "$CUDA_HOME/nvvm/libdevice/libdevice.10.bc when present)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("gpu-module-to-binary format: isa (PTX), bin, fatbin, "
                     "or none to stop at the NVVM dialect"),
      llvm::cl::init("isa")};
};

/// The first half: default schedules and attn.attention to gpu.func kernels
/// (a driver reads the kernels' attributes between the halves).
void buildAttnToGPUPasses(OpPassManager &pm, StringRef chip);
/// The second half: gpu.module to NVVM/LLVM, target attachment, PTX.
void buildGPUToPTXPasses(OpPassManager &pm, const NVVMPipelineOptions &options);

/// attn-lower-to-nvvm-pipeline: both halves.
void buildLowerToNVVMPipeline(OpPassManager &pm,
                              const NVVMPipelineOptions &options);

/// Registers the pipeline and the upstream passes it uses.
void registerNVVMPipeline();

/// Registers what the pipeline needs in a context: the GPU, NVVM and
/// LLVM dialects, the NVVM target attribute's serialisation, and the
/// LLVM IR translations used by gpu-module-to-binary.
void registerNVVMDialects(DialectRegistry &registry);

/// The PTX text of the first #gpu.object in `module` (after the pipeline
/// with format=isa); fails with a diagnostic when there is none.
FailureOr<std::string> extractPTX(ModuleOp module);

/// The libdevice path the pipeline uses when its option is empty: from
/// CUDA_HOME, CUDA_ROOT or CUDA_PATH, else /usr/local/cuda; empty when the
/// file does not exist.
std::string defaultLibdevicePath();

} // namespace mlir::attn

#endif // ATTN_PIPELINES_NVVMPIPELINE_H
