//===- Diagnostics.cpp - error reporting of the spec front end ------------===//
//
// Prints diagnostics through llvm::SourceMgr, so every message carries
// `file:line:col`, the source line and a caret.
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/Diagnostics.h"

using namespace mlir::attn::spec;

void Diagnostics::error(llvm::SMLoc loc, const llvm::Twine &message) {
  ++numErrors;
  sourceMgr.PrintMessage(os, loc, llvm::SourceMgr::DK_Error, message);
}

void Diagnostics::note(llvm::SMLoc loc, const llvm::Twine &message) {
  sourceMgr.PrintMessage(os, loc, llvm::SourceMgr::DK_Note, message);
}
