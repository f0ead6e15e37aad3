//===- CompileCuda.h - `attnc compile --target=cuda` ------------*- C++ -*-===//
#ifndef ATTNC_TOOLS_COMPILECUDA_H
#define ATTNC_TOOLS_COMPILECUDA_H

#include <optional>
#include <string>

namespace attnc::tool {

struct CudaCompileOptions {
  std::string specPath;
  std::string blockName;
  /// cuda, cuda:sm_80, cuda:sm_90 or cuda:sm_90a (the default chip).
  std::string target = "cuda";
  /// f16 or bf16 overrides q/k/v's element type; empty keeps the spec's.
  std::string dtype;
  /// mlir (the gpu dialect kernels), ptx, or cubin (needs -o and ptxas).
  std::string emit = "ptx";
  /// With a directory: DIR/<name>.ptx, <name>.cubin when ptxas exists, and
  /// <name>.json describing the kernels. Without: PTX (or MLIR) on stdout.
  std::string outputDir;
};

/// Returns the process exit code.
int compileCuda(const CudaCompileOptions &options);

} // namespace attnc::tool

#endif // ATTNC_TOOLS_COMPILECUDA_H
