//===- Run.cpp - `attnc run`: compile, run, check, time -------------------===//
//
// Compiles a spec in process, makes seeded inputs, launches the kernel and,
// with --check, compares with the float64 reference evaluated on the very
// same (rounded) inputs; with --bench, times the kernel and reports effective
// GFLOP/s = 2 (Dqk + Dv) · allowed pairs / time (DESIGN §3.2).
//
// Input rule (documented in docs/running.md): q, k, v are standard normal;
// integer inputs are uniform in [0, 3]; booleans are 0 or 1 with equal odds;
// float inputs are uniform in [0, 1). Each argument has its own seeded stream.
//
//===----------------------------------------------------------------------===//

#include "Run.h"

#include "attn/Reference/Interpreter.h"
#include "attn/Reference/Random.h"
#include "attn/Reference/RefTensor.h"
#include "attnc/Compiler.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

using namespace llvm;
namespace ref = mlir::attn::reference;

static int fail(const Twine &message) {
  WithColor::error(errs(), "attnc") << message << "\n";
  return 1;
}

/// Parses `B=2,H=8,L=1000`.
static Expected<StringMap<int64_t>> parseShape(StringRef text) {
  StringMap<int64_t> sizes;
  SmallVector<StringRef> items;
  text.split(items, ',', -1, /*KeepEmpty=*/false);
  for (StringRef item : items) {
    auto [name, value] = item.split('=');
    name = name.trim();
    int64_t extent;
    if (name.empty() || value.trim().getAsInteger(10, extent) || extent < 0)
      return createStringError(inconvertibleErrorCode(),
                               "bad --shape entry '" + item +
                                   "'; expected NAME=EXTENT, e.g. L=1000");
    sizes[name] = extent;
  }
  return sizes;
}

static ref::DType toReferenceDType(attnc::DType type) {
  switch (type) {
  case attnc::DType::f32: return ref::DType::F32;
  case attnc::DType::f16: return ref::DType::F16;
  case attnc::DType::bf16: return ref::DType::BF16;
  case attnc::DType::f64: return ref::DType::F64;
  case attnc::DType::i32: return ref::DType::I32;
  case attnc::DType::i64: return ref::DType::I64;
  case attnc::DType::boolean: return ref::DType::Bool;
  }
  llvm_unreachable("unknown dtype");
}

namespace {
/// One kernel argument: its buffer and the value the reference sees.
struct Argument {
  std::vector<uint8_t> bytes;
  attnc::TensorView view;
  ref::RefTensor value;
};
} // namespace

static Expected<std::vector<int64_t>>
shapeOf(const attnc::ParamInfo &param, const StringMap<int64_t> &sizes,
        const attnc::KernelSignature &sig) {
  std::vector<int64_t> shape;
  for (const attnc::DimInfo &dim : param.dims) {
    if (!dim.isSize()) {
      shape.push_back(dim.extent);
      continue;
    }
    auto it = sizes.find(dim.size);
    if (it == sizes.end()) {
      std::string names;
      for (const attnc::ParamInfo &p : sig.params)
        for (const attnc::DimInfo &d : p.dims)
          if (d.isSize() && names.find(" " + d.size + ",") == std::string::npos)
            names += " " + d.size + ",";
      return createStringError(
          inconvertibleErrorCode(),
          "missing size " + dim.size + " in --shape (the spec's sizes:" +
              StringRef(names).drop_back() + ")");
    }
    shape.push_back(it->second);
  }
  return shape;
}

/// Makes the seeded value of argument `index` and its buffer.
static Expected<Argument> makeArgument(const attnc::ParamInfo &param,
                                       ArrayRef<int64_t> shape, uint64_t seed,
                                       unsigned index) {
  Argument arg;
  uint64_t argSeed = ref::argumentSeed(seed, index);
  ref::RefTensor value;
  if (param.role == "q" || param.role == "k" || param.role == "v")
    value = ref::randomNormal(shape, argSeed);
  else if (param.dtype == attnc::DType::boolean)
    value = ref::randomIntegers(shape, 0, 1, argSeed);
  else if (param.dtype == attnc::DType::i32 || param.dtype == attnc::DType::i64)
    value = ref::randomIntegers(shape, 0, 3, argSeed);
  else
    value = ref::randomUniform(shape, 0.0, 1.0, argSeed);
  ref::DType type = toReferenceDType(param.dtype);
  arg.bytes.resize(std::max<size_t>(1, value.numElements() *
                                           attnc::dtypeSize(param.dtype)));
  if (Error error = ref::toBuffer(value, type, arg.bytes.data()))
    return std::move(error);
  // The reference reads the rounded values the kernel reads.
  arg.value = ref::fromBuffer(type, arg.bytes.data(), shape);
  arg.view = attnc::TensorView::contiguous(arg.bytes.data(), param.dtype, shape);
  return arg;
}

/// An output buffer filled with NaN bit patterns, so that an element the
/// kernel does not write fails the check.
static Argument makeOutput(const attnc::ParamInfo &param,
                           ArrayRef<int64_t> shape) {
  Argument arg;
  int64_t n = 1;
  for (int64_t extent : shape)
    n *= extent;
  arg.bytes.assign(std::max<size_t>(1, n * attnc::dtypeSize(param.dtype)), 0xFF);
  arg.view = attnc::TensorView::contiguous(arg.bytes.data(), param.dtype, shape);
  return arg;
}

int attnc::tool::runSpec(const RunOptions &options) {
  auto buffer = MemoryBuffer::getFile(options.specPath, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    return fail("cannot read '" + options.specPath + "': " + ec.message());
  auto sizes = parseShape(options.shape);
  if (!sizes)
    return fail(toString(sizes.takeError()));

  if (options.device != -1 &&
      !llvm::StringRef(options.target).starts_with("cuda"))
    return fail("--device applies to --target=cuda only");
  if (options.device < -1)
    return fail("--device must be a CUDA device ordinal (0, 1, ...), got " +
                std::to_string(options.device));
  attnc::Compiler compiler;
  attnc::CompileOptions compileOptions;
  compileOptions.target = options.target;
  compileOptions.name = options.blockName;
  compileOptions.dtype = options.dtype;
  compileOptions.threads = options.threads;
  auto kernel = compiler.compileSpec((*buffer)->getBuffer(), options.specPath,
                                     compileOptions);
  if (!kernel) {
    std::string message = toString(kernel.takeError());
    errs() << message << "\n";
    return 1;
  }
  const attnc::KernelSignature &sig = kernel->signature();

  // Views point into the buffers: no reallocation may move them.
  std::vector<Argument> args;
  args.reserve(sig.params.size());
  for (auto [index, param] : llvm::enumerate(sig.params)) {
    auto shape = shapeOf(param, *sizes, sig);
    if (!shape)
      return fail(toString(shape.takeError()));
    if (param.role == "output" || param.role == "lse") {
      args.push_back(makeOutput(param, *shape));
      continue;
    }
    auto arg = makeArgument(param, *shape, options.seed, index);
    if (!arg)
      return fail(toString(arg.takeError()));
    args.push_back(std::move(*arg));
  }
  std::vector<attnc::TensorView> views;
  for (const Argument &arg : args)
    views.push_back(arg.view);

  // A cuda kernel runs on device copies; outputs come back for the check.
  bool onCuda = kernel->cudaKernel() != nullptr;
  std::optional<DeviceArguments> device;
  if (onCuda) {
    auto uploaded =
        DeviceArguments::upload(views, std::max(options.device, 0));
    if (!uploaded)
      return fail(toString(uploaded.takeError()));
    device = std::move(*uploaded);
  }
  auto launch = [&]() -> Error {
    return kernel->launch(onCuda ? device->views : views);
  };
  if (Error error = launch())
    return fail(toString(std::move(error)));
  if (onCuda) {
    llvm::SmallVector<bool> outputs;
    for (const attnc::ParamInfo &param : sig.params)
      outputs.push_back(param.role == "output" || param.role == "lse");
    if (Error error = device->download(views, outputs))
      return fail(toString(std::move(error)));
  }

  int status = 0;
  if (options.check) {
    std::vector<ref::RefTensor> refArgs;
    for (auto [param, arg] : llvm::zip(sig.params, args))
      if (param.role != "output" && param.role != "lse")
        refArgs.push_back(arg.value);
    auto expected = ref::evaluateSource(kernel->highLevelIR(), sig.name, refArgs);
    if (!expected)
      return fail("reference: " + toString(expected.takeError()));
    unsigned result = 0;
    for (auto [param, arg] : llvm::zip(sig.params, args)) {
      if (param.role != "output" && param.role != "lse")
        continue;
      const ref::RefTensor &want = (*expected)[result++];
      auto error = ref::relativeError(toReferenceDType(param.dtype),
                                      arg.bytes.data(), want);
      if (!error)
        return fail(toString(error.takeError()));
      double tol = ref::tolerance(toReferenceDType(param.dtype));
      bool pass = *error <= tol; // NaN fails
      outs() << (param.role == "lse" ? "lse: " : "") << "rel_err="
             << format("%.3e", *error) << " tol=" << format("%.0e", tol) << " "
             << (pass ? "PASS" : "FAIL") << "\n";
      if (!pass)
        status = 1;
    }
  }

  if (options.bench) {
    std::vector<double> times;
    auto start = std::chrono::steady_clock::now();
    if (onCuda) {
      auto measured = timeCudaLaunches(*kernel, device->views);
      if (!measured)
        return fail(toString(measured.takeError()));
      times = std::move(*measured);
    } else do {
      auto t0 = std::chrono::steady_clock::now();
      if (Error error = launch())
        return fail(toString(std::move(error)));
      times.push_back(std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - t0)
                          .count());
    } while (times.size() < 3 ||
             (times.size() < 50 &&
              std::chrono::steady_clock::now() - start <
                  std::chrono::milliseconds(500)));
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    outs() << "time=" << format("%.3f", median * 1e3) << " ms (median of "
           << times.size() << ")";
    auto pairs = countAllowedPairs(compiler, *kernel, views, options);
    if (pairs) {
      const attnc::ParamInfo &q = sig.params[0], &v = sig.params[2];
      double flops = 2.0 * (q.dims.back().extent + v.dims.back().extent) * *pairs;
      outs() << " pairs=" << format("%.0f", *pairs) << " effective="
             << (onCuda ? format("%.2f", flops / median * 1e-12)
                        : format("%.2f", flops / median * 1e-9))
             << (onCuda ? " TFLOP/s" : " GFLOP/s");
    } else {
      outs() << " (effective rate unknown: " << toString(pairs.takeError())
             << ")";
    }
    outs() << "\n";
  }
  return status;
}

Expected<double> attnc::tool::countAllowedPairs(Compiler &compiler,
                                                const Kernel &kernel,
                                                ArrayRef<TensorView> tensors,
                                                const RunOptions &options) {
  auto buffer = MemoryBuffer::getFile(options.specPath, /*IsText=*/true);
  if (!buffer)
    return errorCodeToError(buffer.getError());
  attnc::CompileOptions counterOptions;
  counterOptions.name = kernel.signature().name;
  counterOptions.dtype = "f32";
  counterOptions.threads = options.threads;
  counterOptions.countPairs = true;
  auto counter = compiler.compileSpec((*buffer)->getBuffer(), options.specPath,
                                      counterOptions);
  if (!counter)
    return counter.takeError();
  std::vector<std::vector<float>> storage;
  std::vector<TensorView> views;
  for (auto [param, tensor] : llvm::zip(counter->signature().params, tensors)) {
    if (param.role == "input") {
      views.push_back(tensor);
      continue;
    }
    std::vector<int64_t> shape = tensor.sizes;
    if (param.role == "output")
      shape.back() = param.dims.back().extent;
    int64_t n = 1;
    for (int64_t extent : shape)
      n *= extent;
    storage.emplace_back(std::max<int64_t>(n, 1), 0.0f);
    views.push_back(TensorView::contiguous(storage.back().data(),
                                           DType::f32, shape));
  }
  // The counter has one more parameter: lse, shaped like q without the head dim.
  std::vector<int64_t> lseShape = tensors.front().sizes;
  lseShape.pop_back();
  int64_t rows = 1;
  for (int64_t extent : lseShape)
    rows *= extent;
  storage.emplace_back(std::max<int64_t>(rows, 1), 0.0f);
  views.push_back(TensorView::contiguous(storage.back().data(), DType::f32,
                                         lseShape));
  if (Error error = counter->launch(views))
    return std::move(error);
  double pairs = 0;
  for (float lse : storage.back())
    if (std::isfinite(lse))
      pairs += std::round(std::exp(double(lse)));
  return pairs;
}
