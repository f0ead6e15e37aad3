//===- Run.h - `attnc run` -------------------------------------*- C++ -*-===//
#ifndef ATTNC_TOOLS_RUN_H
#define ATTNC_TOOLS_RUN_H

#include "attnc/Compiler.h"
#include "attnc/CudaDriver.h"

#include <string>
#include <vector>

namespace attnc::tool {

struct RunOptions {
  std::string specPath;
  std::string blockName;
  std::string target = "cpu";
  std::string dtype;
  std::string shape;
  bool check = false;
  bool bench = false;
  uint64_t seed = 0;
  unsigned threads = 0;
  /// The CUDA device ordinal of a cuda run; -1: not given (device 0).
  int device = -1;
};

/// Device copies of a run's arguments (RunCuda.cpp).
struct DeviceArguments {
  /// Copies every host tensor (contiguous) to CUDA device `device`.
  static llvm::Expected<DeviceArguments>
  upload(llvm::ArrayRef<TensorView> host, int device);
  /// Waits for the device, then copies back the tensors marked `wanted`.
  llvm::Error download(llvm::ArrayRef<TensorView> host,
                       llvm::ArrayRef<bool> wanted) const;
  std::vector<TensorView> views;
  std::vector<cuda::DeviceBuffer> buffers;
};

/// Seconds per launch measured with CUDA events: three warm-up launches,
/// then at least 5 and up to 100 timed ones or 0.5 s.
llvm::Expected<std::vector<double>>
timeCudaLaunches(const Kernel &kernel, llvm::ArrayRef<TensorView> deviceViews);

/// `attnc compile SPEC --target=cuda[:CHIP] -o DIR`: compiles through
/// attnc::Compiler and writes the bundle with attnc::writeBundle, so that
/// bundles and in-process kernels share one code path and one manifest
/// format. `requireCubin` (--emit=cubin) fails without ptxas. An empty
/// `outputDir` prints the PTX instead (--emit=ptx). Returns the exit code.
int compileCudaBundle(llvm::StringRef specPath, const CompileOptions &options,
                      llvm::StringRef outputDir, bool requireCubin);

/// `attnc run`: returns the process exit code (1 on FAIL or error).
int runSpec(const RunOptions &options);

/// The number of allowed (query, key) pairs summed over batch and heads for
/// the tensors of `kernel`: the pattern's pair counter (its mask with the
/// score rule dropped and lse added) run on zero q and k, where
/// lse = log(number of kept keys) per row.
llvm::Expected<double> countAllowedPairs(Compiler &compiler,
                                         const Kernel &kernel,
                                         llvm::ArrayRef<TensorView> tensors,
                                         const RunOptions &options);

} // namespace attnc::tool

#endif // ATTNC_TOOLS_RUN_H
