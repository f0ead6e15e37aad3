//===- AST.cpp - syntax tree of the .attn spec language -------------------===//
//
// Names of enums for messages, the built-in function table and lookups.
//
//===----------------------------------------------------------------------===//

#include "attn/Spec/AST.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir::attn::spec;
using llvm::StringRef;

StringRef mlir::attn::spec::toString(ScalarType type) {
  switch (type) {
  case ScalarType::Int: return "int";
  case ScalarType::Float: return "float";
  case ScalarType::Bool: return "bool";
  case ScalarType::Error: return "<error>";
  }
  return "";
}

StringRef mlir::attn::spec::toString(DType type) {
  switch (type) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::Bool: return "bool";
  }
  return "";
}

ScalarType mlir::attn::spec::scalarTypeOf(DType type) {
  switch (type) {
  case DType::F32:
  case DType::F16:
  case DType::BF16: return ScalarType::Float;
  case DType::I32:
  case DType::I64: return ScalarType::Int;
  case DType::Bool: return ScalarType::Bool;
  }
  return ScalarType::Error;
}

bool mlir::attn::spec::isFloatDType(DType type) {
  return scalarTypeOf(type) == ScalarType::Float;
}

StringRef mlir::attn::spec::toString(UnaryOp op) {
  return op == UnaryOp::Neg ? "-" : "!";
}

StringRef mlir::attn::spec::toString(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add: return "+";
  case BinaryOp::Sub: return "-";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::Mod: return "%";
  case BinaryOp::Lt: return "<";
  case BinaryOp::Le: return "<=";
  case BinaryOp::Gt: return ">";
  case BinaryOp::Ge: return ">=";
  case BinaryOp::Eq: return "==";
  case BinaryOp::Ne: return "!=";
  case BinaryOp::And: return "&&";
  case BinaryOp::Or: return "||";
  }
  return "";
}

StringRef mlir::attn::spec::toString(Builtin builtin) {
  switch (builtin) {
  case Builtin::Min: return "min";
  case Builtin::Max: return "max";
  case Builtin::Clamp: return "clamp";
  case Builtin::Abs: return "abs";
  case Builtin::Exp: return "exp";
  case Builtin::Log: return "log";
  case Builtin::Tanh: return "tanh";
  case Builtin::Sqrt: return "sqrt";
  case Builtin::Neighborhood: return "neighborhood";
  case Builtin::NeighborhoodCausal: return "neighborhood_causal";
  }
  return "";
}

StringRef mlir::attn::spec::toString(ReduceKind kind) {
  return kind == ReduceKind::Sum ? "sum" : "max";
}

StringRef mlir::attn::spec::toString(BlockKind kind) {
  switch (kind) {
  case BlockKind::Attention: return "attention";
  case BlockKind::LinearAttention: return "linear_attention";
  case BlockKind::Cascade: return "cascade";
  }
  return "";
}

unsigned mlir::attn::spec::builtinArity(Builtin builtin) {
  switch (builtin) {
  case Builtin::Min:
  case Builtin::Max: return 2;
  case Builtin::Clamp: return 3;
  case Builtin::Abs:
  case Builtin::Exp:
  case Builtin::Log:
  case Builtin::Tanh:
  case Builtin::Sqrt: return 1;
  case Builtin::Neighborhood:
  case Builtin::NeighborhoodCausal: return 5;
  }
  return 0;
}

StringRef mlir::attn::spec::builtinSignature(Builtin builtin) {
  switch (builtin) {
  case Builtin::Min: return "min(a, b)";
  case Builtin::Max: return "max(a, b)";
  case Builtin::Clamp: return "clamp(x, lo, hi)";
  case Builtin::Abs: return "abs(x)";
  case Builtin::Exp: return "exp(x)";
  case Builtin::Log: return "log(x)";
  case Builtin::Tanh: return "tanh(x)";
  case Builtin::Sqrt: return "sqrt(x)";
  case Builtin::Neighborhood:
    return "neighborhood(i, j, n, size, dilation)";
  case Builtin::NeighborhoodCausal:
    return "neighborhood_causal(i, j, n, size, dilation)";
  }
  return "";
}

std::optional<Builtin> mlir::attn::spec::lookupBuiltin(StringRef name) {
  return llvm::StringSwitch<std::optional<Builtin>>(name)
      .Case("min", Builtin::Min)
      .Case("max", Builtin::Max)
      .Case("clamp", Builtin::Clamp)
      .Case("abs", Builtin::Abs)
      .Case("exp", Builtin::Exp)
      .Case("log", Builtin::Log)
      .Case("tanh", Builtin::Tanh)
      .Case("sqrt", Builtin::Sqrt)
      .Case("neighborhood", Builtin::Neighborhood)
      .Case("neighborhood_causal", Builtin::NeighborhoodCausal)
      .Default(std::nullopt);
}

llvm::SMLoc Expr::getStartLoc() const {
  // Iterative: binary and conditional chains may be long.
  const Expr *e = this;
  while (true) {
    if (auto *binary = llvm::dyn_cast<BinaryExpr>(e))
      e = binary->lhs.get();
    else if (auto *ternary = llvm::dyn_cast<TernaryExpr>(e))
      e = ternary->cond.get();
    else
      return e->getLoc();
  }
}

const TensorDecl *Block::findInput(StringRef name) const {
  for (const TensorDecl &input : inputs)
    if (input.name == name)
      return &input;
  return nullptr;
}

const SizeInfo *Block::findSize(StringRef name) const {
  for (const SizeInfo &size : sizes)
    if (size.name == name)
      return &size;
  return nullptr;
}

const ConstDecl *Block::findConst(StringRef name) const {
  for (const auto &decl : consts)
    if (decl->name == name)
      return decl.get();
  return nullptr;
}

const Block *SpecFile::findBlock(StringRef name) const {
  for (const auto &block : blocks)
    if (block->name == name)
      return block.get();
  return nullptr;
}
