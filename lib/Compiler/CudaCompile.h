//===- CudaCompile.h - attn IR to a CUDA kernel (private) -------*- C++ -*-===//
//
// The cuda half of attnc::Compiler and of writeBundle: the two halves of
// attn-lower-to-nvvm-pipeline around a read of the kernel's launch
// attributes, and the CUDA bundle (PTX, cubin when ptxas exists, manifest).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_COMPILER_CUDACOMPILE_H
#define ATTNC_LIB_COMPILER_CUDACOMPILE_H

#include "attnc/Bundle.h"
#include "attnc/CudaLaunch.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::attn {
class ScheduleAttr;
} // namespace mlir::attn

#include <optional>

namespace attnc::detail {

/// The chip of a cuda target ("cuda" -> sm_90a, "cuda:sm_80" -> sm_80);
/// nullopt when `target` is not cuda.
std::optional<std::string> cudaChip(llvm::StringRef target);

struct CudaLowering {
  /// Everything but the grid (which needs the signature).
  CudaImage image;
  std::vector<int64_t> tileQ;
  std::vector<int64_t> tileDilation;
};

/// Lowers the attention function of `module` (attn IR) to PTX for `chip`.
llvm::Expected<CudaLowering> lowerToPTX(mlir::ModuleOp module,
                                        llvm::StringRef chip);

/// Writes `contents` to `path` (Bundle.cpp), with the path in the error.
llvm::Error writeFile(llvm::StringRef path, llvm::StringRef contents);

/// A JSON array of `values` (Bundle.cpp).
llvm::json::Array toJSON(llvm::ArrayRef<int64_t> values);

/// The manifest's `schedule` object of both targets (Bundle.cpp): the
/// schedule's fields, `warps` as the kernel runs (a CUDA kernel's two m16
/// tiles per warp can halve the schedule's count), tile_dilation where the
/// schedule has one, and its text.
llvm::json::Object scheduleManifest(mlir::attn::ScheduleAttr schedule,
                                    int64_t warps);

/// Writes `<dir>/<name>.ptx`, `<name>.cubin` (when ptxas is found; required
/// with options.requireCubin) and `<name>.json`.
llvm::Error writeCudaBundle(const Kernel &kernel, llvm::StringRef dir,
                            const BundleOptions &options);

} // namespace attnc::detail

#endif // ATTNC_LIB_COMPILER_CUDACOMPILE_H
