//===- SpecTestUtils.h - helpers of the spec front-end tests ---*- C++ -*-===//
//
// Parses spec text into a tree while capturing diagnostics, so tests can
// assert on the exact `line:col` and message of the first error.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_UNITTESTS_SPEC_SPECTESTUTILS_H
#define ATTN_UNITTESTS_SPEC_SPECTESTUTILS_H

#include "attn/Spec/Spec.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

namespace mlir::attn::spec::testing {

/// One parse of a spec: the tree (null on error) and everything printed.
struct ParseResult {
  std::unique_ptr<llvm::SourceMgr> sourceMgr;
  std::unique_ptr<SpecFile> file;
  std::string diagnostics;

  bool ok() const { return file != nullptr; }
  /// The first line of the first diagnostic, without the buffer name:
  /// `3:7: error: ...`.
  std::string firstError() const {
    std::string first = diagnostics.substr(0, diagnostics.find('\n'));
    size_t colon = first.find(':');
    return colon == std::string::npos ? first : first.substr(colon + 1);
  }
};

inline ParseResult parseText(llvm::StringRef text,
                             llvm::StringRef name = "spec.attn") {
  ParseResult result;
  result.sourceMgr = std::make_unique<llvm::SourceMgr>();
  llvm::raw_string_ostream os(result.diagnostics);
  auto file = parseSpecString(*result.sourceMgr, text, name, os);
  if (file)
    result.file = std::move(*file);
  else
    llvm::consumeError(file.takeError());
  return result;
}

} // namespace mlir::attn::spec::testing

#endif // ATTN_UNITTESTS_SPEC_SPECTESTUTILS_H
