//===- Spec.h - entry points of the .attn spec front end -------*- C++ -*-===//
//
// Parses and checks a spec (DESIGN §3.1). Diagnostics go to a caller-chosen
// stream; the result is the checked tree, or an llvm::Error saying how many
// errors were reported. Nothing here exits or aborts on malformed input.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SPEC_SPEC_H
#define ATTN_SPEC_SPEC_H

#include "attn/Spec/AST.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

namespace mlir::attn::spec {

/// Deepest nesting of expressions (parentheses, operators, calls) the parser
/// accepts; deeper input gets an error instead of exhausting the stack.
constexpr unsigned kMaxExprDepth = 256;

/// Parses buffer `bufferId` of `sourceMgr` without semantic checks.
llvm::Expected<std::unique_ptr<SpecFile>>
parseSpecSyntax(llvm::SourceMgr &sourceMgr, unsigned bufferId,
                llvm::raw_ostream &diagOS);

/// Runs semantic analysis over `file` (names, types, constants, shapes),
/// annotating it. Reports every error found to `diagOS`.
llvm::Error checkSpec(SpecFile &file, llvm::SourceMgr &sourceMgr,
                      llvm::raw_ostream &diagOS);

/// Parses and checks buffer `bufferId` of `sourceMgr`. The SourceMgr must
/// outlive the returned tree (its locations point into the buffer).
llvm::Expected<std::unique_ptr<SpecFile>>
parseSpec(llvm::SourceMgr &sourceMgr, unsigned bufferId,
          llvm::raw_ostream &diagOS);

/// Convenience: adds `text` to `sourceMgr` as a buffer named `bufferName`
/// and parses and checks it.
llvm::Expected<std::unique_ptr<SpecFile>>
parseSpecString(llvm::SourceMgr &sourceMgr, llvm::StringRef text,
                llvm::StringRef bufferName, llvm::raw_ostream &diagOS);

} // namespace mlir::attn::spec

#endif // ATTN_SPEC_SPEC_H
