//===- Lexer.cpp - tokens of the .attn spec language ----------------------===//
//
// A hand-written lexer: identifiers, integer and float literals, operators,
// `//` comments. It reports characters that start no token and keeps going
// only as far as the parser asks (the parser stops at the first error).
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/Lexer.h"
#include "attn/Spec/Diagnostics.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

using namespace mlir::attn::spec;

llvm::StringRef mlir::attn::spec::describe(TokenKind kind) {
  switch (kind) {
  case TokenKind::Eof: return "end of file";
  case TokenKind::Error: return "invalid token";
  case TokenKind::Identifier: return "identifier";
  case TokenKind::Integer: return "integer literal";
  case TokenKind::Float: return "float literal";
  case TokenKind::LBrace: return "'{'";
  case TokenKind::RBrace: return "'}'";
  case TokenKind::LParen: return "'('";
  case TokenKind::RParen: return "')'";
  case TokenKind::LBracket: return "'['";
  case TokenKind::RBracket: return "']'";
  case TokenKind::Comma: return "','";
  case TokenKind::Colon: return "':'";
  case TokenKind::Semicolon: return "';'";
  case TokenKind::Question: return "'?'";
  case TokenKind::Assign: return "'='";
  case TokenKind::Plus: return "'+'";
  case TokenKind::Minus: return "'-'";
  case TokenKind::Star: return "'*'";
  case TokenKind::Slash: return "'/'";
  case TokenKind::Percent: return "'%'";
  case TokenKind::Less: return "'<'";
  case TokenKind::LessEqual: return "'<='";
  case TokenKind::Greater: return "'>'";
  case TokenKind::GreaterEqual: return "'>='";
  case TokenKind::EqualEqual: return "'=='";
  case TokenKind::NotEqual: return "'!='";
  case TokenKind::AmpAmp: return "'&&'";
  case TokenKind::PipePipe: return "'||'";
  case TokenKind::Bang: return "'!'";
  }
  return "token";
}

std::string Token::quoted() const {
  if (kind == TokenKind::Eof)
    return "end of file";
  return ("'" + text + "'").str();
}

Token Lexer::make(TokenKind kind, const char *start, bool startsLine) {
  Token tok;
  tok.kind = kind;
  tok.text = llvm::StringRef(start, cur - start);
  tok.startsLine = startsLine;
  return tok;
}

bool Lexer::skipSpaceAndComments() {
  bool sawNewline = false;
  while (cur != buffer.end()) {
    char c = *cur;
    if (c == '\n') {
      sawNewline = true;
      ++cur;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++cur;
    } else if (c == '/' && cur + 1 != buffer.end() && cur[1] == '/') {
      while (cur != buffer.end() && *cur != '\n')
        ++cur;
    } else {
      break;
    }
  }
  return sawNewline;
}

static bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
static bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_'; }

Token Lexer::lexNumber(const char *start, bool startsLine) {
  auto end = buffer.end();
  while (cur != end && llvm::isDigit(*cur))
    ++cur;
  bool isFloat = false;
  if (cur != end && *cur == '.') {
    if (cur + 1 == end || !llvm::isDigit(cur[1])) {
      ++cur;
      diags.error(llvm::SMLoc::getFromPointer(start),
                  "expected a digit after '.' in float literal '" +
                      llvm::StringRef(start, cur - start) +
                      "' (write it as '1.0')");
      return make(TokenKind::Error, start, startsLine);
    }
    isFloat = true;
    ++cur;
    while (cur != end && llvm::isDigit(*cur))
      ++cur;
  }
  if (cur != end && (*cur == 'e' || *cur == 'E')) {
    const char *exp = cur + 1;
    if (exp != end && (*exp == '+' || *exp == '-'))
      ++exp;
    if (exp == end || !llvm::isDigit(*exp)) {
      cur = exp;
      diags.error(llvm::SMLoc::getFromPointer(start),
                  "expected digits in the exponent of float literal '" +
                      llvm::StringRef(start, cur - start) + "'");
      return make(TokenKind::Error, start, startsLine);
    }
    cur = exp;
    while (cur != end && llvm::isDigit(*cur))
      ++cur;
    isFloat = true;
  }
  if (cur != end && isIdentChar(*cur)) {
    while (cur != end && isIdentChar(*cur))
      ++cur;
    diags.error(llvm::SMLoc::getFromPointer(start),
                "expected a number, found '" +
                    llvm::StringRef(start, cur - start) +
                    "' (identifiers cannot start with a digit)");
    return make(TokenKind::Error, start, startsLine);
  }
  return make(isFloat ? TokenKind::Float : TokenKind::Integer, start,
              startsLine);
}

Token Lexer::next() {
  bool startsLine = skipSpaceAndComments() || atFileStart;
  atFileStart = false;
  const char *start = cur;
  if (cur == buffer.end())
    return make(TokenKind::Eof, start, true);

  char c = *cur++;
  auto peekIs = [&](char expected) {
    if (cur != buffer.end() && *cur == expected) {
      ++cur;
      return true;
    }
    return false;
  };

  if (isIdentStart(c)) {
    while (cur != buffer.end() && isIdentChar(*cur))
      ++cur;
    return make(TokenKind::Identifier, start, startsLine);
  }
  if (llvm::isDigit(c))
    return lexNumber(start, startsLine);

  switch (c) {
  case '{': return make(TokenKind::LBrace, start, startsLine);
  case '}': return make(TokenKind::RBrace, start, startsLine);
  case '(': return make(TokenKind::LParen, start, startsLine);
  case ')': return make(TokenKind::RParen, start, startsLine);
  case '[': return make(TokenKind::LBracket, start, startsLine);
  case ']': return make(TokenKind::RBracket, start, startsLine);
  case ',': return make(TokenKind::Comma, start, startsLine);
  case ':': return make(TokenKind::Colon, start, startsLine);
  case ';': return make(TokenKind::Semicolon, start, startsLine);
  case '?': return make(TokenKind::Question, start, startsLine);
  case '+': return make(TokenKind::Plus, start, startsLine);
  case '-': return make(TokenKind::Minus, start, startsLine);
  case '*': return make(TokenKind::Star, start, startsLine);
  case '/': return make(TokenKind::Slash, start, startsLine);
  case '%': return make(TokenKind::Percent, start, startsLine);
  case '<':
    return make(peekIs('=') ? TokenKind::LessEqual : TokenKind::Less, start,
                startsLine);
  case '>':
    return make(peekIs('=') ? TokenKind::GreaterEqual : TokenKind::Greater,
                start, startsLine);
  case '=':
    return make(peekIs('=') ? TokenKind::EqualEqual : TokenKind::Assign, start,
                startsLine);
  case '!':
    return make(peekIs('=') ? TokenKind::NotEqual : TokenKind::Bang, start,
                startsLine);
  case '&':
    if (peekIs('&'))
      return make(TokenKind::AmpAmp, start, startsLine);
    diags.error(llvm::SMLoc::getFromPointer(start),
                "unexpected character '&'; expected '&&' (logical and)");
    return make(TokenKind::Error, start, startsLine);
  case '|':
    if (peekIs('|'))
      return make(TokenKind::PipePipe, start, startsLine);
    diags.error(llvm::SMLoc::getFromPointer(start),
                "unexpected character '|'; expected '||' (logical or)");
    return make(TokenKind::Error, start, startsLine);
  default:
    break;
  }

  std::string shown;
  if (llvm::isPrint(c))
    shown = (llvm::Twine("'") + llvm::Twine(c) + "'").str();
  else
    shown = "byte 0x" + llvm::utohexstr(static_cast<unsigned char>(c), false,
                                        2);
  diags.error(llvm::SMLoc::getFromPointer(start),
              "unexpected character " + shown +
                  "; expected an identifier, a number, an operator or "
                  "punctuation");
  return make(TokenKind::Error, start, startsLine);
}
