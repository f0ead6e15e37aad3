//===- KernelABI.h - the packed kernel calling convention -------*- C++ -*-===//
//
// Every attnc kernel, CPU or GPU, takes its arguments the way cuLaunchKernel
// does: an array of pointers, one per argument, each pointing at the value.
// A launcher that reads only the bundle's JSON can then call any kernel
// without knowing its C signature. For a kernel of tensor parameters
// P0..Pn-1 the argument list is:
//
//   block x, block y, block z                      (i64; CPU kernels only)
//   P0.data, ..., Pn-1.data                        (pointers)
//   P0.sizes..., P0.strides..., P1.sizes..., ...   (i64, strides in elements)
//
// This header builds the loads of those arguments inside a kernel and the
// address arithmetic on them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_KERNELABI_H
#define ATTN_CONVERSION_KERNELABI_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn {

/// A tensor parameter inside a kernel: its base pointer and its sizes and
/// element strides as `index` values.
struct TensorParam {
  Value data;
  Type elementType;
  SmallVector<Value> sizes;
  SmallVector<Value> strides;

  /// Element offset of `indices` (index values, one per dimension, or fewer:
  /// the missing trailing ones are zero).
  Value offsetOf(ImplicitLocOpBuilder &b, ValueRange indices) const;
  /// Address of the element at element offset `offset` (index).
  Value addressOf(ImplicitLocOpBuilder &b, Value offset) const;
  /// Loads a `type` (element or vector of elements) at `address`, assuming
  /// only element alignment: caller tensors are views at any element offset.
  Value load(ImplicitLocOpBuilder &b, Type type, Value address) const;
  /// Stores `value` at `address` with element alignment.
  void store(ImplicitLocOpBuilder &b, Value value, Value address) const;
  /// Whether every index lies in [0, size) (i1).
  Value inBounds(ImplicitLocOpBuilder &b, ValueRange indices) const;
};

/// Reads the packed argument list `args` (an `!llvm.ptr` to an array of
/// pointers) in the order the header describes.
class PackedArgReader {
public:
  PackedArgReader(ImplicitLocOpBuilder &b, Value args) : b(b), args(args) {}
  /// The next argument as an i64 scalar, returned as `index`.
  Value nextIndex();
  /// The next argument as a pointer.
  Value nextPointer();
  /// Reads `count` tensor parameters: all data pointers, then each one's sizes
  /// and strides.
  SmallVector<TensorParam> readTensors(ArrayRef<RankedTensorType> types);

private:
  Value slot();
  ImplicitLocOpBuilder &b;
  Value args;
  int64_t position = 0;
};

/// 2^x for f32 scalars or vectors, branch-free: a degree-6 polynomial on the
/// fractional part in [-0.5, 0.5] (relative error ~1e-7) scaled by 2^n built
/// in the exponent bits. Inputs at or below -126.5 (including -inf) give
/// exactly 0, so masked scores contribute nothing.
Value emitExp2(ImplicitLocOpBuilder &b, Value x);

/// A constant f32 scalar or splat vector of `type`.
Value floatConstant(ImplicitLocOpBuilder &b, Type type, double value);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_KERNELABI_H
