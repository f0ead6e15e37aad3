//===- NVVMPipeline.cpp - attn-lower-to-nvvm-pipeline ---------------------===//

#include "attn/Pipelines/NVVMPipeline.h"

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::attn;

std::string mlir::attn::defaultLibdevicePath() {
  for (const char *variable : {"CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"}) {
    const char *root = std::getenv(variable);
    if (!root || !*root)
      continue;
    llvm::SmallString<256> path(root);
    llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::exists(path))
      return std::string(path);
  }
  const char *fallback = "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc";
  return llvm::sys::fs::exists(fallback) ? fallback : "";
}

void mlir::attn::buildAttnToGPUPasses(OpPassManager &pm, StringRef chip) {
  AttnSelectSchedulePassOptions schedule;
  schedule.target = "cuda";
  pm.addPass(createAttnSelectSchedulePass(schedule));
  ConvertAttnToNVVMPassOptions kernels;
  kernels.chip = chip.str();
  pm.addPass(createConvertAttnToNVVMPass(kernels));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.nest<gpu::GPUModuleOp>().addPass(createAttnNarrowKernelIntegersPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Shared-memory pointers of 32 bits (LLVM's `nvptx-short-ptr`): shared
/// addresses are 32-bit on the GPU, and with 64-bit pointers every staged
/// read, descriptor and tile offset computed its address in register pairs.
/// The option is process-wide and read when an NVPTX target machine is
/// created, so it is set before any kernel is translated.
static void useShortSharedPointers() {
  static bool done = [] {
    auto &options = llvm::cl::getRegisteredOptions();
    if (auto *option = options.lookup("nvptx-short-ptr"))
      (void)option->addOccurrence(0, "nvptx-short-ptr", "true");
    return true;
  }();
  (void)done;
}

void mlir::attn::buildGPUToPTXPasses(OpPassManager &pm,
                                     const NVVMPipelineOptions &options) {
  useShortSharedPointers();
  // As upstream's gpu-lower-to-nvvm-pipeline: arith and cf go to LLVM on the
  // whole module first (convert-gpu-to-nvvm alone leaves index-typed branch
  // arguments half converted), then the gpu ops and math (libdevice).
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.nest<gpu::GPUModuleOp>().addPass(createConvertGpuOpsToNVVMOps());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.format == "none")
    return;
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  // Math in mask and score rules (tanh, exp, log) becomes libdevice calls.
  std::string libdevice = options.libdevice.empty() ? defaultLibdevicePath()
                                                    : options.libdevice.getValue();
  if (!libdevice.empty())
    target.linkLibs.push_back(libdevice);
  pm.addPass(createGpuNVVMAttachTarget(target));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void mlir::attn::buildLowerToNVVMPipeline(OpPassManager &pm,
                                          const NVVMPipelineOptions &options) {
  buildAttnToGPUPasses(pm, options.chip);
  buildGPUToPTXPasses(pm, options);
}

void mlir::attn::registerNVVMPipeline() {
  registerSCFToControlFlowPass();
  registerArithToLLVMConversionPass();
  registerConvertControlFlowToLLVMPass();
  registerConvertGpuOpsToNVVMOps();
  registerConvertNVVMToLLVMPass();
  registerReconcileUnrealizedCastsPass();
  registerGpuNVVMAttachTarget();
  registerGpuModuleToBinaryPass();
  PassPipelineRegistration<NVVMPipelineOptions>(
      "attn-lower-to-nvvm-pipeline",
      "Lower attn to mma.sync CUDA kernels and on to PTX",
      buildLowerToNVVMPipeline);
}

void mlir::attn::registerNVVMDialects(DialectRegistry &registry) {
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

FailureOr<std::string> mlir::attn::extractPTX(ModuleOp module) {
  std::string ptx;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(attr);
      if (object && object.getFormat() == gpu::CompilationTarget::Assembly) {
        ptx = object.getObject().getValue().str();
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  if (ptx.empty())
    return module.emitError("no PTX in the module: run "
                            "attn-lower-to-nvvm-pipeline with format=isa"),
           failure();
  return ptx;
}
