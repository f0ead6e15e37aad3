//===- CompileCuda.cpp - `attnc compile --target=cuda` --------------------===//
//
// Spec -> attn IR -> attn-lower-to-nvvm-pipeline -> PTX, plus a JSON bundle
// that says how to launch each kernel with nothing but the driver API:
// parameters (data pointers, then each tensor's sizes and strides as i64),
// grid, block and dynamic shared memory. The cubin comes from ptxas when it
// is installed (PATH, CUDA_HOME or /usr/local/cuda).
//
//===----------------------------------------------------------------------===//

#include "CompileCuda.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/InitAll.h"
#include "attn/Pipelines/NVVMPipeline.h"
#include "attn/Spec/Spec.h"
#include "attn/Spec/SpecToAttn.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llvm;
using namespace mlir;

namespace {

int fail(const Twine &message) {
  WithColor::error(errs(), "attnc") << message << "\n";
  return 1;
}

int writeFile(StringRef dir, StringRef fileName, StringRef contents) {
  if (std::error_code ec = sys::fs::create_directories(dir))
    return fail("cannot create '" + dir + "': " + ec.message());
  SmallString<256> path(dir);
  sys::path::append(path, fileName);
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return fail("cannot write '" + path + "': " + ec.message());
  os << contents;
  return 0;
}

std::string typeName(mlir::Type type) {
  std::string text;
  raw_string_ostream os(text);
  type.print(os);
  return text == "i1" ? "bool" : text;
}

/// ptxas from PATH, then $CUDA_HOME/bin, then /usr/local/cuda/bin.
std::optional<std::string> findPtxas() {
  if (ErrorOr<std::string> found = sys::findProgramByName("ptxas"))
    return *found;
  SmallVector<std::string> roots;
  if (const char *home = std::getenv("CUDA_HOME"))
    roots.push_back(home);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    SmallString<256> path(root);
    sys::path::append(path, "bin", "ptxas");
    if (sys::fs::can_execute(path))
      return std::string(path);
  }
  return std::nullopt;
}

/// What the launcher needs of one kernel, read between the pipeline halves.
json::Object describeKernel(gpu::GPUFuncOp kernel, ArrayRef<mlir::Type> tensorTypes,
                            unsigned numInputs) {
  json::Array tensors;
  for (auto [i, type] : llvm::enumerate(tensorTypes)) {
    auto ranked = cast<RankedTensorType>(type);
    std::string role = i == 0   ? "q"
                       : i == 1 ? "k"
                       : i == 2 ? "v"
                       : i < 3 + numInputs
                           ? "input" + std::to_string(i - 3)
                           : (i == 3 + numInputs ? "out" : "lse");
    json::Array shape;
    for (int64_t d : ranked.getShape())
      shape.push_back(ShapedType::isDynamic(d) ? json::Value(nullptr)
                                               : json::Value(d));
    tensors.push_back(json::Object{{"name", role},
                                   {"dtype", typeName(ranked.getElementType())},
                                   {"rank", ranked.getRank()},
                                   {"shape", std::move(shape)}});
  }
  auto schedule = kernel->getAttrOfType<attn::ScheduleAttr>("attn.schedule");
  json::Array tileQ, tileKv, grid;
  std::string tiles;
  for (auto [axis, tile] : llvm::enumerate(schedule.getTileQ())) {
    tileQ.push_back(tile);
    tiles += (axis ? " * " : "") + ("((q.size[" + std::to_string(2 + axis) +
                                    "] + " + std::to_string(tile - 1) +
                                    ") / " + std::to_string(tile) + ")");
  }
  for (int64_t tile : schedule.getTileKv())
    tileKv.push_back(tile);
  int64_t threads = (*kernel.getKnownBlockSize())[0];
  auto smem = kernel->getAttrOfType<IntegerAttr>("attn.dynamic_shared_memory");
  return json::Object{
      {"name", kernel.getName()},
      {"tensors", std::move(tensors)},
      {"params", "one pointer per tensor in order, then per tensor its sizes "
                 "and its strides (in elements) as i64"},
      {"grid", json::Array{tiles, "q.size[1]", "q.size[0]"}},
      {"block", json::Array{threads, 1, 1}},
      {"dynamic_shared_memory", smem ? smem.getInt() : 0},
      {"alignment_bytes", 16},
      {"schedule", json::Object{{"tile_q", std::move(tileQ)},
                                {"tile_kv", std::move(tileKv)},
                                {"warps", threads / 32}}}};
}

} // namespace

int attnc::tool::compileCuda(const CudaCompileOptions &options) {
  std::string chip = "sm_90a";
  if (StringRef(options.target).starts_with("cuda:"))
    chip = StringRef(options.target).drop_front(5).str();
  std::string emit = options.emit.empty() ? "ptx" : options.emit;
  if (emit != "ptx" && emit != "cubin" && emit != "mlir")
    return fail("--emit=" + emit + " is not supported on cuda; expected ptx, "
                "cubin or mlir");
  if (emit == "cubin" && options.outputDir.empty())
    return fail("--emit=cubin needs -o DIR");
  std::optional<attn::spec::DType> qkvDType;
  if (!options.dtype.empty()) {
    qkvDType = llvm::StringSwitch<std::optional<attn::spec::DType>>(options.dtype)
                   .Case("f16", attn::spec::DType::F16)
                   .Case("bf16", attn::spec::DType::BF16)
                   .Case("f32", attn::spec::DType::F32)
                   .Default(std::nullopt);
    if (!qkvDType)
      return fail("unknown --dtype '" + options.dtype + "'");
  }
  auto buffer = MemoryBuffer::getFileOrSTDIN(options.specPath, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    return fail("cannot read '" + options.specPath + "': " + ec.message());
  SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(std::move(*buffer), SMLoc());
  auto file = attn::spec::parseSpec(sourceMgr, id, errs());
  if (!file) {
    consumeError(file.takeError());
    return 1;
  }
  DialectRegistry registry;
  attn::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  attn::spec::IRGenOptions genOptions;
  genOptions.blockName = options.blockName;
  genOptions.qkvDType = qkvDType;
  auto module = attn::spec::buildModule(context, **file, sourceMgr, genOptions);
  if (!module)
    return fail(toString(module.takeError()));
  std::string name = options.blockName;
  if (name.empty())
    name = sys::path::stem(options.specPath).str();

  // Tensor types per function, before the functions become kernels.
  llvm::DenseMap<StringAttr, std::pair<SmallVector<mlir::Type>, unsigned>> signatures;
  (*module)->walk([&](func::FuncOp func) {
    SmallVector<mlir::Type> types(func.getArgumentTypes());
    llvm::append_range(types, func.getResultTypes());
    unsigned numInputs = func.getNumArguments() >= 3 ? func.getNumArguments() - 3 : 0;
    signatures[func.getSymNameAttr()] = {types, numInputs};
  });

  PassManager first(&context);
  attn::buildAttnToGPUPasses(first, chip);
  if (failed(first.run(**module)))
    return fail("cannot lower '" + options.specPath + "' for " + chip +
                " (see the error above)");
  if (emit == "mlir" && options.outputDir.empty()) {
    (*module)->print(outs());
    return 0;
  }
  json::Array kernels;
  (*module)->walk([&](gpu::GPUFuncOp kernel) {
    auto &[types, numInputs] = signatures[kernel.getNameAttr()];
    kernels.push_back(describeKernel(kernel, types, numInputs));
  });
  if (kernels.empty())
    return fail("no kernel to compile in '" + options.specPath + "'");

  attn::NVVMPipelineOptions pipeline;
  pipeline.chip = chip;
  pipeline.features = chip == "sm_80" ? "+ptx70" : "+ptx80";
  PassManager second(&context);
  attn::buildGPUToPTXPasses(second, pipeline);
  if (failed(second.run(**module)))
    return fail("cannot generate PTX for " + chip + " (see the error above)");
  FailureOr<std::string> ptx = attn::extractPTX(**module);
  if (failed(ptx))
    return 1;
  if (options.outputDir.empty()) {
    outs() << *ptx;
    return 0;
  }
  if (int rc = writeFile(options.outputDir, name + ".ptx", *ptx))
    return rc;
  json::Object bundle{{"version", 1},
                      {"name", name},
                      {"target", "cuda"},
                      {"chip", chip},
                      {"ptx", name + ".ptx"},
                      {"kernels", std::move(kernels)}};
  if (std::optional<std::string> ptxas = findPtxas()) {
    SmallString<256> ptxPath(options.outputDir), cubinPath(options.outputDir);
    sys::path::append(ptxPath, name + ".ptx");
    sys::path::append(cubinPath, name + ".cubin");
    std::string archFlag = "-arch=" + chip;
    SmallVector<StringRef> args{*ptxas, archFlag, ptxPath, "-o", cubinPath};
    std::string message;
    if (sys::ExecuteAndWait(*ptxas, args, std::nullopt, {}, 0, 0, &message))
      return fail("ptxas failed on " + ptxPath + (message.empty() ? "" : ": " + message));
    bundle["cubin"] = name + ".cubin";
  } else if (emit == "cubin") {
    return fail("--emit=cubin needs ptxas (PATH, CUDA_HOME or /usr/local/cuda)");
  }
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", json::Value(std::move(bundle))) << "\n";
  return writeFile(options.outputDir, name + ".json", text);
}
