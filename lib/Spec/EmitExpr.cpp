//===- EmitExpr.cpp - scalar expressions to arith/math/scf ----------------===//
//
// Integers are i64 (`/` is arith.floordivsi, `%` a floor modulo built from
// arith.remsi and a select), floats f32, ints promote with arith.sitofp.
// `&&`, `||` and `?:` whose guarded side reads an input become scf.if so a
// guarded read never runs out of range; otherwise they are plain arith ops.
//
//===----------------------------------------------------------------------===//

#include "EmitExpr.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn::spec;

Type mlir::attn::spec::scalarMLIRType(Builder &b, ScalarType type) {
  switch (type) {
  case ScalarType::Int: return b.getI64Type();
  case ScalarType::Float: return b.getF32Type();
  case ScalarType::Bool:
  case ScalarType::Error: return b.getI1Type();
  }
  return b.getI1Type();
}

Type mlir::attn::spec::elementMLIRType(Builder &b, DType dtype) {
  switch (dtype) {
  case DType::F32: return b.getF32Type();
  case DType::F16: return b.getF16Type();
  case DType::BF16: return b.getBF16Type();
  case DType::I32: return b.getI32Type();
  case DType::I64: return b.getI64Type();
  case DType::Bool: return b.getI1Type();
  }
  return b.getF32Type();
}

Value mlir::attn::spec::widenElement(OpBuilder &b, Location loc,
                                     Value element) {
  Type type = element.getType();
  if (auto intType = dyn_cast<IntegerType>(type)) {
    if (intType.getWidth() == 1 || intType.getWidth() == 64)
      return element;
    return arith::ExtSIOp::create(b, loc, b.getI64Type(), element);
  }
  if (!type.isF32())
    return arith::ExtFOp::create(b, loc, b.getF32Type(), element);
  return element;
}

void mlir::attn::spec::walkExpr(const Expr &expr,
                                const std::function<void(const Expr &)> &fn) {
  fn(expr);
  switch (expr.getKind()) {
  case Expr::Kind::Index:
    for (const ExprPtr &sub : llvm::cast<IndexExpr>(expr).subscripts)
      walkExpr(*sub, fn);
    break;
  case Expr::Kind::Unary:
    walkExpr(*llvm::cast<UnaryExpr>(expr).operand, fn);
    break;
  case Expr::Kind::Binary:
    walkExpr(*llvm::cast<BinaryExpr>(expr).lhs, fn);
    walkExpr(*llvm::cast<BinaryExpr>(expr).rhs, fn);
    break;
  case Expr::Kind::Ternary: {
    auto &t = llvm::cast<TernaryExpr>(expr);
    walkExpr(*t.cond, fn);
    walkExpr(*t.thenExpr, fn);
    walkExpr(*t.elseExpr, fn);
    break;
  }
  case Expr::Kind::Call:
    for (const ExprPtr &arg : llvm::cast<CallExpr>(expr).args)
      walkExpr(*arg, fn);
    break;
  case Expr::Kind::Reduce:
    walkExpr(*llvm::cast<ReduceExpr>(expr).body, fn);
    break;
  default:
    break;
  }
}

bool mlir::attn::spec::readsInput(const Expr &expr) {
  bool reads = false;
  walkExpr(expr, [&](const Expr &e) {
    if (auto *index = llvm::dyn_cast<IndexExpr>(&e))
      reads |= index->input != nullptr;
  });
  return reads;
}

Value ExprEmitter::convert(Value value, ScalarType from, ScalarType to,
                           Location loc) {
  if (from == to || to != ScalarType::Float || from != ScalarType::Int)
    return value;
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), value);
}

Value ExprEmitter::emitAs(const Expr &expr, ScalarType type) {
  return convert(emit(expr), expr.type, type, makeLoc(expr.getLoc()));
}

Value ExprEmitter::emitConst(const ConstValue &value, Location loc) {
  switch (value.type) {
  case ScalarType::Int:
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(value.intValue));
  case ScalarType::Float:
    return arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(static_cast<float>(value.floatValue)));
  default:
    return arith::ConstantOp::create(b, loc, b.getBoolAttr(value.boolValue));
  }
}

Value ExprEmitter::emit(const Expr &expr) {
  Location loc = makeLoc(expr.getLoc());
  switch (expr.getKind()) {
  case Expr::Kind::IntLit:
    return emitConst(ConstValue::ofInt(llvm::cast<IntLitExpr>(expr).value),
                     loc);
  case Expr::Kind::FloatLit:
    return emitConst(
        ConstValue::ofFloat(llvm::cast<FloatLitExpr>(expr).value), loc);
  case Expr::Kind::BoolLit:
    return emitConst(ConstValue::ofBool(llvm::cast<BoolLitExpr>(expr).value),
                     loc);
  case Expr::Kind::Name:
    return emitName(llvm::cast<NameExpr>(expr), loc);
  case Expr::Kind::Index:
    if (Value element = elementOf.lookup(&expr))
      return widenElement(b, loc, element);
    return emitRead(llvm::cast<IndexExpr>(expr), loc);
  case Expr::Kind::Reduce:
    // Reductions are hoisted into attn.reduce before their parent is
    // emitted; the parent's map sees their element.
    return elementOf.lookup(&expr);
  case Expr::Kind::Unary:
    return emitUnary(llvm::cast<UnaryExpr>(expr), loc);
  case Expr::Kind::Binary:
    return emitBinary(llvm::cast<BinaryExpr>(expr), loc);
  case Expr::Kind::Ternary:
    return emitTernary(llvm::cast<TernaryExpr>(expr), loc);
  case Expr::Kind::Call:
    return emitCall(llvm::cast<CallExpr>(expr), loc);
  }
  return {};
}

Value ExprEmitter::emitName(const NameExpr &expr, Location loc) {
  switch (expr.refKind) {
  case NameRefKind::Param:
    return params[expr.paramIndex];
  case NameRefKind::Const:
    return emitConst(*expr.constDecl->folded, loc);
  case NameRefKind::Size:
    return sizes.lookup(expr.name);
  case NameRefKind::Infinity:
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(INFINITY));
  default:
    return {};
  }
}

Value ExprEmitter::emitRead(const IndexExpr &expr, Location loc) {
  Value tensor = inputTensors.lookup(expr.input);
  SmallVector<Value> indices;
  for (const ExprPtr &sub : expr.subscripts)
    indices.push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                 emit(*sub)));
  Value element = tensor::ExtractOp::create(b, loc, tensor, indices);
  return widenElement(b, loc, element);
}

Value ExprEmitter::emitUnary(const UnaryExpr &expr, Location loc) {
  Value operand = emit(*expr.operand);
  if (expr.op == UnaryOp::Not) {
    Value one = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
    return arith::XOrIOp::create(b, loc, operand, one);
  }
  if (expr.type == ScalarType::Float)
    return arith::NegFOp::create(b, loc, operand);
  Value zero = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0));
  return arith::SubIOp::create(b, loc, zero, operand);
}

/// Python's floor modulo: the remainder takes the divisor's sign.
static Value floorMod(OpBuilder &b, Location loc, Value lhs, Value rhs,
                      bool isFloat) {
  Value rem, zero, remNonZero, remNegative, rhsNegative;
  if (isFloat) {
    rem = arith::RemFOp::create(b, loc, lhs, rhs);
    zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    remNonZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ONE, rem, zero);
    remNegative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, rem, zero);
    rhsNegative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, rhs, zero);
  } else {
    rem = arith::RemSIOp::create(b, loc, lhs, rhs);
    zero = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0));
    remNonZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rem, zero);
    remNegative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rem, zero);
    rhsNegative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rhs, zero);
  }
  Value signsDiffer = arith::XOrIOp::create(b, loc, remNegative, rhsNegative);
  Value needsFix = arith::AndIOp::create(b, loc, remNonZero, signsDiffer);
  Value fixed = isFloat ? Value(arith::AddFOp::create(b, loc, rem, rhs))
                        : Value(arith::AddIOp::create(b, loc, rem, rhs));
  return arith::SelectOp::create(b, loc, needsFix, fixed, rem);
}

Value ExprEmitter::emitBinary(const BinaryExpr &expr, Location loc) {
  if (expr.op == BinaryOp::And || expr.op == BinaryOp::Or)
    return emitLogical(expr, loc);
  ScalarType lhsType = expr.lhs->type, rhsType = expr.rhs->type;
  bool isComparison = expr.op >= BinaryOp::Lt && expr.op <= BinaryOp::Ne;
  ScalarType operandType =
      lhsType == ScalarType::Bool
          ? ScalarType::Bool
          : (lhsType == ScalarType::Float || rhsType == ScalarType::Float
                 ? ScalarType::Float
                 : ScalarType::Int);
  Value lhs = emitAs(*expr.lhs, operandType);
  Value rhs = emitAs(*expr.rhs, operandType);
  bool isFloat = operandType == ScalarType::Float;

  if (isComparison) {
    if (isFloat) {
      arith::CmpFPredicate pred;
      switch (expr.op) {
      case BinaryOp::Lt: pred = arith::CmpFPredicate::OLT; break;
      case BinaryOp::Le: pred = arith::CmpFPredicate::OLE; break;
      case BinaryOp::Gt: pred = arith::CmpFPredicate::OGT; break;
      case BinaryOp::Ge: pred = arith::CmpFPredicate::OGE; break;
      case BinaryOp::Eq: pred = arith::CmpFPredicate::OEQ; break;
      default: pred = arith::CmpFPredicate::UNE; break;
      }
      return arith::CmpFOp::create(b, loc, pred, lhs, rhs);
    }
    arith::CmpIPredicate pred;
    switch (expr.op) {
    case BinaryOp::Lt: pred = arith::CmpIPredicate::slt; break;
    case BinaryOp::Le: pred = arith::CmpIPredicate::sle; break;
    case BinaryOp::Gt: pred = arith::CmpIPredicate::sgt; break;
    case BinaryOp::Ge: pred = arith::CmpIPredicate::sge; break;
    case BinaryOp::Eq: pred = arith::CmpIPredicate::eq; break;
    default: pred = arith::CmpIPredicate::ne; break;
    }
    return arith::CmpIOp::create(b, loc, pred, lhs, rhs);
  }

  switch (expr.op) {
  case BinaryOp::Add:
    return isFloat ? Value(arith::AddFOp::create(b, loc, lhs, rhs))
                   : Value(arith::AddIOp::create(b, loc, lhs, rhs));
  case BinaryOp::Sub:
    return isFloat ? Value(arith::SubFOp::create(b, loc, lhs, rhs))
                   : Value(arith::SubIOp::create(b, loc, lhs, rhs));
  case BinaryOp::Mul:
    return isFloat ? Value(arith::MulFOp::create(b, loc, lhs, rhs))
                   : Value(arith::MulIOp::create(b, loc, lhs, rhs));
  case BinaryOp::Div:
    return isFloat ? Value(arith::DivFOp::create(b, loc, lhs, rhs))
                   : Value(arith::FloorDivSIOp::create(b, loc, lhs, rhs));
  case BinaryOp::Mod:
    return floorMod(b, loc, lhs, rhs, isFloat);
  default:
    return {};
  }
}

void ExprEmitter::emitBranch(Region &region, const Expr &expr,
                             ScalarType type, Location loc) {
  OpBuilder::InsertionGuard guard(b);
  if (region.empty())
    b.createBlock(&region);
  else
    b.setInsertionPointToEnd(&region.front());
  Value value = emitAs(expr, type);
  scf::YieldOp::create(b, loc, value);
}

Value ExprEmitter::emitLogical(const BinaryExpr &expr, Location loc) {
  bool isAnd = expr.op == BinaryOp::And;
  Value lhs = emit(*expr.lhs);
  if (!readsInput(*expr.rhs)) {
    Value rhs = emit(*expr.rhs);
    return isAnd ? Value(arith::AndIOp::create(b, loc, lhs, rhs))
                 : Value(arith::OrIOp::create(b, loc, lhs, rhs));
  }
  // The right side reads an input: evaluate it only when it decides.
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getI1Type()}, lhs,
                                /*withElseRegion=*/true);
  Region &decides = isAnd ? ifOp.getThenRegion() : ifOp.getElseRegion();
  Region &shortCircuits = isAnd ? ifOp.getElseRegion() : ifOp.getThenRegion();
  emitBranch(decides, *expr.rhs, ScalarType::Bool, loc);
  {
    OpBuilder::InsertionGuard guard(b);
    if (shortCircuits.empty())
      b.createBlock(&shortCircuits);
    else
      b.setInsertionPointToEnd(&shortCircuits.front());
    Value known = arith::ConstantOp::create(b, loc, b.getBoolAttr(!isAnd));
    scf::YieldOp::create(b, loc, known);
  }
  return ifOp.getResult(0);
}

Value ExprEmitter::emitTernary(const TernaryExpr &expr, Location loc) {
  Value cond = emit(*expr.cond);
  if (!readsInput(*expr.thenExpr) && !readsInput(*expr.elseExpr)) {
    Value thenValue = emitAs(*expr.thenExpr, expr.type);
    Value elseValue = emitAs(*expr.elseExpr, expr.type);
    return arith::SelectOp::create(b, loc, cond, thenValue, elseValue);
  }
  auto ifOp = scf::IfOp::create(b, loc,
                                TypeRange{scalarMLIRType(b, expr.type)}, cond,
                                /*withElseRegion=*/true);
  emitBranch(ifOp.getThenRegion(), *expr.thenExpr, expr.type, loc);
  emitBranch(ifOp.getElseRegion(), *expr.elseExpr, expr.type, loc);
  return ifOp.getResult(0);
}

Value ExprEmitter::emitCall(const CallExpr &expr, Location loc) {
  if (expr.callee == Builtin::Neighborhood ||
      expr.callee == Builtin::NeighborhoodCausal) {
    Value args[5];
    for (unsigned i = 0; i < 5; ++i)
      args[i] = emit(*expr.args[i]);
    return NeighborhoodOp::create(b, loc, b.getI1Type(), args[0], args[1],
                                  args[2], args[3], args[4],
                                  expr.callee == Builtin::NeighborhoodCausal);
  }
  // Every other built-in computes in the call's (promoted) type, except
  // the float-only math functions whose arguments promote to float.
  bool isMath = expr.callee == Builtin::Exp || expr.callee == Builtin::Log ||
                expr.callee == Builtin::Tanh || expr.callee == Builtin::Sqrt;
  ScalarType argType = isMath ? ScalarType::Float : expr.type;
  SmallVector<Value> args;
  for (const ExprPtr &arg : expr.args)
    args.push_back(emitAs(*arg, argType));
  bool isFloat = argType == ScalarType::Float;
  auto min = [&](Value x, Value y) {
    return isFloat ? Value(arith::MinimumFOp::create(b, loc, x, y))
                   : Value(arith::MinSIOp::create(b, loc, x, y));
  };
  auto max = [&](Value x, Value y) {
    return isFloat ? Value(arith::MaximumFOp::create(b, loc, x, y))
                   : Value(arith::MaxSIOp::create(b, loc, x, y));
  };
  switch (expr.callee) {
  case Builtin::Min: return min(args[0], args[1]);
  case Builtin::Max: return max(args[0], args[1]);
  case Builtin::Clamp: return min(max(args[0], args[1]), args[2]);
  case Builtin::Abs:
    return isFloat ? Value(math::AbsFOp::create(b, loc, args[0]))
                   : Value(math::AbsIOp::create(b, loc, args[0]));
  case Builtin::Exp: return math::ExpOp::create(b, loc, args[0]);
  case Builtin::Log: return math::LogOp::create(b, loc, args[0]);
  case Builtin::Tanh: return math::TanhOp::create(b, loc, args[0]);
  case Builtin::Sqrt: return math::SqrtOp::create(b, loc, args[0]);
  default: return {};
  }
}
