//===- CudaLaunch.h - checking and launching CUDA kernels -------*- C++ -*-===//
//
// One launcher for every way a CUDA kernel reaches the host: compiled in
// process (attnc::Kernel), loaded from a bundle's JSON (LoadedBundle), or
// through the C ABI and Python. Tensors are checked against the signature
// with the same checkTensors the CPU launchers use, then for what the
// generated code assumes (cuda device, 16-byte cp.async alignment), then
// with the driver (device memory of the right device); only then is the
// module loaded into the device's primary context and the kernel launched.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_CUDALAUNCH_H
#define ATTNC_CUDALAUNCH_H

#include "attnc/Compiler.h"
#include "attnc/Runtime.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace attnc {

/// The code and launch configuration of one CUDA kernel (docs/bundle.md).
struct CudaImage {
  /// The kernel's symbol in the module.
  std::string entry;
  /// sm_80, sm_90 or sm_90a.
  std::string chip;
  std::string ptx;
  /// ptxas output for `chip`; loaded in preference to the PTX when present.
  std::string cubin;
  std::array<int64_t, 3> block = {1, 1, 1};
  int64_t dynamicSharedMemory = 0;
  /// Byte alignment the kernel assumes of q/k/v/out base pointers and of
  /// their non-head strides (cp.async copies 16 bytes at a time).
  int64_t alignment = 16;
  /// x, y, z as expressions over the sizes (Bundle.h gridExpressions).
  std::array<std::string, 3> grid;
  /// The manifest's `schedule` object (written into bundles).
  llvm::json::Object schedule;
};

/// A CUDA kernel ready to launch. Loads its module into a device's primary
/// context at the first launch on that device. Thread-safe.
class CudaKernel {
public:
  CudaKernel(KernelSignature signature, CudaImage image);
  const KernelSignature &signature() const { return sig; }
  const CudaImage &image() const { return img; }

  /// Every check that needs no driver: checkTensors, cuda device (one for
  /// all tensors), alignment, the grid within CUDA's limits. Returns the
  /// grid.
  llvm::Expected<std::array<int64_t, 3>>
  check(llvm::ArrayRef<TensorView> tensors) const;
  /// check(), then the driver's view of every pointer (device memory of the
  /// tensors' device), then cuLaunchKernel on `stream` (a CUstream; null is
  /// the default stream). Asynchronous like any kernel launch; nothing is
  /// launched when a check fails.
  llvm::Error launch(llvm::ArrayRef<TensorView> tensors, void *stream) const;

private:
  /// The CUfunction for `device`, loading the module on first use.
  llvm::Expected<void *> functionFor(int device) const;

  KernelSignature sig;
  CudaImage img;
  mutable std::mutex mutex;
  mutable std::map<int, void *> functions;
};

/// For CPU kernels: every tensor is described as cpu memory and, when the
/// CUDA driver is already loaded in this process, none points at device
/// memory (the driver is never loaded just for this check).
llvm::Error checkCpuDevices(const KernelSignature &signature,
                            llvm::ArrayRef<TensorView> tensors);

} // namespace attnc

#endif // ATTNC_CUDALAUNCH_H
