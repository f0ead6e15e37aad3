//===- Parser.cpp - blocks and statements of .attn specs ------------------===//
//
// Recursive descent over the grammar of docs/spec-language.md. Which
// statements a block accepts depends on its kind; every error names what was
// expected at that point.
//
//===----------------------------------------------------------------------===//

#include "Parser.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir::attn::spec;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

//===----------------------------------------------------------------------===//
// Tokens
//===----------------------------------------------------------------------===//

const Token &Parser::peek(unsigned ahead) {
  while (lookahead.size() <= ahead) {
    // Never lex past an error or the end: the error was reported once.
    if (!lookahead.empty() && (lookahead.back().is(TokenKind::Eof) ||
                               lookahead.back().is(TokenKind::Error)))
      return lookahead.back();
    lookahead.push_back(lexer.next());
  }
  return lookahead[ahead];
}

Token Parser::consume() {
  Token tok = peek();
  if (!tok.is(TokenKind::Eof) && !tok.is(TokenKind::Error))
    lookahead.pop_front();
  previous = tok;
  return tok;
}

bool Parser::consumeIf(TokenKind kind) {
  if (!peek().is(kind))
    return false;
  consume();
  return true;
}

void Parser::error(SMLoc loc, const Twine &message) {
  if (hasFailed)
    return;
  hasFailed = true;
  diags.error(loc, message);
}

void Parser::errorExpected(const Twine &what) {
  const Token &tok = peek();
  if (tok.is(TokenKind::Error)) {
    hasFailed = true; // the lexer has reported it
    return;
  }
  error(tok.getLoc(), "expected " + what + ", found " + tok.quoted());
}

bool Parser::expect(TokenKind kind, const Twine &what) {
  if (consumeIf(kind))
    return true;
  errorExpected(what);
  return false;
}

bool Parser::parseIdentifier(Param &param, const Twine &what) {
  if (!peek().is(TokenKind::Identifier)) {
    errorExpected(what);
    return false;
  }
  Token tok = consume();
  param.loc = tok.getLoc();
  param.name = tok.text.str();
  return true;
}

bool Parser::checkNotDefined(bool defined, SMLoc previousLoc, SMLoc loc,
                             StringRef what) {
  if (!defined)
    return true;
  error(loc, "duplicate " + what + "; a block defines it at most once");
  diags.note(previousLoc, "previous definition is here");
  return false;
}

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

std::unique_ptr<SpecFile> Parser::parseFile() {
  auto file = std::make_unique<SpecFile>();
  while (!peek().is(TokenKind::Eof)) {
    auto block = parseBlock();
    if (!block)
      return nullptr;
    file->blocks.push_back(std::move(block));
  }
  if (file->blocks.empty()) {
    error(peek().getLoc(), "expected a block ('attention', "
                           "'linear_attention' or 'cascade'), found end of "
                           "file");
    return nullptr;
  }
  return file;
}

std::unique_ptr<Block> Parser::parseBlock() {
  const Token &tok = peek();
  std::optional<BlockKind> kind;
  if (tok.is(TokenKind::Identifier))
    kind = llvm::StringSwitch<std::optional<BlockKind>>(tok.text)
               .Case("attention", BlockKind::Attention)
               .Case("linear_attention", BlockKind::LinearAttention)
               .Case("cascade", BlockKind::Cascade)
               .Default(std::nullopt);
  if (!kind) {
    errorExpected("a block ('attention', 'linear_attention' or 'cascade')");
    return nullptr;
  }
  auto block = std::make_unique<Block>();
  block->kind = *kind;
  block->loc = consume().getLoc();
  Param name;
  if (!parseIdentifier(name, "a block name after '" + toString(*kind) + "'"))
    return nullptr;
  block->name = name.name;
  if (!expect(TokenKind::LBrace, "'{' to open block '" + name.name + "'"))
    return nullptr;
  while (!peek().is(TokenKind::RBrace)) {
    if (peek().is(TokenKind::Eof)) {
      error(peek().getLoc(), "expected '}' to close block '" + name.name +
                                 "', found end of file");
      diags.note(block->loc, "block starts here");
      return nullptr;
    }
    if (consumeIf(TokenKind::Semicolon))
      continue;
    if (!parseStatement(*block))
      return nullptr;
  }
  consume(); // '}'
  return block;
}

bool Parser::expectEndOfStatement(StringRef what) {
  const Token &tok = peek();
  if (tok.is(TokenKind::Semicolon)) {
    consume();
    return true;
  }
  if (tok.startsLine || tok.is(TokenKind::RBrace) || tok.is(TokenKind::Eof))
    return true;
  errorExpected(Twine("the end of the ") + what +
                " (a line break, ';' or '}')");
  return false;
}

bool Parser::parseStatement(Block &block) {
  if (!peek().is(TokenKind::Identifier)) {
    switch (block.kind) {
    case BlockKind::Attention:
      errorExpected("a statement ('q:', 'k:', 'v:', 'input', 'const', "
                    "'scale', 'output lse', 'mask' or 'score')");
      break;
    case BlockKind::LinearAttention:
      errorExpected("a statement ('q:', 'k:', 'v:', 'input', 'const', "
                    "'causal', 'feature', 'decay', 'gate', 'normalize' or "
                    "'scale')");
      break;
    case BlockKind::Cascade:
      errorExpected("a statement ('input', 'const', 'output' or a step "
                    "'NAME[i, ...] = ...')");
      break;
    }
    return false;
  }
  Token keyword = peek();
  switch (block.kind) {
  case BlockKind::Attention:
    return parseAttentionStatement(block, keyword);
  case BlockKind::LinearAttention:
    return parseLinearStatement(block, keyword);
  case BlockKind::Cascade:
    return parseCascadeStatement(block, keyword);
  }
  return false;
}

bool Parser::parseCommonStatement(Block &block, const Token &keyword,
                                  bool &handled) {
  handled = true;
  StringRef word = keyword.text;
  if ((word == "q" || word == "k" || word == "v") &&
      block.kind != BlockKind::Cascade)
    return parseQkvDecl(block, keyword) && expectEndOfStatement("declaration");
  if (word == "input") {
    consume();
    return parseInputs(block) && expectEndOfStatement("input declaration");
  }
  if (word == "const") {
    consume();
    return parseConsts(block) && expectEndOfStatement("const declaration");
  }
  if (word == "scale" && block.kind != BlockKind::Cascade) {
    consume();
    return parseValueDef(block.scale, keyword.getLoc(), "'scale'") &&
           expectEndOfStatement("'scale' statement");
  }
  handled = false;
  return true;
}

bool Parser::parseAttentionStatement(Block &block, const Token &keyword) {
  bool handled;
  if (!parseCommonStatement(block, keyword, handled) || handled)
    return !failed();
  StringRef word = keyword.text;
  SMLoc loc = keyword.getLoc();
  if (word == "output") {
    consume();
    if (!checkNotDefined(block.outputLse.has_value(),
                         block.outputLse.value_or(loc), loc, "'output lse'"))
      return false;
    if (!peek().isIdentifier("lse")) {
      errorExpected("'lse' after 'output' (the only extra output of an "
                    "attention block)");
      return false;
    }
    consume();
    block.outputLse = loc;
    return expectEndOfStatement("'output lse' statement");
  }
  if (word == "mask" || word == "score") {
    consume();
    auto &def = word == "mask" ? block.mask : block.score;
    if (!checkNotDefined(def.has_value(), def ? def->loc : loc, loc,
                         "'" + word.str() + "'"))
      return false;
    def.emplace();
    return parseFunction(*def, loc, /*allowGroups=*/true) &&
           expectEndOfStatement(("'" + word + "' definition").str());
  }
  errorExpected("a statement of an attention block ('q:', 'k:', 'v:', "
                "'input', 'const', 'scale', 'output lse', 'mask' or 'score')");
  return false;
}

bool Parser::parseLinearStatement(Block &block, const Token &keyword) {
  bool handled;
  if (!parseCommonStatement(block, keyword, handled) || handled)
    return !failed();
  StringRef word = keyword.text;
  SMLoc loc = keyword.getLoc();
  if (word == "causal") {
    consume();
    if (!checkNotDefined(block.causal.has_value(), block.causal.value_or(loc),
                         loc, "'causal'"))
      return false;
    block.causal = loc;
    return expectEndOfStatement("'causal' statement");
  }
  if (word == "feature") {
    consume();
    bool defined = block.feature || block.featureTaylor2;
    SMLoc prev = block.feature ? block.feature->loc
                               : block.featureTaylor2.value_or(loc);
    if (!checkNotDefined(defined, prev, loc, "'feature'"))
      return false;
    if (consumeIf(TokenKind::Assign)) {
      if (!peek().isIdentifier("taylor2")) {
        errorExpected("a built-in feature map after 'feature =' ('taylor2'), "
                      "or write 'feature(x) = <expression>'");
        return false;
      }
      consume();
      block.featureTaylor2 = loc;
      return expectEndOfStatement("'feature' statement");
    }
    if (!peek().is(TokenKind::LParen)) {
      errorExpected("'(' or '=' after 'feature' ('feature(x) = ...' or "
                    "'feature = taylor2')");
      return false;
    }
    block.feature.emplace();
    return parseFunction(*block.feature, loc, /*allowGroups=*/false) &&
           expectEndOfStatement("'feature' definition");
  }
  if (word == "decay") {
    consume();
    if (!checkNotDefined(block.decay.has_value(),
                         block.decay ? block.decay->loc : loc, loc, "'decay'"))
      return false;
    block.decay.emplace();
    return parseFunction(*block.decay, loc, /*allowGroups=*/false) &&
           expectEndOfStatement("'decay' definition");
  }
  if (word == "gate") {
    consume();
    if (!checkNotDefined(block.gate.has_value(),
                         block.gate ? block.gate->loc : loc, loc, "'gate'"))
      return false;
    if (!expect(TokenKind::Assign, "'=' after 'gate'"))
      return false;
    Param gate;
    if (!parseIdentifier(gate, "the name of a gate input after 'gate ='"))
      return false;
    block.gate = gate;
    return expectEndOfStatement("'gate' statement");
  }
  if (word == "normalize") {
    consume();
    if (!checkNotDefined(block.normalizeLoc.has_value(),
                         block.normalizeLoc.value_or(loc), loc,
                         "'normalize'"))
      return false;
    if (!expect(TokenKind::Assign, "'=' after 'normalize'"))
      return false;
    if (peek().isIdentifier("sum")) {
      block.normalize = Normalize::Sum;
    } else if (peek().isIdentifier("none")) {
      block.normalize = Normalize::None;
    } else {
      errorExpected("'sum' or 'none' after 'normalize ='");
      return false;
    }
    consume();
    block.normalizeLoc = loc;
    return expectEndOfStatement("'normalize' statement");
  }
  errorExpected("a statement of a linear_attention block ('q:', 'k:', 'v:', "
                "'input', 'const', 'causal', 'feature', 'decay', 'gate', "
                "'normalize' or 'scale')");
  return false;
}

bool Parser::parseCascadeStatement(Block &block, const Token &keyword) {
  bool handled;
  if (!parseCommonStatement(block, keyword, handled) || handled)
    return !failed();
  bool isOutput = false;
  if (keyword.text == "output" && peek(1).is(TokenKind::Identifier)) {
    consume();
    isOutput = true;
  }
  return parseCascadeStep(block, isOutput) &&
         expectEndOfStatement("cascade step");
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

bool Parser::parseQkvDecl(Block &block, const Token &name) {
  auto &slot = name.text == "q" ? block.q : name.text == "k" ? block.k
                                                              : block.v;
  if (!checkNotDefined(slot.has_value(), slot ? slot->loc : name.getLoc(),
                       name.getLoc(), "declaration of '" + name.text.str() +
                                          "'"))
    return false;
  TensorDecl decl;
  if (!parseTensorDecl(decl))
    return false;
  slot = std::move(decl);
  return true;
}

bool Parser::parseTensorDecl(TensorDecl &decl) {
  Param name;
  if (!parseIdentifier(name, "a tensor name"))
    return false;
  decl.loc = name.loc;
  decl.name = name.name;
  if (!expect(TokenKind::Colon,
              "':' after tensor name '" + name.name + "' (as in '" +
                  name.name + ": f32[B, H, L, 64]')"))
    return false;
  if (!peek().is(TokenKind::Identifier)) {
    errorExpected("an element type (f32, f16, bf16, i32, i64 or bool)");
    return false;
  }
  Token dtype = consume();
  decl.dtypeLoc = dtype.getLoc();
  auto parsed = llvm::StringSwitch<std::optional<DType>>(dtype.text)
                    .Case("f32", DType::F32)
                    .Case("f16", DType::F16)
                    .Case("bf16", DType::BF16)
                    .Case("i32", DType::I32)
                    .Case("i64", DType::I64)
                    .Case("bool", DType::Bool)
                    .Default(std::nullopt);
  if (!parsed) {
    error(dtype.getLoc(), "unknown element type '" + dtype.text +
                              "'; expected f32, f16, bf16, i32, i64 or bool");
    return false;
  }
  decl.dtype = *parsed;
  if (!expect(TokenKind::LBracket, "'[' to start the dimensions of '" +
                                       name.name + "'"))
    return false;
  do {
    Dim dim;
    const Token &tok = peek();
    dim.loc = tok.getLoc();
    if (tok.is(TokenKind::Identifier)) {
      dim.size = consume().text.str();
    } else if (tok.is(TokenKind::Integer)) {
      Token lit = consume();
      if (lit.text.getAsInteger(10, dim.extent)) {
        error(lit.getLoc(), "dimension '" + lit.text +
                                "' does not fit in a 64-bit signed integer");
        return false;
      }
      if (dim.extent <= 0) {
        error(lit.getLoc(), "expected a positive dimension, found " +
                                lit.text);
        return false;
      }
    } else {
      errorExpected("a dimension (a size name or a positive integer)");
      return false;
    }
    decl.dims.push_back(std::move(dim));
  } while (consumeIf(TokenKind::Comma));
  return expect(TokenKind::RBracket,
                "',' or ']' in the dimensions of '" + name.name + "'");
}

bool Parser::parseInputs(Block &block) {
  do {
    TensorDecl decl;
    decl.isInput = true;
    if (!parseTensorDecl(decl))
      return false;
    block.inputs.push_back(std::move(decl));
  } while (consumeIf(TokenKind::Comma));
  return true;
}

bool Parser::parseConsts(Block &block) {
  do {
    auto decl = std::make_unique<ConstDecl>();
    Param name;
    if (!parseIdentifier(name, "a constant name"))
      return false;
    decl->loc = name.loc;
    decl->name = name.name;
    if (!expect(TokenKind::Assign, "'=' after constant name '" + name.name +
                                       "'"))
      return false;
    decl->value = parseExpr();
    if (!decl->value)
      return false;
    block.consts.push_back(std::move(decl));
  } while (consumeIf(TokenKind::Comma));
  return true;
}

bool Parser::parseValueDef(std::optional<ValueDef> &def, SMLoc loc,
                           StringRef what) {
  if (!checkNotDefined(def.has_value(), def ? def->loc : loc, loc, what))
    return false;
  if (!expect(TokenKind::Assign, Twine("'=' after ") + what))
    return false;
  ExprPtr value = parseExpr();
  if (!value)
    return false;
  def = ValueDef{loc, std::move(value)};
  return true;
}

bool Parser::parseFunction(FunctionDef &def, SMLoc loc, bool allowGroups) {
  def.loc = loc;
  if (!expect(TokenKind::LParen, "'(' to start the parameter list"))
    return false;
  if (!peek().is(TokenKind::RParen)) {
    do {
      ParamGroup group;
      group.loc = peek().getLoc();
      if (allowGroups && consumeIf(TokenKind::LBracket)) {
        group.bracketed = true;
        do {
          Param p;
          if (!parseIdentifier(p, "a parameter name in '[...]'"))
            return false;
          group.names.push_back(std::move(p));
        } while (consumeIf(TokenKind::Comma));
        if (!expect(TokenKind::RBracket, "',' or ']' in a position's "
                                         "parameter list"))
          return false;
      } else {
        Param p;
        if (!parseIdentifier(p, allowGroups
                                    ? "a parameter name or '[' (a position "
                                      "with several token axes)"
                                    : "a parameter name"))
          return false;
        group.names.push_back(std::move(p));
      }
      def.groups.push_back(std::move(group));
    } while (consumeIf(TokenKind::Comma));
  }
  if (!expect(TokenKind::RParen, "',' or ')' in the parameter list"))
    return false;
  if (!expect(TokenKind::Assign, "'=' after the parameter list"))
    return false;
  def.body = parseExpr();
  return def.body != nullptr;
}

bool Parser::parseCascadeStep(Block &block, bool isOutput) {
  CascadeStep step;
  step.isOutput = isOutput;
  Param name;
  if (!parseIdentifier(name, "a step name ('NAME[i, ...] = ...')"))
    return false;
  step.loc = name.loc;
  step.name = name.name;
  if (!peek().is(TokenKind::LBracket)) {
    if (peek().is(TokenKind::Colon))
      error(peek().getLoc(), "expected '[' after step name '" + name.name +
                                 "'; declare cascade tensors with 'input " +
                                 name.name + ": f32[...]'");
    else
      errorExpected("'[' after step name '" + name.name +
                    "' (a step reads 'NAME[i, ...] = ...')");
    return false;
  }
  consume();
  do {
    Param index;
    if (!parseIdentifier(index, "an index name"))
      return false;
    step.indices.push_back(std::move(index));
  } while (consumeIf(TokenKind::Comma));
  if (!expect(TokenKind::RBracket, "',' or ']' after the indices of '" +
                                       name.name + "'"))
    return false;
  if (!expect(TokenKind::Assign, "'=' after '" + name.name + "[...]'"))
    return false;
  step.body = parseExpr();
  if (!step.body)
    return false;
  block.steps.push_back(std::move(step));
  return true;
}
