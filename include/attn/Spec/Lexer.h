//===- Lexer.h - tokens of the .attn spec language -------------*- C++ -*-===//
//
// Splits a spec into tokens. Line breaks are not tokens, but each token
// records whether it starts a line: statements end at a line break (or `;`),
// and the parser uses the flag to say so when something follows on the line.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SPEC_LEXER_H
#define ATTN_SPEC_LEXER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <string>

namespace mlir::attn::spec {

class Diagnostics;

enum class TokenKind {
  Eof,
  Error, ///< a bad character or literal; the lexer has reported it
  Identifier,
  Integer,
  Float,
  // punctuation
  LBrace, RBrace, LParen, RParen, LBracket, RBracket,
  Comma, Colon, Semicolon, Question, Assign,
  Plus, Minus, Star, Slash, Percent,
  Less, LessEqual, Greater, GreaterEqual, EqualEqual, NotEqual,
  AmpAmp, PipePipe, Bang,
};

/// How a token kind is named in "expected ..." messages: `'{'`, `identifier`.
llvm::StringRef describe(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::Eof;
  llvm::StringRef text;
  /// Whether a line break (or the start of the file) precedes the token.
  bool startsLine = false;

  llvm::SMLoc getLoc() const { return llvm::SMLoc::getFromPointer(text.data()); }
  bool is(TokenKind k) const { return kind == k; }
  bool isIdentifier(llvm::StringRef name) const {
    return kind == TokenKind::Identifier && text == name;
  }
  /// The token for messages: `'foo'`, or `end of file`.
  std::string quoted() const;
};

class Lexer {
public:
  Lexer(llvm::StringRef buffer, Diagnostics &diags)
      : buffer(buffer), cur(buffer.begin()), diags(diags) {}

  /// Returns the next token; reports bad characters and yields `Error`.
  Token next();

private:
  Token make(TokenKind kind, const char *start, bool startsLine);
  Token lexNumber(const char *start, bool startsLine);
  /// Skips blanks and `//` comments; returns whether a line break was seen.
  bool skipSpaceAndComments();

  llvm::StringRef buffer;
  const char *cur;
  bool atFileStart = true;
  Diagnostics &diags;
};

} // namespace mlir::attn::spec

#endif // ATTN_SPEC_LEXER_H
