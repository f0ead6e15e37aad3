//===- Spec.cpp - entry points of the .attn spec front end ----------------===//
//
// Ties the parser and semantic analysis together behind llvm::Expected.
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/Spec.h"

#include "Parser.h"
#include "Sema.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace mlir::attn::spec;

static llvm::Error errorCount(unsigned count, llvm::StringRef phase) {
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      llvm::Twine(count) + (count == 1 ? " error" : " errors") + " in " +
          phase);
}

llvm::Expected<std::unique_ptr<SpecFile>>
mlir::attn::spec::parseSpecSyntax(llvm::SourceMgr &sourceMgr,
                                  unsigned bufferId,
                                  llvm::raw_ostream &diagOS) {
  Diagnostics diags(sourceMgr, diagOS);
  Parser parser(sourceMgr.getMemoryBuffer(bufferId)->getBuffer(), diags);
  std::unique_ptr<SpecFile> file = parser.parseFile();
  if (!file || diags.getNumErrors())
    return errorCount(std::max(1u, diags.getNumErrors()), "spec syntax");
  return std::move(file);
}

llvm::Error mlir::attn::spec::checkSpec(SpecFile &file,
                                        llvm::SourceMgr &sourceMgr,
                                        llvm::raw_ostream &diagOS) {
  Diagnostics diags(sourceMgr, diagOS);
  Sema sema(diags);
  if (!sema.check(file))
    return errorCount(diags.getNumErrors(), "spec");
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<SpecFile>>
mlir::attn::spec::parseSpec(llvm::SourceMgr &sourceMgr, unsigned bufferId,
                            llvm::raw_ostream &diagOS) {
  auto file = parseSpecSyntax(sourceMgr, bufferId, diagOS);
  if (!file)
    return file.takeError();
  if (llvm::Error err = checkSpec(**file, sourceMgr, diagOS))
    return std::move(err);
  return file;
}

llvm::Expected<std::unique_ptr<SpecFile>>
mlir::attn::spec::parseSpecString(llvm::SourceMgr &sourceMgr,
                                  llvm::StringRef text,
                                  llvm::StringRef bufferName,
                                  llvm::raw_ostream &diagOS) {
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, bufferName), llvm::SMLoc());
  return parseSpec(sourceMgr, id, diagOS);
}
