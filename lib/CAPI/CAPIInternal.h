//===- CAPIInternal.h - shared pieces of the C ABI libraries ----*- C++ -*-===//
//
// libattnc.so (compiler + runtime) and libattnc_runtime.so (bundles only, no
// MLIR or LLVM shared libraries) share CAPI.cpp; only the compiler entry
// points differ (CAPICompiler.cpp, CAPINoCompiler.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_CAPI_CAPIINTERNAL_H
#define ATTNC_LIB_CAPI_CAPIINTERNAL_H

#include "attnc/Compiler.h"
#include "attnc/attnc.h"

#include <functional>
#include <string>
#include <vector>

namespace attnc::capi {

/// The calling thread's last error message.
std::string &lastError();

inline attnc_status failWith(attnc_status status, const llvm::Twine &message) {
  lastError() = message.str();
  return status;
}

inline attnc_status failWith(attnc_status status, llvm::Error error) {
  return failWith(status, llvm::toString(std::move(error)));
}

} // namespace attnc::capi

struct attnc_kernel_s {
  attnc::KernelSignature signature;
  /// Runs the kernel (an in-process Kernel or a loaded bundle, captured by
  /// value so the handle keeps it alive).
  std::function<llvm::Error(llvm::ArrayRef<attnc::TensorView>, void *stream)>
      launch;
  /// "cpu" or "cuda".
  std::string target = "cpu";
  /// Writes the kernel's bundle; empty for kernels loaded from a bundle.
  std::function<llvm::Error(llvm::StringRef)> writeBundle;
  /// attnc_param_info storage, one entry per parameter.
  std::vector<std::vector<const char *>> dimNames;
  std::vector<std::vector<int64_t>> dimExtents;

  void describe(const attnc::KernelSignature &sig) {
    signature = sig;
    for (const attnc::ParamInfo &param : signature.params) {
      std::vector<const char *> names;
      std::vector<int64_t> extents;
      for (const attnc::DimInfo &dim : param.dims) {
        names.push_back(dim.size.c_str());
        extents.push_back(dim.extent);
      }
      dimNames.push_back(std::move(names));
      dimExtents.push_back(std::move(extents));
    }
  }
};

#endif // ATTNC_LIB_CAPI_CAPIINTERNAL_H
