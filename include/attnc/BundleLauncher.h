//===- BundleLauncher.h - run kernel bundles from their JSON ----*- C++ -*-===//
//
// Launches a kernel bundle (docs/bundle.md) knowing only its manifest: no
// MLIR, no spec. The manifest gives the parameters, so tensors are checked
// and sizes bound exactly as the compiler's Kernel does; the grid comes from
// evaluating the manifest's expressions over those sizes; the code comes
// from dlopen. Links only LLVMSupport (attnc::KernelSignature and friends
// are plain structs of attnc/Compiler.h).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_BUNDLELAUNCHER_H
#define ATTNC_BUNDLELAUNCHER_H

#include "attnc/Compiler.h"
#include "attnc/CudaLaunch.h"
#include "attnc/Runtime.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <memory>
#include <string>

namespace attnc {

/// Evaluates a grid expression of spec syntax: integers, size names, + - *
/// /, unary minus and parentheses; `/` is floor division. Unknown names,
/// division by zero and overflow are errors.
llvm::Expected<int64_t>
evaluateGridExpression(llvm::StringRef expression,
                       const llvm::StringMap<int64_t> &sizes);

/// Checks `tensors` (one per parameter, launch order) against `signature`
/// and returns the sizes they bind: dtypes, ranks, literal extents,
/// consistent sizes, non-negative strides, unit head-dim strides, non-null
/// data and grouped heads. The MLIR-free twin of Kernel::bindSizes.
llvm::Expected<llvm::StringMap<int64_t>>
checkTensors(const KernelSignature &signature,
             llvm::ArrayRef<TensorView> tensors);

/// A bundle loaded for launching. Cheap to copy; safe to launch from many
/// threads.
class LoadedBundle {
public:
  /// Loads `path`: a manifest (`.json`) or a bundle directory holding
  /// exactly one.
  static llvm::Expected<LoadedBundle> load(llvm::StringRef path);
  /// Reads a manifest without loading code (for tools and tests).
  static llvm::Expected<LoadedBundle> parse(const llvm::json::Value &manifest,
                                            llvm::StringRef directory);

  const KernelSignature &signature() const { return sig; }
  /// "cpu" or "cuda" (the manifest's target.kind).
  const std::string &targetKind() const { return kind; }
  /// The CPU entry point; null for a CUDA bundle.
  PackedKernelFn function() const { return fn; }
  /// The CUDA kernel (code read, module not yet loaded); null for CPU.
  const CudaKernel *cudaKernel() const { return cuda.get(); }
  const std::array<std::string, 3> &gridExpressions() const { return grid; }
  /// The grid for bound sizes.
  llvm::Expected<std::array<int64_t, 3>>
  evaluateGrid(const llvm::StringMap<int64_t> &sizes) const;
  /// Checks, evaluates the grid, then runs: on the CPU's thread pool
  /// (`threads`, 0: all) and synchronously, or for CUDA asynchronously on
  /// `stream` (a CUstream, null: the default stream). Nothing is written
  /// when a check fails.
  llvm::Error launch(llvm::ArrayRef<TensorView> tensors, unsigned threads = 0,
                     void *stream = nullptr) const;

  /// Reads the CUDA part of a manifest (parse() calls it).
  llvm::Error parseCuda(const llvm::json::Object &root,
                        const llvm::json::Object &kernel);

private:
  /// Reads the PTX (and cubin) of a CUDA bundle and makes its CudaKernel.
  llvm::Error readCudaCode();

  KernelSignature sig;
  std::array<std::string, 3> grid;
  std::string directory;
  std::string libraryFile;
  std::string entry;
  std::string kind = "cpu";
  /// A CUDA bundle's launch configuration (code files in `directory`).
  CudaImage cudaImage;
  std::string ptxFile, cubinFile;
  std::shared_ptr<const CudaKernel> cuda;
  /// The dlopen handle, closed with the last copy.
  std::shared_ptr<void> library;
  PackedKernelFn fn = nullptr;
};

} // namespace attnc

#endif // ATTNC_BUNDLELAUNCHER_H
