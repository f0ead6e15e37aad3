//===- Sema.h - semantic analysis of .attn specs ----------------*- C++ -*-===//
//
// Private to lib/Spec. Resolves names, infers the scalar types Int, Float and
// Bool, folds `const`s and constant subexpressions (catching division by
// zero and i64 overflow), and checks shapes: head dims, heads, token axes,
// parameter lists against token axes, cascade index extents.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_SPEC_SEMA_H
#define ATTN_LIB_SPEC_SEMA_H

#include "attn/Spec/AST.h"
#include "attn/Spec/Diagnostics.h"

#include "llvm/ADT/StringMap.h"

namespace mlir::attn::spec {

/// The type of a checked expression and, when it folds, its value.
struct Checked {
  ScalarType type = ScalarType::Error;
  std::optional<ConstValue> value;
};

/// The result of an expression that already produced a diagnostic.
inline Checked errorResult() { return Checked{ScalarType::Error, {}}; }

/// What a name in an expression may refer to at one point of a block.
struct ExprScope {
  /// Parameters of the function being checked, and their types.
  llvm::ArrayRef<Param> params;
  llvm::ArrayRef<ScalarType> paramTypes;
  /// Inside a `const`: only earlier consts and literals.
  const ConstDecl *currentConst = nullptr;
  /// Whether input tensors may be read (`doc[b, j]`).
  bool allowInputs = false;
  /// Whether sizes may be used.
  bool allowSizes = true;
  /// Cascade steps: the step being checked.
  CascadeStep *step = nullptr;
  unsigned stepIndex = 0;
  /// What is being checked, for messages: "mask", "scale", "const 'w'".
  llvm::StringRef context;
};

class Sema {
public:
  explicit Sema(Diagnostics &diags) : diags(diags) {}

  /// Checks every block of `file`; returns whether no error was found.
  bool check(SpecFile &file);

private:
  // Declarations and shapes (Sema.cpp).
  void checkBlock(Block &block);
  bool declareName(llvm::StringRef name, llvm::SMLoc loc,
                   llvm::StringRef what);
  void collectSizes(Block &block);
  void checkConsts(Block &block);
  void checkQkv(Block &block);
  void checkAttention(Block &block);
  void checkLinear(Block &block);
  void checkCascade(Block &block);
  bool flattenParams(FunctionDef &def, llvm::StringRef what,
                     unsigned numLeading, llvm::StringRef leadingNames,
                     unsigned numTokenAxes);
  void checkFunctionBody(FunctionDef &def, llvm::ArrayRef<ScalarType> types,
                         bool allowInputs, llvm::StringRef what,
                         ScalarType expected);
  void checkValue(ValueDef &def, llvm::StringRef what);

  // Expressions (SemaExpr.cpp).
  Checked checkExpr(Expr &expr, const ExprScope &scope);
  Checked checkName(NameExpr &expr, const ExprScope &scope);
  Checked checkIndex(IndexExpr &expr, const ExprScope &scope);
  Checked checkCascadeRead(IndexExpr &expr, const ExprScope &scope);
  Checked checkUnary(UnaryExpr &expr, const ExprScope &scope);
  Checked checkBinary(BinaryExpr &expr, const ExprScope &scope);
  Checked checkTernary(TernaryExpr &expr, const ExprScope &scope);
  Checked checkCall(CallExpr &expr, const ExprScope &scope);
  Checked checkReduce(ReduceExpr &expr, const ExprScope &scope);
  /// Binds cascade index `name` to `dim`; reports conflicting extents.
  void bindIndex(llvm::StringRef name, const Dim &dim, llvm::SMLoc loc);

  Diagnostics &diags;
  Block *block = nullptr;
  /// Every name declared in the current block, and where.
  llvm::StringMap<std::pair<llvm::SMLoc, std::string>> declared;
  /// Cascade step being checked: extents of its indices, the indices bound
  /// by enclosing reductions, and the free indices seen outside reductions.
  llvm::StringMap<std::pair<Dim, llvm::SMLoc>> indexExtents;
  std::vector<std::string> reductionIndices;
  std::vector<std::string> freeIndices;
};

} // namespace mlir::attn::spec

#endif // ATTN_LIB_SPEC_SEMA_H
