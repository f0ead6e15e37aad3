//===- CPUPipeline.cpp - attn-lower-to-cpu-pipeline -----------------------===//

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::attn;

void mlir::attn::buildLowerToCPUPipeline(OpPassManager &pm,
                                         const CPUPipelineOptions &options) {
  AttnSelectSchedulePassOptions schedule;
  schedule.target = "cpu";
  pm.addPass(createAttnSelectSchedulePass(schedule));
  pm.addPass(createConvertAttnToCPUPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (!options.lowerToLLVM)
    return;
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::attn::registerPipelines() {
  registerSCFToControlFlowPass();
  registerConvertVectorToLLVMPass();
  registerConvertMathToLLVMPass();
  memref::registerExpandStridedMetadataPass();
  registerFinalizeMemRefToLLVMConversionPass();
  registerArithToLLVMConversionPass();
  registerConvertFuncToLLVMPass();
  registerConvertControlFlowToLLVMPass();
  registerUBToLLVMConversionPass();
  registerReconcileUnrealizedCastsPass();
  PassPipelineRegistration<CPUPipelineOptions>(
      "attn-lower-to-cpu-pipeline",
      "Lower attn to tiled CPU kernels in the LLVM dialect",
      buildLowerToCPUPipeline);
}
