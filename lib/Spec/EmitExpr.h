//===- EmitExpr.h - scalar expressions to arith/math/scf -------*- C++ -*-===//
//
// Private to lib/Spec. Emits one checked expression as i64 / f32 / i1 SSA
// values following the conventions the reference evaluator and the
// lowering rely on (floor division, short-circuit through scf.if when the
// guarded side reads an input, i64 indices cast to index for reads).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_SPEC_EMITEXPR_H
#define ATTN_LIB_SPEC_EMITEXPR_H

#include "attn/Spec/AST.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <functional>

namespace mlir::attn::spec {

/// The MLIR type of expression values of `type` (i64, f32, i1).
Type scalarMLIRType(Builder &b, ScalarType type);
/// The element type of tensors declared with `dtype`.
Type elementMLIRType(Builder &b, DType dtype);
/// Widens a tensor element (i32, f16, bf16, ...) to the expression type
/// of its dtype (i64, f32; i1 stays).
Value widenElement(OpBuilder &b, Location loc, Value element);

class ExprEmitter {
public:
  ExprEmitter(OpBuilder &builder, std::function<Location(llvm::SMLoc)> makeLoc,
              const llvm::StringMap<Value> &sizes)
      : b(builder), makeLoc(std::move(makeLoc)), sizes(sizes) {}

  /// Values of the function parameters (mask/score/feature/decay).
  llvm::ArrayRef<Value> params;
  /// Attention blocks: the tensor of each input read.
  llvm::DenseMap<const TensorDecl *, Value> inputTensors;
  /// Cascades: the scalar element standing for each read or reduction node.
  llvm::DenseMap<const Expr *, Value> elementOf;

  /// Emits `expr`; the value has the MLIR type of `expr.type`.
  Value emit(const Expr &expr);
  /// Converts `value` of expression type `from` to `to` (int to float).
  Value convert(Value value, ScalarType from, ScalarType to, Location loc);

private:
  Value emitConst(const ConstValue &value, Location loc);
  Value emitName(const NameExpr &expr, Location loc);
  Value emitRead(const IndexExpr &expr, Location loc);
  Value emitUnary(const UnaryExpr &expr, Location loc);
  Value emitBinary(const BinaryExpr &expr, Location loc);
  Value emitLogical(const BinaryExpr &expr, Location loc);
  Value emitTernary(const TernaryExpr &expr, Location loc);
  Value emitCall(const CallExpr &expr, Location loc);
  /// Emits `expr` inside a fresh region block of an scf.if branch.
  void emitBranch(Region &region, const Expr &expr, ScalarType type,
                  Location loc);
  Value emitAs(const Expr &expr, ScalarType type);

  OpBuilder &b;
  std::function<Location(llvm::SMLoc)> makeLoc;
  const llvm::StringMap<Value> &sizes;
};

/// Whether evaluating `expr` reads an input tensor (so guarding it matters).
bool readsInput(const Expr &expr);

/// Calls `fn` on every node of `expr`, parents first.
void walkExpr(const Expr &expr, const std::function<void(const Expr &)> &fn);

} // namespace mlir::attn::spec

#endif // ATTN_LIB_SPEC_EMITEXPR_H
