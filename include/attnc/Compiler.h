//===- Compiler.h - the C++ API: compile specs, launch kernels --*- C++ -*-===//
//
// attnc::Compiler turns spec text into an attnc::Kernel; Kernel::launch runs
// it on caller tensors after checking them against the spec (shapes, dtypes,
// strides, sizes bound consistently). Errors are llvm::Error /
// llvm::Expected: the LLVM attnc links has no exceptions. Spec errors carry
// file:line:col, the line and a caret, as the command line prints them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_COMPILER_H
#define ATTNC_COMPILER_H

#include "attnc/Runtime.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attnc {

class CudaKernel;

struct CompileOptions {
  /// "cpu", or "cuda" / "cuda:sm_80" / "cuda:sm_90" / "cuda:sm_90a" (PTX
  /// launched through the driver; "cuda" means sm_90a).
  std::string target = "cpu";
  /// The block of the spec to compile; the first block when empty.
  std::string name;
  /// Overrides the element type of q, k and v ("f32", "f16", "bf16").
  std::string dtype;
  /// Threads a CPU launch uses (0: all hardware threads).
  unsigned threads = 0;
  /// Compile the pattern's pair counter instead: the score rule dropped and
  /// an lse output added (before any existing one is dropped), so that on
  /// zero q and k, lse = log(number of kept keys) of each row.
  bool countPairs = false;
};

/// One dimension of a kernel parameter: a size bound at launch (`L`) or a
/// literal extent (a head dim).
struct DimInfo {
  std::string size;
  int64_t extent = 0;
  bool isSize() const { return !size.empty(); }
};

struct ParamInfo {
  std::string name;
  /// "q", "k", "v", "input", "output" or "lse".
  std::string role;
  DType dtype = DType::f32;
  std::vector<DimInfo> dims;
};

struct KernelSignature {
  std::string name;
  /// Tensor parameters in launch order: q, k, v, inputs, output, [lse].
  std::vector<ParamInfo> params;
  unsigned numTokenAxes = 1;
  /// Query tile extent per token axis (the grid's x counts these tiles).
  std::vector<int64_t> tileQ;
  /// Per token axis, the step between a query tile's positions (empty: all
  /// 1; a dilated axis is tiled one residue class at a time, see
  /// #attn.schedule's tile_dilation).
  std::vector<int64_t> tileDilation;
};

/// A compiled pattern. Cheap to copy; safe to launch from many threads.
class Kernel {
public:
  const KernelSignature &signature() const;
  /// The pattern's high-level attn IR (what `attnc compile --emit=mlir`
  /// prints), the input of the float64 reference.
  const std::string &highLevelIR() const;
  /// Checks `tensors` (one per parameter, launch order) against the
  /// signature and returns the sizes they bind.
  llvm::Expected<llvm::StringMap<int64_t>>
  bindSizes(llvm::ArrayRef<TensorView> tensors) const;
  /// The launch grid for `tensors` (x: query tiles, y: heads, z: batch).
  std::array<int64_t, 3> grid(llvm::ArrayRef<TensorView> tensors) const;
  /// Checks, then runs. A CPU kernel runs synchronously and ignores
  /// `stream`; a CUDA kernel is launched asynchronously on `stream` (a
  /// CUstream; null: the default stream) in its device's primary context.
  /// Nothing is written when a check fails.
  llvm::Error launch(llvm::ArrayRef<TensorView> tensors,
                     void *stream = nullptr) const;
  /// The CUDA kernel (PTX and launch configuration); null for CPU kernels.
  const CudaKernel *cudaKernel() const;
  /// The lowered LLVM-dialect module, the input of bundle emission
  /// (attnc/Bundle.h); empty for a kernel loaded from a bundle.
  const std::string &loweredIR() const;
  /// Whether the kernel was loaded from the on-disk cache.
  bool isFromDiskCache() const;
  /// A kernel whose code was loaded from a bundle: `owner` keeps the code
  /// (a dlopen handle) alive as long as any copy of the kernel.
  static Kernel fromPackedFunction(KernelSignature signature,
                                   std::string highLevelIR, PackedKernelFn fn,
                                   std::shared_ptr<const void> owner,
                                   unsigned threads, bool fromDiskCache);
  /// A CUDA kernel whose code was loaded from a bundle.
  static Kernel fromCudaKernel(std::string highLevelIR,
                               std::shared_ptr<const CudaKernel> cuda,
                               bool fromDiskCache);

  struct State;

private:
  friend class Compiler;
  std::shared_ptr<const State> state;
};

struct CompilerOptions {
  /// Directory of the on-disk bundle cache (lib/Compiler/DiskCache.cpp);
  /// empty: no disk cache. defaultCacheDir() gives the conventional one.
  std::string cacheDir;
};

/// Compiles specs; caches kernels in memory, and on disk when a cache
/// directory is given, by (spec, options, compiler version). Thread-safe.
class Compiler {
public:
  Compiler();
  explicit Compiler(CompilerOptions options);
  ~Compiler();
  /// Compiles spec text; `bufferName` names it in diagnostics.
  llvm::Expected<Kernel> compileSpec(llvm::StringRef source,
                                     llvm::StringRef bufferName,
                                     const CompileOptions &options = {});

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// The compiler's version, part of every cache key.
llvm::StringRef version();

/// $ATTNC_CACHE_DIR, or ~/.cache/attnc; empty when ATTNC_CACHE_DIR is "off".
std::string defaultCacheDir();

} // namespace attnc

#endif // ATTNC_COMPILER_H
