//===- Bundle.h - kernel bundles: object code plus a JSON manifest -*- C++ -*-===//
//
// A kernel bundle (DESIGN §3.3, docs/bundle.md) is a directory holding
// `<name>.json`, which says everything a launcher needs (entry points,
// parameters, grid expressions over the sizes, schedule), and the code: for
// CPU, `<name>.o` and, when ld.lld is found, `<name>.so`. The bundle is
// emitted from a compiled Kernel's lowered LLVM-dialect module, so the code
// in the bundle is the code the in-process kernel runs, only compiled ahead
// of time for a chosen CPU.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_BUNDLE_H
#define ATTNC_BUNDLE_H

#include "attnc/Compiler.h"

#include "llvm/Support/JSON.h"

namespace attnc {

/// The manifest format version written to and required in `version`.
constexpr int64_t kBundleVersion = 1;

struct BundleOptions {
  /// The CPU the code is optimised for: empty picks a portable one
  /// (x86-64-v3, i.e. AVX2 + FMA, on x86-64; "generic" elsewhere); "host"
  /// tunes for, and uses every feature of, the compiling machine.
  std::string cpu;
  /// Link `<name>.so` with ld.lld when it is found (the .o is kept).
  bool link = true;
  /// CUDA: fail unless ptxas writes `<name>.cubin` (`--emit=cubin`).
  bool requireCubin = false;
};

/// The optimised LLVM IR of `kernel` for `options`' CPU (`--emit=llvm`).
llvm::Expected<std::string> emitLLVMIR(const Kernel &kernel,
                                       const BundleOptions &options);

/// A relocatable, position-independent object file of `kernel`
/// (`--emit=obj`).
llvm::Expected<std::string> emitObject(const Kernel &kernel,
                                       const BundleOptions &options);

/// Writes `<dir>/<name>.json`, `<name>.o` and, with a linker, `<name>.so`;
/// for a cuda kernel `<name>.ptx`, `<name>.cubin` when ptxas is found, and
/// `<name>.json`. Creates `dir` if needed.
llvm::Error writeBundle(const Kernel &kernel, llvm::StringRef dir,
                        const BundleOptions &options);

/// The manifest's `parameters`: every tensor as a pointer, then each
/// tensor's sizes and strides as i64 (docs/bundle.md).
llvm::json::Array manifestParameters(const KernelSignature &signature);

/// ld.lld: $ATTNC_LLD, else LLVM's tools directory, else PATH; empty when
/// none is found.
std::string findLinker();

/// The grid expressions of a signature in spec syntax over its sizes:
/// x = product over token axes of ceil(T / tile), y = query heads, z = batch.
std::array<std::string, 3> gridExpressions(const KernelSignature &signature);

} // namespace attnc

#endif // ATTNC_BUNDLE_H
