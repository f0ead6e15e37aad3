//===- IRGen.h - per-block state of IR generation ---------------*- C++ -*-===//
//
// Private to lib/Spec. FunctionBuilder builds the func.func of one block;
// SpecToAttn.cpp holds the attention forms, CascadeEmitter.cpp cascades.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_SPEC_IRGEN_H
#define ATTN_LIB_SPEC_IRGEN_H

#include "EmitExpr.h"

#include "attn/Spec/SpecToAttn.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::attn::spec {

class FunctionBuilder {
public:
  FunctionBuilder(OpBuilder &b, const Block &block,
                  const llvm::SourceMgr &sourceMgr, const IRGenOptions &options)
      : b(b), block(block), sourceMgr(sourceMgr), options(options) {}

  void buildAttention();
  void buildLinear();
  void buildCascade();

  /// A FileLineColLoc for a position in the spec.
  Location loc(llvm::SMLoc smLoc) const;

private:
  RankedTensorType tensorType(const TensorDecl &decl, bool isQkv) const;
  RankedTensorType typeOfDims(llvm::ArrayRef<Dim> dims, Type element) const;
  /// Creates the function with one argument per declaration, its entry
  /// block, and the sizes its expressions use.
  func::FuncOp beginFunction(llvm::ArrayRef<const TensorDecl *> args,
                             TypeRange results);
  void materializeSizes();
  ExprEmitter makeEmitter();
  Value emitScale();
  /// Fills `region` with one block taking `paramTypes` then the tensors of
  /// `inputs`, computing `def`'s body and yielding it as `yieldType`.
  void emitRegion(Region &region, const FunctionDef &def, TypeRange paramTypes,
                  llvm::ArrayRef<const TensorDecl *> inputs,
                  ScalarType yieldType);

  friend class CascadeEmitter;

  OpBuilder &b;
  const Block &block;
  const llvm::SourceMgr &sourceMgr;
  const IRGenOptions &options;
  llvm::DenseMap<const TensorDecl *, Value> argOf;
  llvm::StringMap<Value> sizeValues;
};

} // namespace mlir::attn::spec

#endif // ATTN_LIB_SPEC_IRGEN_H
