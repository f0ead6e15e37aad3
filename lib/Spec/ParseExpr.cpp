//===- ParseExpr.cpp - expressions of .attn specs -------------------------===//
//
// Precedence climbing by hand, lowest first: `?:`, `||`, `&&`, comparisons
// (not chainable), `+ -`, `* / %`, unary `- !`, primaries. Both the parser's
// recursion and the height of the built tree are capped at kMaxExprDepth.
//
//===----------------------------------------------------------------------===//

#include "Parser.h"
#include "attn/Spec/Spec.h"

#include <algorithm>

using namespace mlir::attn::spec;
using llvm::SMLoc;
using llvm::Twine;

namespace mlir::attn::spec {
/// Counts one level of parser recursion for as long as it lives.
class NestingGuard {
public:
  explicit NestingGuard(Parser &parser) : parser(parser) {
    ok = parser.enterNesting();
  }
  ~NestingGuard() { --parser.nesting; }
  bool ok;

private:
  Parser &parser;
};
} // namespace mlir::attn::spec

bool Parser::enterNesting() {
  ++nesting;
  if (nesting <= kMaxExprDepth)
    return true;
  error(peek().getLoc(), "expression nested too deeply (more than " +
                             Twine(kMaxExprDepth) +
                             " levels); expected a simpler expression");
  return false;
}

static unsigned heightOf(std::initializer_list<const Expr *> children) {
  unsigned height = 0;
  for (const Expr *child : children)
    if (child)
      height = std::max(height, child->height);
  return height + 1;
}

ExprPtr Parser::checkHeight(ExprPtr expr) {
  if (expr->height <= kMaxExprDepth)
    return expr;
  error(expr->getLoc(), "expression nested too deeply (more than " +
                            Twine(kMaxExprDepth) +
                            " levels); expected a simpler expression");
  return nullptr;
}

ExprPtr Parser::parseExpr() { return parseTernary(); }

ExprPtr Parser::parseTernary() {
  NestingGuard guard(*this);
  if (!guard.ok)
    return nullptr;
  ExprPtr cond = parseOr();
  if (!cond || !peek().is(TokenKind::Question))
    return cond;
  SMLoc loc = consume().getLoc();
  ExprPtr thenExpr = parseTernary();
  if (!thenExpr)
    return nullptr;
  if (!expect(TokenKind::Colon, "':' in conditional expression"))
    return nullptr;
  ExprPtr elseExpr = parseTernary();
  if (!elseExpr)
    return nullptr;
  unsigned height = heightOf({cond.get(), thenExpr.get(), elseExpr.get()});
  auto result = std::make_unique<TernaryExpr>(
      loc, std::move(cond), std::move(thenExpr), std::move(elseExpr));
  result->height = height;
  return checkHeight(std::move(result));
}

/// Builds `lhs op rhs` with its height.
static ExprPtr makeBinary(SMLoc loc, BinaryOp op, ExprPtr lhs, ExprPtr rhs) {
  unsigned height = heightOf({lhs.get(), rhs.get()});
  auto result =
      std::make_unique<BinaryExpr>(loc, op, std::move(lhs), std::move(rhs));
  result->height = height;
  return result;
}

ExprPtr Parser::parseOr() {
  ExprPtr lhs = parseAnd();
  while (lhs && peek().is(TokenKind::PipePipe)) {
    SMLoc loc = consume().getLoc();
    ExprPtr rhs = parseAnd();
    if (!rhs)
      return nullptr;
    lhs = checkHeight(makeBinary(loc, BinaryOp::Or, std::move(lhs),
                                 std::move(rhs)));
  }
  return lhs;
}

ExprPtr Parser::parseAnd() {
  ExprPtr lhs = parseComparison();
  while (lhs && peek().is(TokenKind::AmpAmp)) {
    SMLoc loc = consume().getLoc();
    ExprPtr rhs = parseComparison();
    if (!rhs)
      return nullptr;
    lhs = checkHeight(makeBinary(loc, BinaryOp::And, std::move(lhs),
                                 std::move(rhs)));
  }
  return lhs;
}

static std::optional<BinaryOp> comparisonOp(TokenKind kind) {
  switch (kind) {
  case TokenKind::Less: return BinaryOp::Lt;
  case TokenKind::LessEqual: return BinaryOp::Le;
  case TokenKind::Greater: return BinaryOp::Gt;
  case TokenKind::GreaterEqual: return BinaryOp::Ge;
  case TokenKind::EqualEqual: return BinaryOp::Eq;
  case TokenKind::NotEqual: return BinaryOp::Ne;
  default: return std::nullopt;
  }
}

ExprPtr Parser::parseComparison() {
  ExprPtr lhs = parseAdditive();
  if (!lhs)
    return nullptr;
  auto op = comparisonOp(peek().kind);
  if (!op)
    return lhs;
  SMLoc loc = consume().getLoc();
  ExprPtr rhs = parseAdditive();
  if (!rhs)
    return nullptr;
  if (comparisonOp(peek().kind)) {
    error(peek().getLoc(),
          "comparisons cannot be chained; expected '&&' between two "
          "comparisons (as in 'a <= i && i < b')");
    return nullptr;
  }
  return checkHeight(makeBinary(loc, *op, std::move(lhs), std::move(rhs)));
}

ExprPtr Parser::parseAdditive() {
  ExprPtr lhs = parseMultiplicative();
  while (lhs &&
         (peek().is(TokenKind::Plus) || peek().is(TokenKind::Minus))) {
    Token tok = consume();
    ExprPtr rhs = parseMultiplicative();
    if (!rhs)
      return nullptr;
    lhs = checkHeight(makeBinary(tok.getLoc(),
                                 tok.is(TokenKind::Plus) ? BinaryOp::Add
                                                         : BinaryOp::Sub,
                                 std::move(lhs), std::move(rhs)));
  }
  return lhs;
}

ExprPtr Parser::parseMultiplicative() {
  ExprPtr lhs = parseUnary();
  while (lhs && (peek().is(TokenKind::Star) || peek().is(TokenKind::Slash) ||
                 peek().is(TokenKind::Percent))) {
    Token tok = consume();
    BinaryOp op = tok.is(TokenKind::Star)    ? BinaryOp::Mul
                  : tok.is(TokenKind::Slash) ? BinaryOp::Div
                                             : BinaryOp::Mod;
    ExprPtr rhs = parseUnary();
    if (!rhs)
      return nullptr;
    lhs = checkHeight(makeBinary(tok.getLoc(), op, std::move(lhs),
                                 std::move(rhs)));
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (!peek().is(TokenKind::Minus) && !peek().is(TokenKind::Bang))
    return parsePrimary();
  NestingGuard guard(*this);
  if (!guard.ok)
    return nullptr;
  Token tok = consume();
  ExprPtr operand = parseUnary();
  if (!operand)
    return nullptr;
  unsigned height = heightOf({operand.get()});
  auto result = std::make_unique<UnaryExpr>(
      tok.getLoc(), tok.is(TokenKind::Minus) ? UnaryOp::Neg : UnaryOp::Not,
      std::move(operand));
  result->height = height;
  return checkHeight(std::move(result));
}

ExprPtr Parser::parsePrimary() {
  const Token &tok = peek();
  switch (tok.kind) {
  case TokenKind::Integer: {
    Token lit = consume();
    int64_t value;
    if (lit.text.getAsInteger(10, value)) {
      error(lit.getLoc(), "integer literal '" + lit.text +
                              "' does not fit in a 64-bit signed integer "
                              "(i64)");
      return nullptr;
    }
    return std::make_unique<IntLitExpr>(lit.getLoc(), value);
  }
  case TokenKind::Float: {
    Token lit = consume();
    double value;
    if (lit.text.getAsDouble(value)) {
      error(lit.getLoc(), "float literal '" + lit.text +
                              "' is out of range; expected a finite number");
      return nullptr;
    }
    return std::make_unique<FloatLitExpr>(lit.getLoc(), value);
  }
  case TokenKind::LParen: {
    consume();
    ExprPtr inner = parseExpr();
    if (!inner)
      return nullptr;
    if (!expect(TokenKind::RParen, "')' to close '('"))
      return nullptr;
    return inner;
  }
  case TokenKind::Identifier: {
    Token name = consume();
    if (name.text == "true" || name.text == "false")
      return std::make_unique<BoolLitExpr>(name.getLoc(), name.text == "true");
    if (peek().is(TokenKind::LParen))
      return parseCall(name);
    if (peek().is(TokenKind::LBracket))
      return parseIndex(name);
    return std::make_unique<NameExpr>(name.getLoc(), name.text.str());
  }
  default:
    errorExpected("an expression (a number, a name, a call or '(')");
    return nullptr;
  }
}

ExprPtr Parser::parseCall(const Token &name) {
  NestingGuard guard(*this);
  if (!guard.ok)
    return nullptr;
  consume(); // '('
  // `sum(m: body)` / `max(m: body)`: a reduction over index m.
  if ((name.text == "sum" || name.text == "max") &&
      peek().is(TokenKind::Identifier) && peek(1).is(TokenKind::Colon)) {
    Token index = consume();
    consume(); // ':'
    ExprPtr body = parseExpr();
    if (!body)
      return nullptr;
    if (!expect(TokenKind::RParen, "')' to close '" + name.text + "('"))
      return nullptr;
    unsigned height = heightOf({body.get()});
    auto result = std::make_unique<ReduceExpr>(
        name.getLoc(), name.text == "sum" ? ReduceKind::Sum : ReduceKind::Max,
        index.text.str(), index.getLoc(), std::move(body));
    result->height = height;
    return checkHeight(std::move(result));
  }
  auto builtin = lookupBuiltin(name.text);
  if (!builtin) {
    error(name.getLoc(),
          "unknown function '" + name.text +
              "'; expected one of min, max, clamp, abs, exp, log, tanh, "
              "sqrt, neighborhood, neighborhood_causal" +
              (name.text == "sum" ? " (or a reduction 'sum(m: ...)')" : ""));
    return nullptr;
  }
  std::vector<ExprPtr> args;
  if (!peek().is(TokenKind::RParen)) {
    do {
      ExprPtr arg = parseExpr();
      if (!arg)
        return nullptr;
      args.push_back(std::move(arg));
    } while (consumeIf(TokenKind::Comma));
  }
  if (!expect(TokenKind::RParen, "',' or ')' in the arguments of '" +
                                     name.text + "'"))
    return nullptr;
  unsigned arity = builtinArity(*builtin);
  if (args.size() != arity) {
    error(name.getLoc(), "'" + name.text + "' expects " + Twine(arity) +
                             (arity == 1 ? " argument" : " arguments") +
                             " (" + builtinSignature(*builtin) + "), found " +
                             Twine(args.size()));
    return nullptr;
  }
  unsigned height = 0;
  for (const ExprPtr &arg : args)
    height = std::max(height, arg->height);
  auto result = std::make_unique<CallExpr>(name.getLoc(), *builtin,
                                           std::move(args));
  result->height = height + 1;
  return checkHeight(std::move(result));
}

ExprPtr Parser::parseIndex(const Token &name) {
  NestingGuard guard(*this);
  if (!guard.ok)
    return nullptr;
  consume(); // '['
  std::vector<ExprPtr> subscripts;
  do {
    ExprPtr sub = parseExpr();
    if (!sub)
      return nullptr;
    subscripts.push_back(std::move(sub));
  } while (consumeIf(TokenKind::Comma));
  if (!expect(TokenKind::RBracket, "',' or ']' in the subscripts of '" +
                                       name.text + "'"))
    return nullptr;
  unsigned height = 0;
  for (const ExprPtr &sub : subscripts)
    height = std::max(height, sub->height);
  auto result = std::make_unique<IndexExpr>(name.getLoc(), name.text.str(),
                                            std::move(subscripts));
  result->height = height + 1;
  return checkHeight(std::move(result));
}
