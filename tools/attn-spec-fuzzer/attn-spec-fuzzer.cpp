//===- attn-spec-fuzzer.cpp - libFuzzer target of the spec front end ------===//
//
// Feeds arbitrary bytes to the lexer, parser and semantic analysis. Any
// crash, sanitizer report, leak or hang is a bug: the front end must answer
// every input with a tree or diagnostics.
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/Spec.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr sourceMgr;
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  // Diagnostics are formatted (exercising SourceMgr) but not printed.
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  auto file = mlir::attn::spec::parseSpecString(sourceMgr, text, "fuzz.attn",
                                                os);
  if (!file)
    llvm::consumeError(file.takeError());
  return 0;
}
