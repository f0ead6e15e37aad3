//===- attnc.cpp - the attnc driver ---------------------------------------===//
//
// `attnc compile SPEC [--name=BLOCK] --emit=mlir` parses and checks a spec and
// prints its attn-dialect module; for --target=cpu, `-o DIR` writes a kernel
// bundle (docs/bundle.md) and --emit=llvm|obj the optimised LLVM IR or an
// object file. `attnc run` compiles, runs and checks in process. GPU code
// generation and `tune` answer "not implemented yet" with a non-zero exit
// until their back ends land (DESIGN §3.2).
//
//===----------------------------------------------------------------------===//

#include "Run.h"

#include "attnc/Bundle.h"
#include "attnc/Compiler.h"

#include "attn/Spec/Spec.h"
#include "attn/Spec/SpecToAttn.h"

#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::SubCommand compileCommand("compile",
                                     "Compile a spec (DESIGN §3.2)");
static cl::SubCommand runCommand("run", "Compile, run and check a spec");
static cl::SubCommand tuneCommand("tune", "Tune the schedule of a spec");

static cl::OptionCategory compileCategory("attnc compile options");

static cl::opt<std::string> specPath(cl::Positional, cl::desc("<spec.attn>"),
                                     cl::sub(compileCommand),
                                     cl::sub(runCommand),
                                     cl::sub(tuneCommand));
static cl::opt<std::string>
    blockName("name", cl::desc("Compile only this block of the spec"),
              cl::value_desc("block"), cl::sub(compileCommand),
              cl::sub(runCommand), cl::sub(tuneCommand),
              cl::cat(compileCategory));
static cl::opt<std::string>
    emitKind("emit", cl::desc("What to produce: mlir|llvm|ptx|cubin|obj"),
             cl::value_desc("kind"), cl::sub(compileCommand),
             cl::cat(compileCategory));
static cl::opt<std::string>
    target("target", cl::desc("cpu or cuda[:sm_80|sm_90|sm_90a]"),
           cl::init("cpu"), cl::sub(compileCommand), cl::sub(runCommand),
           cl::sub(tuneCommand), cl::cat(compileCategory));
static cl::opt<std::string>
    dtype("dtype", cl::desc("Override the element type of q, k and v: "
                            "f32|f16|bf16"),
          cl::sub(compileCommand), cl::sub(runCommand), cl::sub(tuneCommand),
          cl::cat(compileCategory));
static cl::opt<std::string>
    outputDir("o", cl::desc("Write a kernel bundle to this directory"),
              cl::value_desc("dir"), cl::sub(compileCommand),
              cl::cat(compileCategory));

static cl::opt<std::string>
    cpuName("cpu",
            cl::desc("CPU that bundles, objects and LLVM IR are optimised "
                     "for: empty for a portable x86-64-v3 (AVX2+FMA), 'host' "
                     "for this machine, or any LLVM CPU name"),
            cl::value_desc("cpu"), cl::sub(compileCommand),
            cl::cat(compileCategory));

static cl::OptionCategory runCategory("attnc run options");
static cl::opt<std::string>
    shape("shape", cl::desc("Sizes to run with, e.g. B=2,H=8,G=2,L=1000,S=1000"),
          cl::value_desc("NAME=N,..."), cl::sub(runCommand), cl::sub(tuneCommand),
          cl::cat(runCategory));
static cl::opt<bool> check("check",
                           cl::desc("Compare with the float64 reference; exit 1 "
                                    "on FAIL"),
                           cl::sub(runCommand), cl::cat(runCategory));
static cl::opt<bool> bench("bench",
                           cl::desc("Time the kernel and print its effective "
                                    "rate"),
                           cl::sub(runCommand), cl::cat(runCategory));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of the random inputs"),
                              cl::init(0), cl::sub(runCommand),
                              cl::cat(runCategory));
static cl::opt<unsigned>
    threads("threads", cl::desc("CPU threads (0: all hardware threads)"),
            cl::init(0), cl::sub(runCommand), cl::sub(tuneCommand),
            cl::cat(runCategory));

static cl::opt<int>
    deviceOrdinal("device",
                  cl::desc("CUDA device ordinal of a --target=cuda run "
                           "(default 0)"),
                  cl::init(-1), cl::sub(runCommand), cl::cat(runCategory));

static int fail(const Twine &message) {
  WithColor::error(errs(), "attnc") << message << "\n";
  return 1;
}

static bool isKnownTarget(StringRef value) {
  return StringSwitch<bool>(value)
      .Cases({"cpu", "cuda", "cuda:sm_80", "cuda:sm_90", "cuda:sm_90a"}, true)
      .Default(false);
}

/// Writes `contents` to DIR/<name><extension>.
static int writeOutput(StringRef name, StringRef extension,
                       StringRef contents) {
  if (std::error_code ec = sys::fs::create_directories(outputDir))
    return fail("cannot create '" + outputDir + "': " + ec.message());
  SmallString<256> path(outputDir);
  sys::path::append(path, name + extension);
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return fail("cannot write '" + path + "': " + ec.message());
  os << contents;
  return 0;
}

/// CPU code: a bundle (`-o DIR`), LLVM IR (`--emit=llvm`, stdout or
/// DIR/<name>.ll) or an object file (`--emit=obj -o DIR`).
static int compileCpuCode(StringRef emit) {
  if (emit == "obj" && outputDir.empty())
    return fail("--emit=obj needs -o DIR (it writes DIR/<name>.o)");
  auto buffer = MemoryBuffer::getFileOrSTDIN(specPath, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    return fail("cannot read '" + specPath + "': " + ec.message());
  attnc::Compiler compiler;
  attnc::CompileOptions options;
  options.name = blockName;
  options.dtype = dtype;
  auto kernel = compiler.compileSpec((*buffer)->getBuffer(),
                                     specPath == "-" ? std::string("<stdin>") : specPath.getValue(),
                                     options);
  if (!kernel)
    return fail(toString(kernel.takeError()));
  attnc::BundleOptions bundleOptions;
  bundleOptions.cpu = cpuName;
  StringRef name = kernel->signature().name;
  if (emit.empty()) {
    if (Error error = attnc::writeBundle(*kernel, outputDir, bundleOptions))
      return fail(toString(std::move(error)));
    return 0;
  }
  if (emit == "llvm") {
    auto ir = attnc::emitLLVMIR(*kernel, bundleOptions);
    if (!ir)
      return fail(toString(ir.takeError()));
    if (outputDir.empty()) {
      outs() << *ir;
      return 0;
    }
    return writeOutput(name, ".ll", *ir);
  }
  auto object = attnc::emitObject(*kernel, bundleOptions);
  if (!object)
    return fail(toString(object.takeError()));
  return writeOutput(name, ".o", *object);
}

static int compile() {
  if (specPath.empty())
    return fail("missing spec file; usage: attnc compile SPEC "
                "[--name=BLOCK] --emit=mlir");
  if (!isKnownTarget(target))
    return fail("unknown target '" + target +
                "'; expected cpu or cuda[:sm_80|sm_90|sm_90a]");
  std::optional<mlir::attn::spec::DType> qkvDType;
  if (!dtype.empty()) {
    qkvDType = StringSwitch<std::optional<mlir::attn::spec::DType>>(dtype)
                   .Case("f32", mlir::attn::spec::DType::F32)
                   .Case("f16", mlir::attn::spec::DType::F16)
                   .Case("bf16", mlir::attn::spec::DType::BF16)
                   .Default(std::nullopt);
    if (!qkvDType)
      return fail("unknown --dtype '" + dtype + "'; expected f32, f16 or bf16");
  }
  std::string emit = emitKind.empty() && outputDir.empty() ? std::string("mlir")
                                                            : emitKind.getValue();
  if (target == "cpu" && (emit.empty() || emit == "llvm" || emit == "obj"))
    return compileCpuCode(emit);
  // CUDA bundles and PTX on stdout go through attnc::Compiler (RunCuda.cpp),
  // the path of in-process kernels.
  if (StringRef(target).starts_with("cuda") && emit != "mlir") {
    if (emit != "ptx" && emit != "cubin" && !emit.empty())
      return fail("--emit=" + emit + " is not supported on cuda; expected "
                  "ptx, cubin or mlir");
    if (emit == "cubin" && outputDir.empty())
      return fail("--emit=cubin needs -o DIR");
    attnc::CompileOptions options;
    options.target = target;
    options.name = blockName;
    options.dtype = dtype;
    return attnc::tool::compileCudaBundle(specPath, options, outputDir,
                                          emit == "cubin");
  }
  if (emit.empty())
    return fail("writing a kernel bundle (-o DIR) for " + target +
                " is not implemented yet; use --emit=mlir");
  if (emit == "llvm" || emit == "ptx" || emit == "cubin" || emit == "obj")
    return fail("--emit=" + emit + " is not implemented yet; only "
                "--emit=mlir works for now");
  if (emit != "mlir")
    return fail("unknown --emit '" + emit +
                "'; expected mlir, llvm, ptx, cubin or obj");
  if (!outputDir.empty())
    return fail("-o with --emit=mlir is not implemented yet; the module is "
                "printed to stdout without -o");

  auto buffer = MemoryBuffer::getFileOrSTDIN(specPath, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    return fail("cannot read '" + specPath + "': " + ec.message());
  SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(std::move(*buffer), SMLoc());
  auto file = mlir::attn::spec::parseSpec(sourceMgr, id, errs());
  if (!file) {
    consumeError(file.takeError()); // the diagnostics are printed
    return 1;
  }
  mlir::MLIRContext context;
  mlir::attn::spec::IRGenOptions options;
  options.blockName = blockName;
  options.qkvDType = qkvDType;
  auto module =
      mlir::attn::spec::buildModule(context, **file, sourceMgr, options);
  if (!module)
    return fail(toString(module.takeError()));
  (*module)->print(outs());
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions({&compileCategory, &runCategory});
  cl::ParseCommandLineOptions(argc, argv,
                              "attnc: the attention compiler driver\n");
  if (compileCommand)
    return compile();
  if (runCommand) {
    if (specPath.empty())
      return fail("missing spec file; usage: attnc run SPEC --shape "
                  "B=..,H=..,L=.. [--check] [--bench]");
    attnc::tool::RunOptions options;
    options.specPath = specPath;
    options.blockName = blockName;
    options.target = target;
    options.dtype = dtype;
    options.shape = shape;
    options.check = check;
    options.bench = bench;
    options.seed = seed;
    options.threads = threads;
    options.device = deviceOrdinal;
    return attnc::tool::runSpec(options);
  }
  if (tuneCommand)
    return fail("'attnc tune' is not implemented yet");
  return fail("expected a subcommand: compile, run or tune (see attnc "
              "--help)");
}
