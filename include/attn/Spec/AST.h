//===- AST.h - syntax tree of the .attn spec language ----------*- C++ -*-===//
//
// The tree the parser builds and semantic analysis annotates (DESIGN §3.1).
// Names are copied out of the source buffer, but every node keeps an SMLoc
// into it, so the llvm::SourceMgr that holds the buffer must outlive the tree
// for diagnostics to point at the source.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SPEC_AST_H
#define ATTN_SPEC_AST_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/SMLoc.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::attn::spec {

/// Scalar types of expressions. `Error` marks a subexpression that already
/// produced a diagnostic, so that one mistake is reported once.
enum class ScalarType { Int, Float, Bool, Error };

/// Element types of declared tensors.
enum class DType { F32, F16, BF16, I32, I64, Bool };

llvm::StringRef toString(ScalarType type);
llvm::StringRef toString(DType type);
/// The scalar type an element of `type` has in expressions.
ScalarType scalarTypeOf(DType type);
/// Whether `type` may be used for q, k, v and outputs.
bool isFloatDType(DType type);

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

enum class UnaryOp { Neg, Not };
enum class BinaryOp { Add, Sub, Mul, Div, Mod, Lt, Le, Gt, Ge, Eq, Ne, And, Or };
enum class Builtin {
  Min, Max, Clamp, Abs, Exp, Log, Tanh, Sqrt, Neighborhood, NeighborhoodCausal
};
enum class ReduceKind { Sum, Max };

llvm::StringRef toString(UnaryOp op);
llvm::StringRef toString(BinaryOp op);
llvm::StringRef toString(Builtin builtin);
llvm::StringRef toString(ReduceKind kind);
/// Number of arguments `builtin` takes.
unsigned builtinArity(Builtin builtin);
/// How a call of `builtin` is written, for messages: `clamp(x, lo, hi)`.
llvm::StringRef builtinSignature(Builtin builtin);
/// The built-in function called `name`, if any.
std::optional<Builtin> lookupBuiltin(llvm::StringRef name);

struct ConstDecl;
struct TensorDecl;

/// A folded constant: the value of a `const` or of a constant subexpression.
struct ConstValue {
  ScalarType type = ScalarType::Int;
  int64_t intValue = 0;
  double floatValue = 0.0;
  bool boolValue = false;

  static ConstValue ofInt(int64_t v) { return {ScalarType::Int, v, 0.0, false}; }
  static ConstValue ofFloat(double v) {
    return {ScalarType::Float, 0, v, false};
  }
  static ConstValue ofBool(bool v) { return {ScalarType::Bool, 0, 0.0, v}; }
  /// The value as a double (ints convert, as the language promotes them).
  double asFloat() const {
    return type == ScalarType::Float ? floatValue : double(intValue);
  }
};

class Expr {
public:
  enum class Kind { IntLit, FloatLit, BoolLit, Name, Index, Unary, Binary,
                    Ternary, Call, Reduce };

  Expr(Kind kind, llvm::SMLoc loc) : kind(kind), loc(loc) {}
  virtual ~Expr() = default;

  Kind getKind() const { return kind; }
  /// The location that names the node: the operator of a unary, binary or
  /// conditional expression, the name of a call or subscript.
  llvm::SMLoc getLoc() const { return loc; }
  /// Where the expression's text starts (its leftmost operand), for
  /// messages about the expression as a whole.
  llvm::SMLoc getStartLoc() const;

  /// Set by semantic analysis.
  ScalarType type = ScalarType::Error;
  /// Height of the tree below (1 for a leaf). The parser caps it, so walks
  /// and destructors may recurse without exhausting the stack.
  unsigned height = 1;

private:
  Kind kind;
  llvm::SMLoc loc;
};

using ExprPtr = std::unique_ptr<Expr>;

class IntLitExpr : public Expr {
public:
  IntLitExpr(llvm::SMLoc loc, int64_t value)
      : Expr(Kind::IntLit, loc), value(value) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::IntLit; }
  int64_t value;
};

class FloatLitExpr : public Expr {
public:
  FloatLitExpr(llvm::SMLoc loc, double value)
      : Expr(Kind::FloatLit, loc), value(value) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::FloatLit; }
  double value;
};

class BoolLitExpr : public Expr {
public:
  BoolLitExpr(llvm::SMLoc loc, bool value)
      : Expr(Kind::BoolLit, loc), value(value) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::BoolLit; }
  bool value;
};

/// What a plain identifier refers to, decided by semantic analysis.
enum class NameRefKind {
  Unresolved,
  Param,        ///< a parameter of mask/score/feature/decay (see paramIndex)
  Const,        ///< a `const` (see constDecl; its value is folded)
  Size,         ///< a symbolic size bound at launch
  Infinity,     ///< the built-in float constant `inf`
  CascadeIndex, ///< an index name of a cascade step
};

class NameExpr : public Expr {
public:
  NameExpr(llvm::SMLoc loc, std::string name)
      : Expr(Kind::Name, loc), name(std::move(name)) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Name; }
  std::string name;

  NameRefKind refKind = NameRefKind::Unresolved;
  /// For parameters: the position in the flattened parameter list.
  unsigned paramIndex = 0;
  const ConstDecl *constDecl = nullptr;
};

/// `name[sub, ...]`: reads an input tensor (attention blocks) or a tensor of
/// a cascade (inputs and earlier steps; subscripts are index names there).
class IndexExpr : public Expr {
public:
  IndexExpr(llvm::SMLoc loc, std::string name, std::vector<ExprPtr> subscripts)
      : Expr(Kind::Index, loc), name(std::move(name)),
        subscripts(std::move(subscripts)) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Index; }
  std::string name;
  std::vector<ExprPtr> subscripts;

  /// Set by semantic analysis: the input read (attention blocks and cascade
  /// inputs), or the index of the cascade step read.
  const TensorDecl *input = nullptr;
  int stepIndex = -1;
};

class UnaryExpr : public Expr {
public:
  UnaryExpr(llvm::SMLoc loc, UnaryOp op, ExprPtr operand)
      : Expr(Kind::Unary, loc), op(op), operand(std::move(operand)) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Unary; }
  UnaryOp op;
  ExprPtr operand;
};

class BinaryExpr : public Expr {
public:
  BinaryExpr(llvm::SMLoc loc, BinaryOp op, ExprPtr lhs, ExprPtr rhs)
      : Expr(Kind::Binary, loc), op(op), lhs(std::move(lhs)),
        rhs(std::move(rhs)) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Binary; }
  BinaryOp op;
  ExprPtr lhs, rhs;
};

class TernaryExpr : public Expr {
public:
  TernaryExpr(llvm::SMLoc loc, ExprPtr cond, ExprPtr thenExpr, ExprPtr elseExpr)
      : Expr(Kind::Ternary, loc), cond(std::move(cond)),
        thenExpr(std::move(thenExpr)), elseExpr(std::move(elseExpr)) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Ternary; }
  ExprPtr cond, thenExpr, elseExpr;
};

/// A call of a built-in function: `min(a, b)`, `neighborhood(i, j, n, 7, 1)`.
class CallExpr : public Expr {
public:
  CallExpr(llvm::SMLoc loc, Builtin callee, std::vector<ExprPtr> args)
      : Expr(Kind::Call, loc), callee(callee), args(std::move(args)) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Call; }
  Builtin callee;
  std::vector<ExprPtr> args;
};

/// `sum(m: body)` / `max(m: body)`: an explicit reduction (cascades only).
class ReduceExpr : public Expr {
public:
  ReduceExpr(llvm::SMLoc loc, ReduceKind reduceKind, std::string index,
             llvm::SMLoc indexLoc, ExprPtr body)
      : Expr(Kind::Reduce, loc), reduceKind(reduceKind),
        index(std::move(index)), indexLoc(indexLoc), body(std::move(body)) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Reduce; }
  ReduceKind reduceKind;
  std::string index;
  llvm::SMLoc indexLoc;
  ExprPtr body;
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// One dimension of a tensor declaration: a size name or a literal extent.
struct Dim {
  llvm::SMLoc loc;
  std::string size; ///< empty for a literal
  int64_t extent = 0;
  bool isSize() const { return !size.empty(); }
  /// Whether two dims certainly denote the same extent.
  bool sameAs(const Dim &other) const {
    return isSize() ? size == other.size
                    : !other.isSize() && extent == other.extent;
  }
};

struct TensorDecl {
  llvm::SMLoc loc;
  std::string name;
  llvm::SMLoc dtypeLoc;
  DType dtype = DType::F32;
  std::vector<Dim> dims;
  bool isInput = false;
};

struct ConstDecl {
  llvm::SMLoc loc;
  std::string name;
  ExprPtr value;
  /// Set by semantic analysis when `value` folds.
  std::optional<ConstValue> folded;
};

struct Param {
  llvm::SMLoc loc;
  std::string name;
};

/// One parameter position of `mask`/`score`: a name, or `[x, y]` for a
/// position with several token axes.
struct ParamGroup {
  llvm::SMLoc loc;
  bool bracketed = false;
  std::vector<Param> names;
};

/// `mask(...) = e`, `score(...) = e`, `feature(x) = e`, `decay(b, h, t) = e`.
struct FunctionDef {
  llvm::SMLoc loc;
  std::vector<ParamGroup> groups;
  ExprPtr body;
  /// Set by semantic analysis: the parameters flattened, in order.
  std::vector<Param> params;
};

/// `name = expr` forms with a plain expression: `scale = 0.125`.
struct ValueDef {
  llvm::SMLoc loc;
  ExprPtr value;
};

enum class Normalize { None, Sum };

/// One step of a cascade: `[output] NAME[i, ...] = expr`.
struct CascadeStep {
  llvm::SMLoc loc;
  bool isOutput = false;
  std::string name;
  std::vector<Param> indices;
  ExprPtr body;
  /// Set by semantic analysis: indices summed over the whole right-hand side
  /// because they are absent on the left.
  std::vector<std::string> summedIndices;
  /// Set by semantic analysis: the extent of each index of the step.
  std::vector<Dim> dims;
};

enum class BlockKind { Attention, LinearAttention, Cascade };
llvm::StringRef toString(BlockKind kind);

/// A size, and where it is first declared (materialised at launch from it).
struct SizeInfo {
  std::string name;
  const TensorDecl *tensor = nullptr;
  unsigned dim = 0;
};

struct Block {
  BlockKind kind = BlockKind::Attention;
  llvm::SMLoc loc;
  std::string name;

  // attention / linear_attention
  std::optional<TensorDecl> q, k, v;
  std::vector<TensorDecl> inputs; ///< declaration order (launch order)
  std::vector<std::unique_ptr<ConstDecl>> consts;
  std::optional<ValueDef> scale;
  std::optional<llvm::SMLoc> outputLse;
  std::optional<FunctionDef> mask, score;

  // linear_attention
  std::optional<llvm::SMLoc> causal;
  std::optional<FunctionDef> feature;
  std::optional<llvm::SMLoc> featureTaylor2;
  std::optional<FunctionDef> decay;
  std::optional<Param> gate;
  std::optional<llvm::SMLoc> normalizeLoc;
  Normalize normalize = Normalize::None;

  // cascade
  std::vector<CascadeStep> steps;

  /// Set by semantic analysis: every size, in order of first declaration.
  std::vector<SizeInfo> sizes;

  /// Number of token axes of q (attention blocks).
  unsigned numTokenAxes() const {
    return q && q->dims.size() >= 3 ? q->dims.size() - 3 : 0;
  }
  const TensorDecl *findInput(llvm::StringRef name) const;
  const SizeInfo *findSize(llvm::StringRef name) const;
  const ConstDecl *findConst(llvm::StringRef name) const;
};

/// A parsed .attn file.
struct SpecFile {
  std::vector<std::unique_ptr<Block>> blocks;
  const Block *findBlock(llvm::StringRef name) const;
};

} // namespace mlir::attn::spec

#endif // ATTN_SPEC_AST_H
