//===- RefTensor.cpp - float64 tensors and buffer conversions -------------===//
//
// The conversions are written out bit by bit instead of relying on compiler
// support for _Float16 / __bf16, so that the oracle rounds the same way on
// every host and rounds exactly once (double -> bf16 through float would round
// twice and differ in rare ties).
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/RefTensor.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

using namespace mlir::attn::reference;

RefTensor::RefTensor(llvm::ArrayRef<int64_t> shape, double fill)
    : shape_(shape.begin(), shape.end()) {
  int64_t n = 1;
  for (int64_t extent : shape) {
    assert(extent >= 0 && "negative extent");
    n *= extent;
  }
  data_.assign(n, fill);
}

RefTensor::RefTensor(llvm::ArrayRef<int64_t> shape, std::vector<double> data)
    : shape_(shape.begin(), shape.end()), data_(std::move(data)) {
  int64_t n = 1;
  for (int64_t extent : shape)
    n *= extent;
  assert(n == static_cast<int64_t>(data_.size()) && "shape/data mismatch");
  (void)n;
}

RefTensor RefTensor::scalar(double value) {
  return RefTensor(llvm::ArrayRef<int64_t>(), std::vector<double>{value});
}

bool RefTensor::contains(llvm::ArrayRef<int64_t> index) const {
  if (index.size() != shape_.size())
    return false;
  for (auto [i, extent] : llvm::zip(index, shape_))
    if (i < 0 || i >= extent)
      return false;
  return true;
}

int64_t RefTensor::offset(llvm::ArrayRef<int64_t> index) const {
  assert(contains(index) && "index out of range");
  int64_t off = 0;
  for (auto [i, extent] : llvm::zip(index, shape_))
    off = off * extent + i;
  return off;
}

std::string RefTensor::shapeString() const { return formatIndex(shape_); }

std::string mlir::attn::reference::formatIndex(llvm::ArrayRef<int64_t> index) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(index, os);
  os << "]";
  return s;
}

bool mlir::attn::reference::nextIndex(llvm::MutableArrayRef<int64_t> index,
                                      llvm::ArrayRef<int64_t> shape) {
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (++index[d] < shape[d])
      return true;
    index[d] = 0;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Small float formats
//===----------------------------------------------------------------------===//

/// Rounds a non-negative double holding a value below 2^53 to an integer,
/// ties to even, independent of the floating-point environment.
static double roundHalfEven(double y) {
  double r = std::floor(y);
  double frac = y - r; // exact: y and r share the binade or r is smaller
  if (frac > 0.5 || (frac == 0.5 && std::fmod(r, 2.0) != 0.0))
    r += 1.0;
  return r;
}

/// Encodes `x` in an IEEE-style binary format with `expBits` exponent bits and
/// `mantBits` stored mantissa bits, rounding once to nearest even.
static uint32_t encodeFloat(double x, int expBits, int mantBits) {
  const uint32_t sign = std::signbit(x) ? 1u << (expBits + mantBits) : 0u;
  const int bias = (1 << (expBits - 1)) - 1;
  const uint32_t expAllOnes = ((1u << expBits) - 1u) << mantBits;
  if (std::isnan(x))
    return sign | expAllOnes | (1u << (mantBits - 1)); // quiet NaN
  double a = std::fabs(x);
  if (std::isinf(a))
    return sign | expAllOnes;
  if (a == 0.0)
    return sign;
  // a lies in [2^e, 2^(e+1)); below the smallest normal the quantum stays
  // that of the smallest binade (subnormals).
  int e;
  std::frexp(a, &e);
  e -= 1;
  const int minExp = 1 - bias;
  if (e < minExp)
    e = minExp;
  double r = roundHalfEven(std::ldexp(a, mantBits - e)); // exact scaling
  if (r >= std::ldexp(1.0, mantBits + 1)) {              // carried a binade
    r = std::ldexp(1.0, mantBits);
    e += 1;
  }
  const uint32_t m = static_cast<uint32_t>(r);
  if (m < (1u << mantBits)) // subnormal (or zero after underflow)
    return sign | m;
  if (e > bias)
    return sign | expAllOnes; // overflow rounds to infinity
  return sign | (static_cast<uint32_t>(e + bias) << mantBits) |
         (m - (1u << mantBits));
}

/// Decodes bits of the format described for `encodeFloat` (exactly).
static double decodeFloat(uint32_t bits, int expBits, int mantBits) {
  const int bias = (1 << (expBits - 1)) - 1;
  const bool negative = (bits >> (expBits + mantBits)) & 1u;
  const uint32_t biasedExp = (bits >> mantBits) & ((1u << expBits) - 1u);
  const uint32_t mant = bits & ((1u << mantBits) - 1u);
  double value;
  if (biasedExp == (1u << expBits) - 1u)
    value = mant ? std::numeric_limits<double>::quiet_NaN()
                 : std::numeric_limits<double>::infinity();
  else if (biasedExp == 0)
    value = std::ldexp(static_cast<double>(mant), 1 - bias - mantBits);
  else
    value = std::ldexp(static_cast<double>(mant | (1u << mantBits)),
                       static_cast<int>(biasedExp) - bias - mantBits);
  return negative ? -value : value;
}

double mlir::attn::reference::halfBitsToDouble(uint16_t bits) {
  return decodeFloat(bits, 5, 10);
}
uint16_t mlir::attn::reference::doubleToHalfBits(double value) {
  return static_cast<uint16_t>(encodeFloat(value, 5, 10));
}
double mlir::attn::reference::bfloat16BitsToDouble(uint16_t bits) {
  return decodeFloat(bits, 8, 7);
}
uint16_t mlir::attn::reference::doubleToBFloat16Bits(double value) {
  return static_cast<uint16_t>(encodeFloat(value, 8, 7));
}
float mlir::attn::reference::doubleToFloat(double value) {
  uint32_t bits = encodeFloat(value, 8, 23);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

size_t mlir::attn::reference::dtypeSize(DType type) {
  switch (type) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::Bool:
    return 1;
  }
  llvm_unreachable("unknown dtype");
}

llvm::StringRef mlir::attn::reference::dtypeName(DType type) {
  switch (type) {
  case DType::F64:
    return "f64";
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::Bool:
    return "bool";
  }
  llvm_unreachable("unknown dtype");
}

llvm::Expected<DType> mlir::attn::reference::parseDType(llvm::StringRef name) {
  auto type = llvm::StringSwitch<std::optional<DType>>(name)
                  .Case("f64", DType::F64)
                  .Case("f32", DType::F32)
                  .Case("f16", DType::F16)
                  .Case("bf16", DType::BF16)
                  .Case("i32", DType::I32)
                  .Case("i64", DType::I64)
                  .Case("bool", DType::Bool)
                  .Case("i1", DType::Bool)
                  .Default(std::nullopt);
  if (!type)
    return llvm::createStringError("unknown dtype '%s'", name.str().c_str());
  return *type;
}

/// Reads element `offset` (in elements) of a buffer of `type`.
static double readElement(DType type, const void *data, int64_t offset) {
  const char *p = static_cast<const char *>(data) + offset * dtypeSize(type);
  switch (type) {
  case DType::F64: {
    double v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  case DType::F32: {
    float v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  case DType::F16:
  case DType::BF16: {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return type == DType::F16 ? halfBitsToDouble(v) : bfloat16BitsToDouble(v);
  }
  case DType::I32: {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  case DType::I64: {
    int64_t v;
    std::memcpy(&v, p, sizeof v);
    return static_cast<double>(v);
  }
  case DType::Bool:
    return *reinterpret_cast<const unsigned char *>(p) ? 1.0 : 0.0;
  }
  llvm_unreachable("unknown dtype");
}

RefTensor mlir::attn::reference::fromBuffer(DType type, const void *data,
                                            llvm::ArrayRef<int64_t> shape,
                                            llvm::ArrayRef<int64_t> strides) {
  assert((strides.empty() || strides.size() == shape.size()) &&
         "one stride per dimension");
  RefTensor t(shape);
  if (t.numElements() == 0)
    return t;
  llvm::SmallVector<int64_t, 6> index(shape.size(), 0);
  int64_t linear = 0;
  do {
    int64_t off = linear;
    if (!strides.empty()) {
      off = 0;
      for (auto [i, stride] : llvm::zip(index, strides))
        off += i * stride;
    }
    t.data()[linear++] = readElement(type, data, off);
  } while (nextIndex(index, shape));
  return t;
}

llvm::Error mlir::attn::reference::toBuffer(const RefTensor &tensor, DType type,
                                            void *data) {
  char *out = static_cast<char *>(data);
  const size_t size = dtypeSize(type);
  for (int64_t n = 0; n < tensor.numElements(); ++n) {
    double x = tensor.data()[n];
    char *p = out + n * size;
    switch (type) {
    case DType::F64:
      std::memcpy(p, &x, size);
      break;
    case DType::F32: {
      float f = doubleToFloat(x);
      std::memcpy(p, &f, size);
      break;
    }
    case DType::F16:
    case DType::BF16: {
      uint16_t bits =
          type == DType::F16 ? doubleToHalfBits(x) : doubleToBFloat16Bits(x);
      std::memcpy(p, &bits, size);
      break;
    }
    case DType::I32:
    case DType::I64: {
      double lo = type == DType::I32 ? -2147483648.0 : -9223372036854775808.0;
      double hi = type == DType::I32 ? 2147483648.0 : 9223372036854775808.0;
      if (!(x >= lo && x < hi) || x != std::floor(x))
        return llvm::createStringError(
            "element %lld (%g) is not representable as %s",
            static_cast<long long>(n), x, dtypeName(type).str().c_str());
      if (type == DType::I32) {
        int32_t v = static_cast<int32_t>(x);
        std::memcpy(p, &v, size);
      } else {
        int64_t v = static_cast<int64_t>(x);
        std::memcpy(p, &v, size);
      }
      break;
    }
    case DType::Bool:
      *reinterpret_cast<unsigned char *>(p) = x != 0.0 ? 1 : 0;
      break;
    }
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

llvm::Expected<double>
mlir::attn::reference::relativeError(const RefTensor &out,
                                     const RefTensor &ref) {
  if (out.shape() != ref.shape())
    return llvm::createStringError("shape mismatch: result %s, reference %s",
                                   out.shapeString().c_str(),
                                   ref.shapeString().c_str());
  const double inf = std::numeric_limits<double>::infinity();
  double maxDiff = 0.0, maxRef = 0.0;
  for (auto [o, r] : llvm::zip(out.data(), ref.data())) {
    if (std::isfinite(r))
      maxRef = std::max(maxRef, std::fabs(r));
    if (o == r) // also equal infinities
      continue;
    if (!std::isfinite(o) || !std::isfinite(r))
      return inf; // NaN anywhere, or an infinity on one side only
    maxDiff = std::max(maxDiff, std::fabs(o - r));
  }
  return maxRef > 0.0 ? maxDiff / maxRef : maxDiff;
}

llvm::Expected<double>
mlir::attn::reference::relativeError(DType type, const void *out,
                                     const RefTensor &ref) {
  return relativeError(fromBuffer(type, out, ref.shape()), ref);
}

double mlir::attn::reference::tolerance(DType type, bool tensorCores) {
  switch (type) {
  case DType::F16:
    return 2e-3;
  case DType::BF16:
    return 1e-2;
  case DType::F32:
    return tensorCores ? 1e-3 : 1e-5;
  default:
    return 1e-5;
  }
}
