//===- Bundle.cpp - ahead-of-time code and manifests of kernels -----------===//
//
// Re-parses a kernel's lowered LLVM-dialect module in a fresh context (so a
// bundle can be written from any thread, long after compilation), translates
// it to LLVM IR, optimises it for the requested CPU, emits a PIC object with
// llvm::TargetMachine and links it into a shared library with ld.lld. The
// manifest is written with llvm::json; docs/bundle.md holds its schema.
//
//===----------------------------------------------------------------------===//

#include "attnc/Bundle.h"
#include "CudaCompile.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/InitAll.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

using namespace attnc;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace {
/// What code generation fixed: the target and the schedule of the kernel.
struct CodeGenResult {
  std::string triple, cpu, features;
  std::string llvmIR;
  std::string object;
  /// The attn.schedule of the kernel entry, printed, and its fields.
  llvm::json::Object schedule;
};
} // namespace

llvm::json::Array detail::toJSON(llvm::ArrayRef<int64_t> values) {
  llvm::json::Array array;
  for (int64_t v : values)
    array.push_back(v);
  return array;
}

llvm::json::Object detail::scheduleManifest(mlir::attn::ScheduleAttr schedule,
                                            int64_t warps) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << schedule;
  llvm::json::Object object{{"tile_q", toJSON(schedule.getTileQ())},
                            {"tile_kv", toJSON(schedule.getTileKv())},
                            {"warps", warps},
                            {"stages", schedule.getStages()},
                            {"split_kv", schedule.getSplitKv()},
                            {"text", std::move(text)}};
  if (!schedule.getTileDilation().empty())
    object["tile_dilation"] = toJSON(schedule.getTileDilation());
  return object;
}

/// Translates, optimises and (with `wantObject`) emits the kernel's code.
static Expected<CodeGenResult> generate(const Kernel &kernel,
                                        const BundleOptions &options,
                                        bool wantIR, bool wantObject) {
  if (kernel.loweredIR().empty())
    return llvm::createStringError(
        "kernel '" + kernel.signature().name +
        "' was loaded from a bundle and has no IR to emit");
  // gridExpressions reads the token sizes of q; a malformed signature is
  // refused rather than read out of bounds.
  const KernelSignature &sig = kernel.signature();
  if (!sig.params.empty() && sig.params.front().role == "q" &&
      sig.params.front().dims.size() < 3 + sig.tileQ.size())
    return llvm::createStringError(
        "internal error: kernel '" + sig.name +
        "' has more query tile axes than q has token axes");
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });

  mlir::DialectRegistry registry;
  mlir::attn::registerAllDialects(registry);
  registry.insert<mlir::LLVM::LLVMDialect>();
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  // Bundles are written from many threads at once (the disk cache); a
  // per-context thread pool would only oversubscribe the machine.
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  auto module =
      mlir::parseSourceString<mlir::ModuleOp>(kernel.loweredIR(), &context);
  if (!module)
    return llvm::createStringError("internal error: the lowered module of '" +
                                   kernel.signature().name +
                                   "' does not parse");

  CodeGenResult result;
  module->walk([&](mlir::LLVM::LLVMFuncOp func) {
    auto schedule =
        func->getAttrOfType<mlir::attn::ScheduleAttr>("attn.schedule");
    if (!schedule)
      return;
    result.schedule = detail::scheduleManifest(schedule, schedule.getWarps());
  });

  llvm::Triple triple(llvm::sys::getProcessTriple());
  result.triple = triple.str();
  std::string targetError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, targetError);
  if (!target)
    return llvm::createStringError("no LLVM target for " + result.triple +
                                   ": " + targetError);
  if (options.cpu == "host") {
    result.cpu = llvm::sys::getHostCPUName().str();
    std::string features;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(feature.second ? "+" : "-") +
                  feature.first().str();
    result.features = features;
  } else if (!options.cpu.empty()) {
    result.cpu = options.cpu;
  } else {
    result.cpu = triple.getArch() == llvm::Triple::x86_64 ? "x86-64-v3"
                                                          : "generic";
  }
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, result.cpu, result.features, llvm::TargetOptions(),
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return llvm::createStringError("cannot create a target machine for cpu '" +
                                   result.cpu + "'");

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(*module, llvmContext,
                                    kernel.signature().name);
  if (!llvmModule)
    return llvm::createStringError("internal error: translating '" +
                                   kernel.signature().name +
                                   "' to LLVM IR failed");
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  // The entry carries the target CPU so that the optimiser's cost model and
  // the code generator agree with `machine`.
  for (llvm::Function &function : *llvmModule) {
    if (function.isDeclaration())
      continue;
    function.addFnAttr("target-cpu", result.cpu);
    if (!result.features.empty())
      function.addFnAttr("target-features", result.features);
  }
  if (Error error =
          mlir::makeOptimizingTransformer(3, 0, machine.get())(llvmModule.get()))
    return std::move(error);
  if (wantIR) {
    llvm::raw_string_ostream os(result.llvmIR);
    llvmModule->print(os, nullptr);
  }
  if (wantObject) {
    llvm::SmallVector<char, 0> buffer;
    llvm::raw_svector_ostream os(buffer);
    llvm::legacy::PassManager passes;
    if (machine->addPassesToEmitFile(passes, os, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return llvm::createStringError("the target cannot emit object files");
    passes.run(*llvmModule);
    result.object.assign(buffer.begin(), buffer.end());
  }
  return result;
}

Expected<std::string> attnc::emitLLVMIR(const Kernel &kernel,
                                        const BundleOptions &options) {
  auto result = generate(kernel, options, /*wantIR=*/true, false);
  if (!result)
    return result.takeError();
  return std::move(result->llvmIR);
}

Expected<std::string> attnc::emitObject(const Kernel &kernel,
                                        const BundleOptions &options) {
  auto result = generate(kernel, options, false, /*wantObject=*/true);
  if (!result)
    return result.takeError();
  return std::move(result->object);
}

std::string attnc::findLinker() {
  if (const char *env = std::getenv("ATTNC_LLD"))
    return llvm::sys::fs::can_execute(env) ? std::string(env) : std::string();
#ifdef ATTNC_LLVM_TOOLS_DIR
  llvm::SmallString<256> path(ATTNC_LLVM_TOOLS_DIR);
  llvm::sys::path::append(path, "ld.lld");
  if (llvm::sys::fs::can_execute(path))
    return std::string(path);
#endif
  for (StringRef name : {"ld.lld-22", "ld.lld"})
    if (auto found = llvm::sys::findProgramByName(name))
      return *found;
  return {};
}

/// A size dimension's name, or a literal extent, as it appears in
/// expressions.
static std::string dimText(const DimInfo &dim) {
  return dim.isSize() ? dim.size : std::to_string(dim.extent);
}

std::array<std::string, 3>
attnc::gridExpressions(const KernelSignature &signature) {
  // A cascade (no q) runs as one block, as Kernel::grid launches it.
  if (signature.params.empty() || signature.params.front().role != "q")
    return {"1", "1", "1"};
  const ParamInfo &q = signature.params.front();
  std::string x;
  for (auto [axis, tile] : llvm::enumerate(signature.tileQ)) {
    std::string extent = dimText(q.dims[2 + axis]);
    auto ceilDiv = [](const std::string &x, int64_t y) {
      return y == 1 ? x
                    : "(" + x + " + " + std::to_string(y - 1) + ") / " +
                          std::to_string(y);
    };
    // A dilated axis: `dilation` residue classes of at most
    // ceil(extent / dilation) positions each (queryTilesAlong).
    int64_t dilation =
        signature.tileDilation.empty() ? 1 : signature.tileDilation[axis];
    std::string tiles =
        dilation == 1
            ? ceilDiv(extent, tile)
            : std::to_string(dilation) + " * (" +
                  ceilDiv("(" + ceilDiv(extent, dilation) + ")", tile) + ")";
    if (signature.tileQ.size() > 1 && tile != 1)
      tiles = "(" + tiles + ")";
    x += (x.empty() ? "" : " * ") + tiles;
  }
  if (x.empty())
    x = "1";
  return {x, dimText(q.dims[1]), dimText(q.dims[0])};
}

llvm::json::Array attnc::manifestParameters(const KernelSignature &sig) {
  llvm::json::Array parameters;
  for (const ParamInfo &param : sig.params) {
    llvm::json::Array shape;
    for (const DimInfo &dim : param.dims) {
      if (dim.isSize())
        shape.push_back(dim.size);
      else
        shape.push_back(dim.extent);
    }
    parameters.push_back(llvm::json::Object{{"kind", "pointer"},
                                            {"name", param.name},
                                            {"role", param.role},
                                            {"dtype", dtypeName(param.dtype)},
                                            {"shape", std::move(shape)}});
  }
  for (const ParamInfo &param : sig.params)
    for (StringRef field : {"size", "stride"})
      for (size_t dim = 0; dim < param.dims.size(); ++dim)
        parameters.push_back(llvm::json::Object{
            {"kind", "i64"},
            {"name", param.name + "." + field.str() + std::to_string(dim)},
            {"tensor", param.name},
            {"field", field},
            {"dim", int64_t(dim)}});
  return parameters;
}

/// The manifest of a one-kernel CPU bundle.
static llvm::json::Value manifest(const Kernel &kernel,
                                  const CodeGenResult &code,
                                  StringRef object, StringRef library) {
  const KernelSignature &sig = kernel.signature();
  llvm::json::Array parameters = manifestParameters(sig);
  auto grid = gridExpressions(sig);
  llvm::json::Object kernelObject{
      {"name", sig.name},
      {"entry", sig.name},
      {"abi", "packed-cpu"},
      {"num_token_axes", int64_t(sig.numTokenAxes)},
      {"parameters", std::move(parameters)},
      {"grid", llvm::json::Array{grid[0], grid[1], grid[2]}},
      {"block", llvm::json::Array{1, 1, 1}},
      {"dynamic_shared_memory", 0},
      {"workspace", llvm::json::Array{}},
      {"schedule", llvm::json::Object(code.schedule)}};
  llvm::json::Object codeObject{{"object", object}};
  if (!library.empty())
    codeObject["library"] = library;
  return llvm::json::Object{
      {"version", kBundleVersion},
      {"compiler", version()},
      {"name", sig.name},
      {"target", llvm::json::Object{{"kind", "cpu"},
                                    {"triple", code.triple},
                                    {"cpu", code.cpu}}},
      {"code", std::move(codeObject)},
      {"kernels", llvm::json::Array{std::move(kernelObject)}}};
}

Error detail::writeFile(StringRef path, StringRef contents) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError("cannot write '" + path +
                                   "': " + ec.message());
  os << contents;
  os.close();
  if (os.has_error())
    return llvm::createStringError("cannot write '" + path +
                                   "': " + os.error().message());
  return Error::success();
}

Error attnc::writeBundle(const Kernel &kernel, StringRef dir,
                         const BundleOptions &options) {
  if (kernel.cudaKernel())
    return detail::writeCudaBundle(kernel, dir, options);
  auto code = generate(kernel, options, false, /*wantObject=*/true);
  if (!code)
    return code.takeError();
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError("cannot create '" + dir +
                                   "': " + ec.message());
  const std::string &name = kernel.signature().name;
  std::string objectName = name + ".o", libraryName;
  llvm::SmallString<256> objectPath(dir);
  llvm::sys::path::append(objectPath, objectName);
  if (Error error = detail::writeFile(objectPath, code->object))
    return error;

  std::string linker = options.link ? findLinker() : std::string();
  if (!linker.empty()) {
    llvm::SmallString<256> libraryPath(dir);
    llvm::sys::path::append(libraryPath, name + ".so");
    std::string message;
    llvm::SmallVector<StringRef> args{linker,       "-shared",
                                      "-z",         "noexecstack",
                                      "-o",         libraryPath,
                                      objectPath};
    int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, {}, 0, 0,
                                       &message);
    if (rc != 0)
      return llvm::createStringError(
          "linking '" + libraryPath + "' with " + linker + " failed (exit " +
          llvm::Twine(rc) + ")" + (message.empty() ? "" : ": " + message));
    libraryName = name + ".so";
  }

  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::formatv("{0:2}", manifest(kernel, *code, objectName,
                                         libraryName))
     << "\n";
  llvm::SmallString<256> jsonPath(dir);
  llvm::sys::path::append(jsonPath, name + ".json");
  return detail::writeFile(jsonPath, json);
}
