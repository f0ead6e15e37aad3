//===- CudaCompile.cpp - attn IR to PTX, and CUDA bundles -----------------===//
//
// attn IR -> buildAttnToGPUPasses -> (read each gpu.func's schedule, block
// size and dynamic shared memory) -> buildGPUToPTXPasses -> PTX. This is the
// one implementation behind `attnc compile --target=cuda`, `attnc run
// --target=cuda`, attnc_compile and attnc.compile(target="cuda"), so that
// bundles and in-process kernels carry the same code.
//
//===----------------------------------------------------------------------===//

#include "CudaCompile.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Pipelines/NVVMPipeline.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace attnc;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

std::optional<std::string> detail::cudaChip(StringRef target) {
  if (target == "cuda")
    return std::string("sm_90a");
  if (target == "cuda:sm_80" || target == "cuda:sm_90" ||
      target == "cuda:sm_90a")
    return target.drop_front(5).str();
  return std::nullopt;
}

/// Runs `pm` on `module`, returning the diagnostics as the error.
static Error runPasses(mlir::PassManager &pm, mlir::ModuleOp module,
                       const llvm::Twine &what) {
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  mlir::ScopedDiagnosticHandler handler(
      module.getContext(), [&](mlir::Diagnostic &d) {
        os << d << "\n";
        return mlir::success();
      });
  if (mlir::failed(pm.run(module)))
    return llvm::createStringError(
        what + " failed: " + StringRef(diagnostics).rtrim());
  return Error::success();
}

Expected<detail::CudaLowering> detail::lowerToPTX(mlir::ModuleOp module,
                                                  StringRef chip) {
  mlir::PassManager first(module.getContext());
  mlir::attn::buildAttnToGPUPasses(first, chip);
  if (Error error = runPasses(first, module, "lowering for " + chip))
    return std::move(error);

  CudaLowering result;
  unsigned kernels = 0;
  module->walk([&](mlir::gpu::GPUFuncOp kernel) {
    if (!kernel.isKernel())
      return;
    ++kernels;
    auto schedule =
        kernel->getAttrOfType<mlir::attn::ScheduleAttr>("attn.schedule");
    auto smem =
        kernel->getAttrOfType<mlir::IntegerAttr>("attn.dynamic_shared_memory");
    int64_t threads = 1;
    if (auto block = kernel.getKnownBlockSize())
      threads = (*block)[0];
    result.image.entry = kernel.getName().str();
    result.image.block = {threads, 1, 1};
    result.image.dynamicSharedMemory = smem ? smem.getInt() : 0;
    if (!schedule)
      return;
    result.tileQ = schedule.getTileQ().vec();
    result.tileDilation = schedule.getTileDilation().vec();
    result.image.schedule = scheduleManifest(schedule, threads / 32);
  });
  if (kernels != 1)
    return llvm::createStringError(
        "the cuda lowering made " + llvm::Twine(kernels) +
        " kernels; attnc launches exactly one per pattern");
  if (result.image.schedule.empty())
    return llvm::createStringError("internal error: kernel '" +
                                   result.image.entry +
                                   "' has no attn.schedule");

  mlir::attn::NVVMPipelineOptions pipeline;
  pipeline.chip = chip.str();
  pipeline.features = chip == "sm_80" ? "+ptx70" : "+ptx80";
  mlir::PassManager second(module.getContext());
  mlir::attn::buildGPUToPTXPasses(second, pipeline);
  if (Error error = runPasses(second, module, "generating PTX for " + chip))
    return std::move(error);
  mlir::FailureOr<std::string> ptx = mlir::attn::extractPTX(module);
  if (mlir::failed(ptx))
    return llvm::createStringError(
        "internal error: no PTX after the NVVM pipeline");
  result.image.ptx = std::move(*ptx);
  result.image.chip = chip.str();
  return result;
}

//===----------------------------------------------------------------------===//
// Bundles
//===----------------------------------------------------------------------===//

/// ptxas from PATH, then $CUDA_HOME/bin, then /usr/local/cuda/bin.
static std::optional<std::string> findPtxas() {
  if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName("ptxas"))
    return *found;
  llvm::SmallVector<std::string> roots;
  if (const char *home = std::getenv("CUDA_HOME"))
    roots.push_back(home);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    llvm::SmallString<256> path(root);
    llvm::sys::path::append(path, "bin", "ptxas");
    if (llvm::sys::fs::can_execute(path))
      return std::string(path);
  }
  return std::nullopt;
}

/// `<dir>/<name>` written through the bundle writer's detail::writeFile.
static Error writeInDir(StringRef dir, const llvm::Twine &name,
                        StringRef contents) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return detail::writeFile(path, contents);
}

/// The tensors as bench/gpu/run.py reads them (its launcher predates the
/// shared manifest): name by position, dtype, rank, shape with null sizes.
static llvm::json::Array legacyTensors(const KernelSignature &sig) {
  llvm::json::Array tensors;
  unsigned input = 0;
  for (const ParamInfo &param : sig.params) {
    std::string name = param.role;
    if (param.role == "input")
      name = "input" + std::to_string(input++);
    else if (param.role == "output")
      name = "out";
    llvm::json::Array shape;
    for (const DimInfo &dim : param.dims)
      shape.push_back(dim.isSize() ? llvm::json::Value(nullptr)
                                   : llvm::json::Value(dim.extent));
    tensors.push_back(llvm::json::Object{{"name", name},
                                         {"dtype", dtypeName(param.dtype)},
                                         {"rank", int64_t(param.dims.size())},
                                         {"shape", std::move(shape)}});
  }
  return tensors;
}

Error detail::writeCudaBundle(const Kernel &kernel, StringRef dir,
                              const BundleOptions &options) {
  const CudaKernel *cuda = kernel.cudaKernel();
  if (!cuda)
    return llvm::createStringError("internal error: not a cuda kernel");
  const KernelSignature &sig = kernel.signature();
  const CudaImage &image = cuda->image();
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError("cannot create '" + dir +
                                   "': " + ec.message());
  std::string ptxName = sig.name + ".ptx", cubinName;
  if (Error error = writeInDir(dir, ptxName, image.ptx))
    return error;
  if (std::optional<std::string> ptxas = findPtxas()) {
    llvm::SmallString<256> ptxPath(dir), cubinPath(dir);
    llvm::sys::path::append(ptxPath, ptxName);
    llvm::sys::path::append(cubinPath, sig.name + ".cubin");
    std::string arch = "-arch=" + image.chip, message;
    llvm::SmallVector<StringRef> args{*ptxas, arch, ptxPath, "-o", cubinPath};
    int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, {}, 0, 0,
                                       &message);
    if (rc != 0)
      return llvm::createStringError("ptxas failed on " + ptxPath + " (exit " +
                                     llvm::Twine(rc) + ")" +
                                     (message.empty() ? "" : ": " + message));
    cubinName = sig.name + ".cubin";
  } else if (options.requireCubin) {
    return llvm::createStringError("a cubin needs ptxas (PATH, CUDA_HOME or "
                                   "/usr/local/cuda)");
  }
  auto grid = image.grid;
  llvm::json::Object kernelObject{
      {"name", image.entry},
      {"entry", image.entry},
      {"abi", "cuda"},
      {"num_token_axes", int64_t(sig.numTokenAxes)},
      {"parameters", manifestParameters(sig)},
      {"grid", llvm::json::Array{grid[0], grid[1], grid[2]}},
      {"block", toJSON(image.block)},
      {"dynamic_shared_memory", image.dynamicSharedMemory},
      {"alignment_bytes", image.alignment},
      {"workspace", llvm::json::Array{}},
      {"schedule", llvm::json::Object(image.schedule)},
      {"tensors", legacyTensors(sig)},
      {"params", "one pointer per tensor in order, then per tensor its sizes "
                 "and its strides (in elements) as i64"}};
  llvm::json::Object code{{"object", ptxName}};
  llvm::json::Object root{
      {"version", kBundleVersion},
      {"compiler", version()},
      {"name", sig.name},
      {"target", llvm::json::Object{{"kind", "cuda"},
                                    {"triple", "nvptx64-nvidia-cuda"},
                                    {"cpu", image.chip}}},
      {"kernels", llvm::json::Array{std::move(kernelObject)}},
      // Read by bench/gpu/run.py's own launcher.
      {"ptx", ptxName},
      {"chip", image.chip}};
  if (!cubinName.empty()) {
    code["cubin"] = cubinName;
    root["cubin"] = cubinName;
  }
  root["code"] = std::move(code);
  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return writeInDir(dir, sig.name + ".json", json);
}
