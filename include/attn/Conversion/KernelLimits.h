//===- KernelLimits.h - sizes CUDA kernels rely on ---------------*- C++ -*-===//
//
// A contract between the CUDA kernel builder and the runtimes that launch
// its kernels, kept here once (no MLIR includes, so libattnc_runtime can use
// it): the builder narrows mask arithmetic to 32 bits on this bound
// (attn-narrow-kernel-integers), and launches refuse larger sizes.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_KERNELLIMITS_H
#define ATTN_CONVERSION_KERNELLIMITS_H

#include <cstdint>

namespace mlir::attn {

/// The largest size, in any dimension, of q, k, v or the output that a CUDA
/// kernel takes: positions and their differences then fit 32 bits.
constexpr int64_t kMaxKernelExtent = int64_t(1) << 30;

} // namespace mlir::attn

#endif // ATTN_CONVERSION_KERNELLIMITS_H
