//===- Runtime.h - launching attnc kernels ----------------------*- C++ -*-===//
//
// What a host needs to launch a compiled kernel, without MLIR: tensor views
// and the grid launch of the packed calling convention (attn/Conversion/
// KernelABI.h, docs/bundle.md). CPU kernels run their grid on a thread pool.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_RUNTIME_H
#define ATTNC_RUNTIME_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnc {

/// Element types of kernel parameters.
enum class DType { f32, f16, bf16, f64, i32, i64, boolean };

/// Bytes per element (booleans are one byte).
size_t dtypeSize(DType type);
llvm::StringRef dtypeName(DType type);
/// Parses "f32", "f16", "bf16", "f64", "i32", "i64" or "bool".
std::optional<DType> parseDType(llvm::StringRef name);

/// Where a tensor's memory lives (the values of attnc.h's
/// attnc_device_type).
enum class DeviceType { cpu = 0, cuda = 1 };

/// A strided view of caller memory. Strides count elements.
struct TensorView {
  void *data = nullptr;
  DType dtype = DType::f32;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  /// The memory the caller says `data` points at: a CUDA kernel takes only
  /// cuda tensors of one device, a CPU kernel only cpu ones. Launches check
  /// the claim with the driver when one is loaded.
  DeviceType device = DeviceType::cpu;
  int deviceId = 0;

  /// A dense row-major view of `sizes`.
  static TensorView contiguous(void *data, DType dtype,
                               llvm::ArrayRef<int64_t> sizes);
  int64_t numElements() const;
};

/// A kernel of the packed calling convention: `void kernel(void **args)`.
using PackedKernelFn = void (*)(void **);

/// Runs `kernel` once per block of `grid` (x fastest) with arguments
/// `block x, y, z, tensor data pointers..., sizes and strides...`, spreading
/// blocks over `threads` threads (0: all hardware threads).
void launchCpuGrid(PackedKernelFn kernel, std::array<int64_t, 3> grid,
                   llvm::ArrayRef<TensorView> tensors, unsigned threads = 0);

} // namespace attnc

#endif // ATTNC_RUNTIME_H
