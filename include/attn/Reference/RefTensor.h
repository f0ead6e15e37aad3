//===- RefTensor.h - float64 tensors of the reference evaluator -*- C++ -*-===//
//
// The float64 reference evaluator is the oracle of every numerical test, so its
// data type is deliberately plain: a shape and a row-major vector of doubles.
// Integer and boolean tensors (document ids, block tables) are held as doubles
// too; every integer a test uses is far below 2^53, where doubles are exact.
//
// This file also converts between RefTensor and the buffers kernels read and
// write (f32, f16, bf16, f64, i32, i64, bool), and measures the error of a
// result against the reference (DESIGN §3.2).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_REFTENSOR_H
#define ATTN_REFERENCE_REFTENSOR_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::attn::reference {

/// A dense row-major float64 tensor. A rank-0 tensor holds one value.
class RefTensor {
public:
  /// A rank-0 tensor holding 0 (a tensor with no dimensions has one element).
  RefTensor() : data_(1, 0.0) {}
  /// A tensor of `shape` filled with `fill`.
  explicit RefTensor(llvm::ArrayRef<int64_t> shape, double fill = 0.0);
  /// A tensor of `shape` holding `data` (row-major; sizes must agree).
  RefTensor(llvm::ArrayRef<int64_t> shape, std::vector<double> data);

  /// A rank-0 tensor holding `value`.
  static RefTensor scalar(double value);

  llvm::ArrayRef<int64_t> shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(unsigned d) const { return shape_[d]; }
  int64_t numElements() const { return static_cast<int64_t>(data_.size()); }

  std::vector<double> &data() { return data_; }
  const std::vector<double> &data() const { return data_; }

  /// Row-major offset of `index` (asserts that it is in range: callers that
  /// read user-supplied indices check with `contains` first).
  int64_t offset(llvm::ArrayRef<int64_t> index) const;
  /// Whether `index` has the tensor's rank and lies inside its shape.
  bool contains(llvm::ArrayRef<int64_t> index) const;

  double &at(llvm::ArrayRef<int64_t> index) { return data_[offset(index)]; }
  double at(llvm::ArrayRef<int64_t> index) const {
    return data_[offset(index)];
  }

  /// "[2, 3, 4]", for error messages.
  std::string shapeString() const;

private:
  llvm::SmallVector<int64_t, 6> shape_;
  std::vector<double> data_;
};

/// "[2, 3, 4]" for any list of integers (shapes and indices in messages).
std::string formatIndex(llvm::ArrayRef<int64_t> index);

/// Advances `index` to the next position of `shape` in row-major order;
/// returns false after the last one. Starting from all zeros this visits every
/// position once (and none if some extent is 0).
bool nextIndex(llvm::MutableArrayRef<int64_t> index,
               llvm::ArrayRef<int64_t> shape);

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

/// Element types of the buffers the reference reads and writes. f16 and bf16
/// buffers hold bit patterns (uint16_t), bool buffers one byte per element.
enum class DType { F64, F32, F16, BF16, I32, I64, Bool };

/// Size in bytes of one element of `type`.
size_t dtypeSize(DType type);
/// "f32", "bf16", ...
llvm::StringRef dtypeName(DType type);
/// Parses "f32", "bf16", ..., "bool" (also "i1").
llvm::Expected<DType> parseDType(llvm::StringRef name);

/// IEEE binary16 bits to double (exact: every half is a double).
double halfBitsToDouble(uint16_t bits);
/// Double to IEEE binary16 bits, rounding once to nearest, ties to even;
/// overflow gives ±inf, NaN stays NaN (quiet), tiny values become subnormals.
uint16_t doubleToHalfBits(double value);
/// bfloat16 bits to double (exact).
double bfloat16BitsToDouble(uint16_t bits);
/// Double to bfloat16 bits, rounding once to nearest, ties to even (no
/// detour through float, which could round twice).
uint16_t doubleToBFloat16Bits(double value);
/// Double to float, rounding to nearest even (the C++ conversion does this
/// under the default rounding mode).
float doubleToFloat(double value);

/// Reads a buffer of `type` laid out with element `strides` (row-major
/// contiguous when `strides` is empty) into a tensor of `shape`. Bool bytes
/// read as 0 or 1 (any non-zero byte is true).
RefTensor fromBuffer(DType type, const void *data,
                     llvm::ArrayRef<int64_t> shape,
                     llvm::ArrayRef<int64_t> strides = {});

/// Writes `tensor` to a contiguous row-major buffer of `type`, rounding to
/// nearest even for the float types. Integer types need integral values in
/// range (an error names the first offending element); bool writes x != 0.
llvm::Error toBuffer(const RefTensor &tensor, DType type, void *data);

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

/// The error measure of DESIGN §3.2: max|out - ref| / max|ref|.
/// Conventions for the values attention produces:
///  * equal infinities (lse = -inf of a fully masked row in both) differ by 0;
///    any other mismatch involving an infinity or a NaN in `out` gives +inf;
///  * infinite entries of `ref` do not count towards max|ref|;
///  * when max|ref| is 0 the result is max|out - ref| (an absolute error), so
///    an all-zero reference is matched only by (near) zeros.
/// Shapes must agree (an error otherwise).
llvm::Expected<double> relativeError(const RefTensor &out,
                                     const RefTensor &ref);

/// The same measure for a kernel's buffer of `type` (contiguous, ref's shape).
llvm::Expected<double> relativeError(DType type, const void *out,
                                     const RefTensor &ref);

/// The tolerance of DESIGN §3.2 for a result of `type` (f64 and f32: 1e-5;
/// f16: 2e-3; bf16: 1e-2). `tensorCores` selects f32's 1e-3 for f32 math on
/// tensor cores.
double tolerance(DType type, bool tensorCores = false);

} // namespace mlir::attn::reference

#endif // ATTN_REFERENCE_REFTENSOR_H
