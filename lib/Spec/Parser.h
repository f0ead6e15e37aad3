//===- Parser.h - recursive-descent parser of .attn specs -------*- C++ -*-===//
//
// Private to lib/Spec. The parser stops at the first syntax error (one clear
// message beats a cascade of guesses) and caps the nesting depth of
// expressions so no input can exhaust the stack.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_SPEC_PARSER_H
#define ATTN_LIB_SPEC_PARSER_H

#include "attn/Spec/AST.h"
#include "attn/Spec/Diagnostics.h"
#include "attn/Spec/Lexer.h"

#include <deque>

namespace mlir::attn::spec {

class Parser {
public:
  Parser(llvm::StringRef buffer, Diagnostics &diags)
      : lexer(buffer, diags), diags(diags) {}

  /// Parses a whole file; returns null after reporting an error.
  std::unique_ptr<SpecFile> parseFile();

private:
  // Tokens.
  const Token &peek(unsigned ahead = 0);
  Token consume();
  bool consumeIf(TokenKind kind);
  /// Consumes a token of `kind` or reports "expected <what>, found ...".
  bool expect(TokenKind kind, const llvm::Twine &what);
  /// Reports `message` at `loc` unless an error was already reported.
  void error(llvm::SMLoc loc, const llvm::Twine &message);
  /// Reports "expected <what>, found <next token>" at the next token.
  void errorExpected(const llvm::Twine &what);
  bool failed() const { return hasFailed; }

  // Blocks and statements (Parser.cpp).
  std::unique_ptr<Block> parseBlock();
  bool parseStatement(Block &block);
  bool parseAttentionStatement(Block &block, const Token &keyword);
  bool parseLinearStatement(Block &block, const Token &keyword);
  bool parseCascadeStatement(Block &block, const Token &keyword);
  bool parseCommonStatement(Block &block, const Token &keyword, bool &handled);
  bool expectEndOfStatement(llvm::StringRef what);
  bool parseQkvDecl(Block &block, const Token &name);
  bool parseTensorDecl(TensorDecl &decl);
  bool parseInputs(Block &block);
  bool parseConsts(Block &block);
  bool parseFunction(FunctionDef &def, llvm::SMLoc loc, bool allowGroups);
  bool parseValueDef(std::optional<ValueDef> &def, llvm::SMLoc loc,
                     llvm::StringRef what);
  bool parseCascadeStep(Block &block, bool isOutput);
  bool parseIdentifier(Param &param, const llvm::Twine &what);
  /// Reports a second definition of a single-valued statement.
  bool checkNotDefined(bool defined, llvm::SMLoc previous, llvm::SMLoc loc,
                       llvm::StringRef what);

  // Expressions (ParseExpr.cpp).
  ExprPtr parseExpr();
  ExprPtr parseTernary();
  ExprPtr parseOr();
  ExprPtr parseAnd();
  ExprPtr parseComparison();
  ExprPtr parseAdditive();
  ExprPtr parseMultiplicative();
  ExprPtr parseUnary();
  ExprPtr parsePrimary();
  ExprPtr parseCall(const Token &name);
  ExprPtr parseIndex(const Token &name);
  /// Checks the height of a freshly built node against the cap.
  ExprPtr checkHeight(ExprPtr expr);
  /// Enters one level of parser recursion; false (with an error) when the
  /// nesting cap is exceeded.
  bool enterNesting();

  Lexer lexer;
  Diagnostics &diags;
  std::deque<Token> lookahead;
  Token previous;
  unsigned nesting = 0;
  bool hasFailed = false;
  bool reportedDepth = false;

  friend class NestingGuard;
};

} // namespace mlir::attn::spec

#endif // ATTN_LIB_SPEC_PARSER_H
