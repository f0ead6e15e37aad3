//===- Compiler.cpp - spec to JIT-compiled kernel -------------------------===//
//
// parse + check the spec -> attn IR (SpecToAttn) -> attn-lower-to-cpu-pipeline
// -> LLVM IR -> ORC JIT through mlir::ExecutionEngine, optimised for the host
// CPU. Each compilation has its own MLIRContext, so compilations in different
// threads share nothing but the cache.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler.h"
#include "CudaCompile.h"
#include "DiskCache.h"
#include "HostSymbols.h"

#include "attnc/BundleLauncher.h"

#include "attn/Conversion/NeighborhoodWindows.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/InitAll.h"
#include "attn/Pipelines/Pipelines.h"
#include "attn/Spec/Spec.h"
#include "attn/Spec/SpecToAttn.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <mutex>

using namespace attnc;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

llvm::StringRef attnc::version() { return "attnc 0.1 (MLIR 22)"; }

struct Kernel::State {
  KernelSignature signature;
  std::string highLevelIR;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  PackedKernelFn function = nullptr;
  unsigned threads = 0;
  /// The LLVM-dialect module after lowering (bundles are emitted from it).
  std::string loweredIR;
  /// Keeps a dlopened bundle alive (kernels loaded from the disk cache).
  std::shared_ptr<const void> library;
  bool fromDiskCache = false;
  /// Set for cuda kernels (lib/Compiler/CudaCompile.cpp).
  std::shared_ptr<const CudaKernel> cuda;
};

const KernelSignature &Kernel::signature() const { return state->signature; }
const std::string &Kernel::highLevelIR() const { return state->highLevelIR; }
const std::string &Kernel::loweredIR() const { return state->loweredIR; }
bool Kernel::isFromDiskCache() const { return state->fromDiskCache; }
const CudaKernel *Kernel::cudaKernel() const { return state->cuda.get(); }

Kernel Kernel::fromPackedFunction(KernelSignature signature,
                                  std::string highLevelIR, PackedKernelFn fn,
                                  std::shared_ptr<const void> owner,
                                  unsigned threads, bool fromDiskCache) {
  auto state = std::make_shared<State>();
  state->signature = std::move(signature);
  state->highLevelIR = std::move(highLevelIR);
  state->function = fn;
  state->library = std::move(owner);
  state->threads = threads;
  state->fromDiskCache = fromDiskCache;
  Kernel kernel;
  kernel.state = std::move(state);
  return kernel;
}

Kernel Kernel::fromCudaKernel(std::string highLevelIR,
                              std::shared_ptr<const CudaKernel> cuda,
                              bool fromDiskCache) {
  auto state = std::make_shared<State>();
  state->signature = cuda->signature();
  state->highLevelIR = std::move(highLevelIR);
  state->cuda = std::move(cuda);
  state->fromDiskCache = fromDiskCache;
  Kernel kernel;
  kernel.state = std::move(state);
  return kernel;
}

Expected<llvm::StringMap<int64_t>>
Kernel::bindSizes(llvm::ArrayRef<TensorView> tensors) const {
  // One implementation of the launch checks, shared with the JSON-only
  // bundle launcher, so that both refuse the same tensors the same way.
  return checkTensors(signature(), tensors);
}

std::array<int64_t, 3> Kernel::grid(llvm::ArrayRef<TensorView> tensors) const {
  // A cascade kernel is one block; linear attention has no query tiles, so
  // its grid is (1, heads, batch).
  if (signature().params.empty() || signature().params.front().role != "q")
    return {1, 1, 1};
  const TensorView &q = tensors.front();
  const KernelSignature &sig = signature();
  int64_t tiles = 1;
  for (auto [axis, tile] : llvm::enumerate(sig.tileQ))
    tiles *= mlir::attn::queryTilesAlong(
        q.sizes[2 + axis], tile,
        sig.tileDilation.empty() ? 1 : sig.tileDilation[axis]);
  return {tiles, q.sizes[1], q.sizes[0]};
}

Error Kernel::launch(llvm::ArrayRef<TensorView> tensors, void *stream) const {
  if (!state)
    return llvm::createStringError("launch of an empty kernel");
  if (state->cuda)
    return state->cuda->launch(tensors, stream);
  if (auto sizes = bindSizes(tensors); !sizes)
    return sizes.takeError();
  if (Error error = checkCpuDevices(signature(), tensors))
    return error;
  launchCpuGrid(state->function, grid(tensors), tensors, state->threads);
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Compiler
//===----------------------------------------------------------------------===//

struct Compiler::Impl {
  std::mutex mutex;
  llvm::StringMap<std::shared_ptr<const Kernel::State>> cache;
  CompilerOptions options;
};

Compiler::Compiler() : Compiler(CompilerOptions()) {}

Compiler::Compiler(CompilerOptions options) : impl(std::make_unique<Impl>()) {
  impl->options = std::move(options);
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

Compiler::~Compiler() = default;

static DType toRuntimeDType(mlir::attn::spec::DType type) {
  using S = mlir::attn::spec::DType;
  switch (type) {
  case S::F32: return DType::f32;
  case S::F16: return DType::f16;
  case S::BF16: return DType::bf16;
  case S::I32: return DType::i32;
  case S::I64: return DType::i64;
  case S::Bool: return DType::boolean;
  }
  llvm_unreachable("unknown spec dtype");
}

static ParamInfo paramOf(const mlir::attn::spec::TensorDecl &decl,
                         StringRef role, std::optional<DType> dtype) {
  ParamInfo param{decl.name, role.str(),
                  dtype ? *dtype : toRuntimeDType(decl.dtype), {}};
  for (const mlir::attn::spec::Dim &dim : decl.dims)
    param.dims.push_back({dim.size, dim.extent});
  return param;
}

/// The launch signature of a cascade: its inputs, then its output steps
/// (always f32).
static KernelSignature cascadeSignatureOf(const mlir::attn::spec::Block &block) {
  KernelSignature sig;
  sig.name = block.name;
  sig.numTokenAxes = 0;
  for (const auto &input : block.inputs)
    sig.params.push_back(paramOf(input, "input", std::nullopt));
  for (const mlir::attn::spec::CascadeStep &step : block.steps) {
    if (!step.isOutput)
      continue;
    ParamInfo out{step.name, "output", DType::f32, {}};
    for (const mlir::attn::spec::Dim &dim : step.dims)
      out.dims.push_back({dim.size, dim.extent});
    sig.params.push_back(out);
  }
  return sig;
}

/// The launch signature of an attention or linear attention block, from its
/// declarations.
static KernelSignature signatureOf(const mlir::attn::spec::Block &block,
                                   std::optional<DType> qkvDType,
                                   llvm::ArrayRef<int64_t> tileQ,
                                   llvm::ArrayRef<int64_t> tileDilation = {}) {
  if (block.kind == mlir::attn::spec::BlockKind::Cascade)
    return cascadeSignatureOf(block);
  KernelSignature sig;
  sig.name = block.name;
  sig.numTokenAxes = block.numTokenAxes();
  sig.tileQ = tileQ.vec();
  sig.tileDilation = tileDilation.vec();
  sig.params.push_back(paramOf(*block.q, "q", qkvDType));
  sig.params.push_back(paramOf(*block.k, "k", qkvDType));
  sig.params.push_back(paramOf(*block.v, "v", qkvDType));
  for (const auto &input : block.inputs)
    sig.params.push_back(paramOf(input, "input", std::nullopt));
  ParamInfo out = sig.params.front();
  out.name = "out";
  out.role = "output";
  out.dims.back() = sig.params[2].dims.back();
  sig.params.push_back(out);
  if (block.outputLse) {
    ParamInfo lse = sig.params.front();
    lse.name = "lse";
    lse.role = "lse";
    lse.dtype = DType::f32;
    lse.dims.pop_back();
    sig.params.push_back(lse);
  }
  return sig;
}

/// Rewrites the attention function of `module` into its pair counter: the
/// same mask, no score rule, and an lse result.
static void makePairCounter(mlir::ModuleOp module) {
  llvm::SmallVector<mlir::attn::AttentionOp> ops;
  module.walk([&](mlir::attn::AttentionOp op) { ops.push_back(op); });
  for (mlir::attn::AttentionOp op : ops) {
    mlir::OpBuilder builder(op);
    auto outType = op.getOutput().getType();
    auto lseShape = outType.getShape().drop_back();
    auto lseType = mlir::RankedTensorType::get(lseShape, builder.getF32Type());
    auto counter = mlir::attn::AttentionOp::create(
        builder, op.getLoc(), mlir::TypeRange{outType, lseType}, op.getQuery(),
        op.getKey(), op.getValue(), op.getScale(), op.getInputs(),
        op.getScheduleAttr());
    counter.getMask().takeBody(op.getMask());
    op.getOutput().replaceAllUsesWith(counter.getOutput());
    auto func = op->getParentOfType<mlir::func::FuncOp>();
    auto ret = llvm::cast<mlir::func::ReturnOp>(
        func.getBody().front().getTerminator());
    mlir::OpBuilder retBuilder(ret);
    mlir::func::ReturnOp::create(retBuilder, ret.getLoc(),
                                 mlir::ValueRange{counter.getOutput(),
                                                  counter.getLse()});
    ret.erase();
    op.erase();
    func.setFunctionType(mlir::FunctionType::get(
        func.getContext(), func.getArgumentTypes(), {outType, lseType}));
  }
}

Expected<Kernel> Compiler::compileSpec(StringRef source, StringRef bufferName,
                                       const CompileOptions &options) {
  std::optional<std::string> cudaChip = detail::cudaChip(options.target);
  if (options.target != "cpu" && !cudaChip)
    return llvm::createStringError(
        "unknown target '" + options.target +
        "'; expected cpu or cuda[:sm_80|sm_90|sm_90a]");
  if (cudaChip && options.countPairs)
    return llvm::createStringError("the pair counter runs on cpu only");
  std::string key;
  {
    llvm::raw_string_ostream os(key);
    os << version() << '\0' << options.target << '\0' << options.name << '\0'
       << options.dtype << '\0' << options.threads << '\0'
       << options.countPairs << '\0'
       << llvm::xxh3_64bits(source) << '\0' << source;
  }
  {
    std::lock_guard<std::mutex> lock(impl->mutex);
    if (auto it = impl->cache.find(key); it != impl->cache.end()) {
      Kernel kernel;
      kernel.state = it->second;
      return kernel;
    }
  }
  const std::string &cacheDir = impl->options.cacheDir;
  if (!cacheDir.empty()) {
    if (std::optional<Kernel> cached =
            detail::loadFromDiskCache(cacheDir, key, options.threads)) {
      std::lock_guard<std::mutex> lock(impl->mutex);
      auto [it, inserted] = impl->cache.try_emplace(key, cached->state);
      Kernel kernel;
      kernel.state = it->second;
      return kernel;
    }
  }

  std::optional<mlir::attn::spec::DType> qkvDType;
  std::optional<DType> runtimeDType;
  if (!options.dtype.empty()) {
    using S = mlir::attn::spec::DType;
    qkvDType = llvm::StringSwitch<std::optional<S>>(options.dtype)
                   .Case("f32", S::F32)
                   .Case("f16", S::F16)
                   .Case("bf16", S::BF16)
                   .Default(std::nullopt);
    if (!qkvDType)
      return llvm::createStringError("unknown dtype '" + options.dtype +
                                     "'; expected f32, f16 or bf16");
    runtimeDType = toRuntimeDType(*qkvDType);
  }

  llvm::SourceMgr sourceMgr;
  std::string diagnostics;
  llvm::raw_string_ostream diagOS(diagnostics);
  auto file = mlir::attn::spec::parseSpecString(sourceMgr, source, bufferName,
                                                diagOS);
  if (!file) {
    llvm::consumeError(file.takeError());
    return llvm::createStringError(StringRef(diagnostics).rtrim());
  }
  const mlir::attn::spec::Block *block =
      options.name.empty() ? (*file)->blocks.front().get()
                           : (*file)->findBlock(options.name);
  if (!block)
    return llvm::createStringError("no block named '" + options.name + "' in " +
                                   bufferName);
  if (options.countPairs &&
      block->kind != mlir::attn::spec::BlockKind::Attention)
    return llvm::createStringError(
        "only attention blocks have a pair counter; '" + block->name +
        "' is a " + mlir::attn::spec::toString(block->kind) + " block");

  auto state = std::make_shared<Kernel::State>();
  state->threads = options.threads;
  auto context = std::make_unique<mlir::MLIRContext>();
  mlir::DialectRegistry registry;
  mlir::attn::registerAllDialects(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  context->appendDialectRegistry(registry);
  mlir::attn::spec::loadIRGenDialects(*context);
  mlir::attn::spec::IRGenOptions genOptions;
  genOptions.blockName = block->name;
  genOptions.qkvDType = qkvDType;
  auto module = mlir::attn::spec::buildModule(*context, **file, sourceMgr,
                                              genOptions);
  if (!module)
    return module.takeError();
  if (options.countPairs)
    makePairCounter(**module);
  {
    llvm::raw_string_ostream os(state->highLevelIR);
    (*module)->print(os);
  }

  if (cudaChip) {
    auto lowered = detail::lowerToPTX(**module, *cudaChip);
    if (!lowered)
      return lowered.takeError();
    state->signature = signatureOf(*block, runtimeDType, lowered->tileQ,
                                   lowered->tileDilation);
    lowered->image.grid = gridExpressions(state->signature);
    state->cuda = std::make_shared<const CudaKernel>(
        state->signature, std::move(lowered->image));
    if (!cacheDir.empty()) {
      Kernel fresh;
      fresh.state = state;
      detail::storeInDiskCache(cacheDir, key, fresh);
    }
    std::lock_guard<std::mutex> lock(impl->mutex);
    auto [it, inserted] = impl->cache.try_emplace(key, state);
    Kernel kernel;
    kernel.state = it->second;
    return kernel;
  }

  std::vector<int64_t> tileQ, tileDilation;
  {
    mlir::PassManager pm(context.get());
    mlir::attn::AttnSelectSchedulePassOptions scheduleOptions;
    scheduleOptions.target = "cpu";
    pm.addPass(mlir::attn::createAttnSelectSchedulePass(scheduleOptions));
    if (mlir::failed(pm.run(**module)))
      return llvm::createStringError(
          "internal error: selecting the schedule failed");
    // The cpu lowering tiles dilated neighborhoods by residue class
    // (effectiveTileDilations), which the grid must count.
    (*module)->walk([&](mlir::attn::AttentionOp op) {
      tileQ = op.getScheduleAttr().getTileQ().vec();
      auto dilations =
          mlir::attn::effectiveTileDilations(op, op.getScheduleAttr());
      tileDilation.assign(dilations.begin(), dilations.end());
    });
  }
  state->signature = signatureOf(*block, runtimeDType, tileQ, tileDilation);
  if (options.countPairs && !block->outputLse) {
    ParamInfo lse = state->signature.params.front();
    lse.name = "lse";
    lse.role = "lse";
    lse.dtype = DType::f32;
    lse.dims.pop_back();
    state->signature.params.push_back(lse);
  }

  std::string pipelineErrors;
  {
    mlir::PassManager pm(context.get());
    mlir::attn::buildLowerToCPUPipeline(pm, {});
    llvm::raw_string_ostream errorOS(pipelineErrors);
    mlir::ScopedDiagnosticHandler handler(context.get(), [&](mlir::Diagnostic &d) {
      errorOS << d << "\n";
      return mlir::success();
    });
    if (mlir::failed(pm.run(**module)))
      return llvm::createStringError("lowering '" + block->name +
                                     "' for cpu failed: " + pipelineErrors);
  }
  {
    llvm::raw_string_ostream os(state->loweredIR);
    (*module)->print(os);
  }

  auto hostMachine = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostMachine)
    return hostMachine.takeError();
  auto targetMachine = hostMachine->createTargetMachine();
  if (!targetMachine)
    return targetMachine.takeError();
  mlir::ExecutionEngineOptions engineOptions;
  // The engine keeps only a reference to the transformer: it must outlive
  // the create() call below.
  std::function<llvm::Error(llvm::Module *)> transformer =
      mlir::makeOptimizingTransformer(3, 0, targetMachine->get());
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = mlir::ExecutionEngine::create(**module, engineOptions,
                                              std::move(*targetMachine));
  if (!engine)
    return engine.takeError();
  detail::registerHostSymbols(**engine);
  auto symbol = (*engine)->lookup(block->name);
  if (!symbol)
    return symbol.takeError();
  state->function = reinterpret_cast<PackedKernelFn>(*symbol);
  state->engine = std::move(*engine);

  if (!cacheDir.empty()) {
    Kernel fresh;
    fresh.state = state;
    // Best effort: a cache that cannot be written only costs a recompile.
    detail::storeInDiskCache(cacheDir, key, fresh);
  }
  std::lock_guard<std::mutex> lock(impl->mutex);
  auto [it, inserted] = impl->cache.try_emplace(key, state);
  Kernel kernel;
  kernel.state = it->second;
  return kernel;
}
