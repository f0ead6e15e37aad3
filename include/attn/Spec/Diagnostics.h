//===- Diagnostics.h - error reporting of the spec front end ---*- C++ -*-===//
//
// Every user mistake is printed through llvm::SourceMgr as
// `file:line:col: error: message`, the source line and a caret, to a stream
// the caller chooses; the front end never exits or aborts on bad input.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SPEC_DIAGNOSTICS_H
#define ATTN_SPEC_DIAGNOSTICS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::attn::spec {

class Diagnostics {
public:
  Diagnostics(llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os)
      : sourceMgr(sourceMgr), os(os) {}

  void error(llvm::SMLoc loc, const llvm::Twine &message);
  void note(llvm::SMLoc loc, const llvm::Twine &message);

  unsigned getNumErrors() const { return numErrors; }
  llvm::SourceMgr &getSourceMgr() { return sourceMgr; }

private:
  llvm::SourceMgr &sourceMgr;
  llvm::raw_ostream &os;
  unsigned numErrors = 0;
};

} // namespace mlir::attn::spec

#endif // ATTN_SPEC_DIAGNOSTICS_H
