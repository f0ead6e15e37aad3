//===- SpecToAttn.h - IR generation from checked specs ---------*- C++ -*-===//
//
// Turns a checked spec (attn/Spec/Spec.h) into attn-dialect IR: one
// `func.func @<block>` per block, taking q, k, v and then the inputs in
// declaration order (a cascade takes its inputs) and returning the output
// (and lse; a cascade returns its output steps). docs/spec-language.md §11
// and the conventions of the reference evaluator describe the form.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SPEC_SPECTOATTN_H
#define ATTN_SPEC_SPECTOATTN_H

#include "attn/Spec/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/SourceMgr.h"

#include <optional>

namespace mlir::attn::spec {

struct IRGenOptions {
  /// Only this block (all blocks when empty).
  std::string blockName;
  /// Overrides the element type of q, k and v (`attnc --dtype`).
  std::optional<DType> qkvDType;
};

/// Registers the dialects generated IR uses (attn, func, arith, math,
/// tensor, scf) in `context`.
void loadIRGenDialects(MLIRContext &context);

/// Builds a module for `file`, which semantic analysis has checked. Fails
/// with an llvm::Error (nothing printed) when `options.blockName` names no
/// block, or, as an internal error, when the generated module does not
/// verify; the verifier's diagnostics are then part of the message.
llvm::Expected<OwningOpRef<ModuleOp>>
buildModule(MLIRContext &context, const SpecFile &file,
            const llvm::SourceMgr &sourceMgr, const IRGenOptions &options = {});

} // namespace mlir::attn::spec

#endif // ATTN_SPEC_SPECTOATTN_H
