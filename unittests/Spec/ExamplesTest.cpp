//===- ExamplesTest.cpp - the pattern library and the doc snippets --------===//
//
// Every examples/*.attn must parse and check, as must every ```attn block of
// docs/spec-language.md, so neither can drift from the implementation.
//
//===----------------------------------------------------------------------===//

#include "SpecTestUtils.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <algorithm>

using namespace mlir::attn::spec;
using namespace mlir::attn::spec::testing;

namespace {

std::vector<std::string> exampleFiles() {
  std::vector<std::string> files;
  llvm::SmallString<128> dir(ATTN_SOURCE_DIR);
  llvm::sys::path::append(dir, "examples");
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".attn")
      files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(SpecExamples, EveryExampleParsesAndChecks) {
  std::vector<std::string> files = exampleFiles();
  EXPECT_GE(files.size(), 25u) << "the pattern library of DESIGN §4";
  for (const std::string &path : files) {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    ASSERT_TRUE(bool(buffer)) << path;
    llvm::StringRef text = (*buffer)->getBuffer();
    ParseResult r = parseText(text, path);
    EXPECT_TRUE(r.ok()) << r.diagnostics;
    // Each example names its source in a leading comment.
    EXPECT_TRUE(text.starts_with("//")) << path << " lacks a source comment";
  }
}

/// The ```attn blocks of a markdown file, with their first line number.
std::vector<std::pair<unsigned, std::string>>
extractSnippets(llvm::StringRef markdown) {
  std::vector<std::pair<unsigned, std::string>> snippets;
  llvm::SmallVector<llvm::StringRef> lines;
  markdown.split(lines, '\n');
  bool inside = false;
  for (unsigned i = 0; i < lines.size(); ++i) {
    llvm::StringRef line = lines[i].rtrim();
    if (!inside && line.trim() == "```attn") {
      inside = true;
      snippets.push_back({i + 2, ""});
    } else if (inside && line.trim() == "```") {
      inside = false;
    } else if (inside) {
      snippets.back().second += (line + "\n").str();
    }
  }
  return snippets;
}

TEST(SpecDocs, EveryAttnSnippetParses) {
  llvm::SmallString<128> path(ATTN_SOURCE_DIR);
  llvm::sys::path::append(path, "docs", "spec-language.md");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(buffer)) << path.str().str();
  auto snippets = extractSnippets((*buffer)->getBuffer());
  EXPECT_GE(snippets.size(), 10u);
  for (const auto &[line, text] : snippets) {
    ParseResult r = parseText(text, "spec-language.md snippet");
    EXPECT_TRUE(r.ok()) << "snippet at " << path.str().str() << ":" << line
                        << "\n" << r.diagnostics;
  }
}

} // namespace
