//===- KernelABI.cpp - the packed kernel calling convention ---------------===//

#include "attn/Conversion/KernelABI.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::attn;

Value TensorParam::offsetOf(ImplicitLocOpBuilder &b, ValueRange indices) const {
  Value offset = arith::ConstantIndexOp::create(b, 0);
  for (auto [index, stride] : llvm::zip(indices, strides))
    offset = arith::AddIOp::create(b, offset,
                                   arith::MulIOp::create(b, index, stride));
  return offset;
}

Value TensorParam::addressOf(ImplicitLocOpBuilder &b, Value offset) const {
  Value asI64 = arith::IndexCastOp::create(b, b.getI64Type(), offset);
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  return LLVM::GEPOp::create(b, ptrType, elementType, data, ValueRange{asI64});
}

/// Bytes of one element of a tensor parameter (booleans are bytes).
static unsigned elementBytes(Type type) {
  return std::max<unsigned>(1, type.getIntOrFloatBitWidth() / 8);
}

Value TensorParam::load(ImplicitLocOpBuilder &b, Type type,
                        Value address) const {
  return LLVM::LoadOp::create(b, type, address, elementBytes(elementType));
}

void TensorParam::store(ImplicitLocOpBuilder &b, Value value,
                        Value address) const {
  LLVM::StoreOp::create(b, value, address, elementBytes(elementType));
}

Value TensorParam::inBounds(ImplicitLocOpBuilder &b, ValueRange indices) const {
  Value ok = arith::ConstantIntOp::create(b, true, 1);
  Value zero = arith::ConstantIndexOp::create(b, 0);
  for (auto [index, size] : llvm::zip(indices, sizes)) {
    ok = arith::AndIOp::create(
        b, ok, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, index, zero));
    ok = arith::AndIOp::create(
        b, ok, arith::CmpIOp::create(b, arith::CmpIPredicate::slt, index, size));
  }
  return ok;
}

Value PackedArgReader::slot() {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value address = LLVM::GEPOp::create(
      b, ptrType, ptrType, args, ArrayRef<LLVM::GEPArg>{position++});
  return LLVM::LoadOp::create(b, ptrType, address);
}

Value PackedArgReader::nextIndex() {
  Value value = LLVM::LoadOp::create(b, b.getI64Type(), slot());
  return arith::IndexCastOp::create(b, b.getIndexType(), value);
}

Value PackedArgReader::nextPointer() {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  return LLVM::LoadOp::create(b, ptrType, slot());
}

SmallVector<TensorParam>
PackedArgReader::readTensors(ArrayRef<RankedTensorType> types) {
  SmallVector<TensorParam> params;
  for (RankedTensorType type : types) {
    TensorParam &param = params.emplace_back();
    param.data = nextPointer();
    param.elementType = type.getElementType();
  }
  for (auto [param, type] : llvm::zip(params, types)) {
    for (int64_t dim = 0; dim < type.getRank(); ++dim)
      param.sizes.push_back(nextIndex());
    for (int64_t dim = 0; dim < type.getRank(); ++dim)
      param.strides.push_back(nextIndex());
  }
  return params;
}

Value mlir::attn::floatConstant(ImplicitLocOpBuilder &b, Type type,
                                double value) {
  Type elementType = getElementTypeOrSelf(type);
  TypedAttr scalar = b.getFloatAttr(elementType, value);
  if (auto vectorType = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, DenseElementsAttr::get(vectorType, scalar));
  return arith::ConstantOp::create(b, scalar);
}

Value mlir::attn::emitExp2(ImplicitLocOpBuilder &b, Value x) {
  Type type = x.getType();
  Type intType = b.getI32Type();
  if (auto vectorType = dyn_cast<VectorType>(type))
    intType = VectorType::get(vectorType.getShape(), b.getI32Type());
  auto intConstant = [&](int64_t value) -> Value {
    TypedAttr scalar = b.getI32IntegerAttr(value);
    if (auto vectorType = dyn_cast<VectorType>(intType))
      return arith::ConstantOp::create(b, DenseElementsAttr::get(vectorType, scalar));
    return arith::ConstantOp::create(b, scalar);
  };
  // Clamp so that 2^n is representable; -127 makes the exponent field 0,
  // which yields exactly 0 after the scaling below.
  x = arith::MaximumFOp::create(b, x, floatConstant(b, type, -127.0));
  x = arith::MinimumFOp::create(b, x, floatConstant(b, type, 127.0));
  Value n = math::FloorOp::create(
      b, arith::AddFOp::create(b, x, floatConstant(b, type, 0.5)));
  Value f = arith::SubFOp::create(b, x, n);
  // Taylor coefficients of 2^f = e^(f ln 2); on |f| <= 0.5 the degree-6
  // truncation error is below 1.2e-7 relative.
  static constexpr double coefficients[] = {
      1.0,
      0.6931471805599453,
      0.2402265069591007,
      0.05550410866482158,
      0.009618129107628477,
      0.0013333558146428443,
      0.00015403530393381608};
  Value p = floatConstant(b, type, coefficients[6]);
  for (int k = 5; k >= 0; --k)
    p = math::FmaOp::create(b, p, f, floatConstant(b, type, coefficients[k]));
  Value exponent = arith::AddIOp::create(
      b, arith::FPToSIOp::create(b, intType, n), intConstant(127));
  Value scale = arith::BitcastOp::create(
      b, type, arith::ShLIOp::create(b, exponent, intConstant(23)));
  return arith::MulFOp::create(b, p, scale);
}
