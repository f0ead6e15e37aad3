//===- attn-spec-irgen-fuzzer.cpp - libFuzzer over parse + IR generation --===//
//
// Every spec the front end accepts must become IR that verifies: a spec
// that passes semantic analysis but yields an "internal error" (the verifier
// rejected the generated module) aborts, as does any crash or sanitizer
// report along the way.
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/Spec.h"
#include "attn/Spec/SpecToAttn.h"

#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr sourceMgr;
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  auto file = mlir::attn::spec::parseSpecString(sourceMgr, text, "fuzz.attn",
                                                os);
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  // One context per input: nothing carries over between runs.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  auto module = mlir::attn::spec::buildModule(context, **file, sourceMgr);
  if (!module) {
    llvm::errs() << "IR generation failed on a checked spec:\n"
                 << llvm::toString(module.takeError()) << "\nspec:\n"
                 << text << "\n";
    std::abort();
  }
  return 0;
}
