//===- SemaExpr.cpp - names, types and constants of expressions -----------===//
//
// Checks one expression bottom-up: resolves each name, infers Int / Float /
// Bool (ints promote to float when mixed), and folds constant subtrees so
// that `const`s get values and a constant zero divisor or an i64 overflow is
// an error at compile time rather than a surprise at run time.
//
//===----------------------------------------------------------------------===//

#include "Sema.h"

#include "attn/Support/Neighborhood.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir::attn::spec;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

static bool isNumeric(ScalarType type) {
  return type == ScalarType::Int || type == ScalarType::Float;
}

static ScalarType promote(ScalarType a, ScalarType b) {
  return a == ScalarType::Float || b == ScalarType::Float ? ScalarType::Float
                                                          : ScalarType::Int;
}


Checked Sema::checkExpr(Expr &expr, const ExprScope &scope) {
  Checked result;
  switch (expr.getKind()) {
  case Expr::Kind::IntLit: {
    int64_t v = llvm::cast<IntLitExpr>(expr).value;
    result = {ScalarType::Int, ConstValue::ofInt(v)};
    break;
  }
  case Expr::Kind::FloatLit: {
    double v = llvm::cast<FloatLitExpr>(expr).value;
    result = {ScalarType::Float, ConstValue::ofFloat(v)};
    break;
  }
  case Expr::Kind::BoolLit: {
    bool v = llvm::cast<BoolLitExpr>(expr).value;
    result = {ScalarType::Bool, ConstValue::ofBool(v)};
    break;
  }
  case Expr::Kind::Name:
    result = checkName(llvm::cast<NameExpr>(expr), scope);
    break;
  case Expr::Kind::Index:
    result = scope.step ? checkCascadeRead(llvm::cast<IndexExpr>(expr), scope)
                        : checkIndex(llvm::cast<IndexExpr>(expr), scope);
    break;
  case Expr::Kind::Unary:
    result = checkUnary(llvm::cast<UnaryExpr>(expr), scope);
    break;
  case Expr::Kind::Binary:
    result = checkBinary(llvm::cast<BinaryExpr>(expr), scope);
    break;
  case Expr::Kind::Ternary:
    result = checkTernary(llvm::cast<TernaryExpr>(expr), scope);
    break;
  case Expr::Kind::Call:
    result = checkCall(llvm::cast<CallExpr>(expr), scope);
    break;
  case Expr::Kind::Reduce:
    result = checkReduce(llvm::cast<ReduceExpr>(expr), scope);
    break;
  }
  expr.type = result.type;
  return result;
}

Checked Sema::checkName(NameExpr &expr, const ExprScope &scope) {
  StringRef name = expr.name;
  for (auto [index, param] : llvm::enumerate(scope.params)) {
    if (param.name != name)
      continue;
    expr.refKind = NameRefKind::Param;
    expr.paramIndex = index;
    return {scope.paramTypes[index], {}};
  }
  if (scope.step) {
    for (const Param &index : scope.step->indices)
      if (index.name == name) {
        diags.error(expr.getLoc(),
                    "index '" + name + "' cannot be used as a value in a "
                    "cascade step; expected it only as a subscript");
        return errorResult();
      }
    if (llvm::is_contained(reductionIndices, name.str())) {
      diags.error(expr.getLoc(),
                  "index '" + name + "' cannot be used as a value in a "
                  "cascade step; expected it only as a subscript");
      return errorResult();
    }
  }
  if (const ConstDecl *decl = block->findConst(name)) {
    if (scope.currentConst) {
      // Consts are checked in order; a later one has no value yet.
      bool isEarlier = false;
      for (const auto &other : block->consts) {
        if (other.get() == scope.currentConst)
          break;
        if (other.get() == decl)
          isEarlier = true;
      }
      if (!isEarlier) {
        diags.error(expr.getLoc(),
                    "const '" + name + "' is used before it is defined; "
                    "expected a const defined earlier in the block");
        return errorResult();
      }
    }
    expr.refKind = NameRefKind::Const;
    expr.constDecl = decl;
    if (!decl->folded)
      return errorResult(); // already reported
    return {decl->folded->type, decl->folded};
  }
  if (name == "inf") {
    expr.refKind = NameRefKind::Infinity;
    return {ScalarType::Float, ConstValue::ofFloat(INFINITY)};
  }
  if (block->findSize(name)) {
    if (!scope.allowSizes) {
      diags.error(expr.getLoc(),
                  "size '" + name + "' is bound at launch and cannot be used "
                  "in " + scope.context + "; expected a literal or an "
                  "earlier const");
      return errorResult();
    }
    expr.refKind = NameRefKind::Size;
    return {ScalarType::Int, {}};
  }
  if (const TensorDecl *input = block->findInput(name)) {
    diags.error(expr.getLoc(),
                "input '" + name + "' must be indexed, as in '" + name + "[" +
                    (input->dims.size() == 1 ? "..." : "..., ...") +
                    "]' (it has " + Twine(input->dims.size()) +
                    " dimensions)");
    return errorResult();
  }
  if (block->kind != BlockKind::Cascade &&
      (name == "q" || name == "k" || name == "v")) {
    diags.error(expr.getLoc(), "tensor '" + name + "' cannot be used in an "
                               "expression; the score 's' is the scaled q·k "
                               "product");
    return errorResult();
  }
  if (block->kind == BlockKind::Cascade) {
    for (const CascadeStep &step : block->steps)
      if (step.name == name) {
        diags.error(expr.getLoc(), "step '" + name + "' must be indexed, "
                                   "as in '" + name + "[...]'");
        return errorResult();
      }
  }
  std::string expected = "expected ";
  if (!scope.params.empty())
    expected += "a parameter, ";
  expected += "a const";
  if (scope.allowSizes)
    expected += ", a size";
  expected += " or 'inf'";
  diags.error(expr.getLoc(),
              "unknown name '" + name + "' in " + scope.context + "; " +
                  expected);
  return errorResult();
}

Checked Sema::checkIndex(IndexExpr &expr, const ExprScope &scope) {
  const TensorDecl *input = block->findInput(expr.name);
  if (!input) {
    diags.error(expr.getLoc(), "unknown input '" + expr.name +
                                   "'; expected a tensor declared with "
                                   "'input " + expr.name + ": ...'");
    return errorResult();
  }
  if (!scope.allowInputs) {
    diags.error(expr.getLoc(), "input '" + expr.name + "' cannot be read in " +
                                   scope.context +
                                   "; inputs are read in mask, score and "
                                   "decay");
    return errorResult();
  }
  expr.input = input;
  bool ok = true;
  for (auto [position, sub] : llvm::enumerate(expr.subscripts)) {
    Checked c = checkExpr(*sub, scope);
    if (c.type == ScalarType::Error) {
      ok = false;
    } else if (c.type != ScalarType::Int) {
      diags.error(sub->getStartLoc(), "subscript " + Twine(position + 1) + " of '" +
                                     expr.name + "' must be an integer, found " +
                                     toString(c.type));
      ok = false;
    }
  }
  if (expr.subscripts.size() != input->dims.size()) {
    diags.error(expr.getLoc(), "input '" + expr.name + "' has " +
                                   Twine(input->dims.size()) +
                                   " dimensions; expected " +
                                   Twine(input->dims.size()) +
                                   " subscripts, found " +
                                   Twine(expr.subscripts.size()));
    return errorResult();
  }
  if (!ok)
    return errorResult();
  return {scalarTypeOf(input->dtype), {}};
}

Checked Sema::checkUnary(UnaryExpr &expr, const ExprScope &scope) {
  Checked operand = checkExpr(*expr.operand, scope);
  if (operand.type == ScalarType::Error)
    return errorResult();
  if (expr.op == UnaryOp::Not) {
    if (operand.type != ScalarType::Bool) {
      diags.error(expr.getLoc(), "operator '!' expects a bool operand, found " +
                                     toString(operand.type));
      return errorResult();
    }
    if (operand.value)
      return {ScalarType::Bool, ConstValue::ofBool(!operand.value->boolValue)};
    return {ScalarType::Bool, {}};
  }
  if (!isNumeric(operand.type)) {
    diags.error(expr.getLoc(), "unary '-' expects a number, found " +
                                   toString(operand.type));
    return errorResult();
  }
  if (!operand.value)
    return {operand.type, {}};
  if (operand.type == ScalarType::Float)
    return {ScalarType::Float, ConstValue::ofFloat(-operand.value->floatValue)};
  if (operand.value->intValue == INT64_MIN) {
    diags.error(expr.getLoc(), "integer overflow in constant expression; "
                               "expected a result that fits in i64");
    return errorResult();
  }
  return {ScalarType::Int, ConstValue::ofInt(-operand.value->intValue)};
}

/// Folds an integer operation; returns false on overflow.
static bool foldInt(BinaryOp op, int64_t a, int64_t b, int64_t &result) {
  switch (op) {
  case BinaryOp::Add: return !llvm::AddOverflow(a, b, result);
  case BinaryOp::Sub: return !llvm::SubOverflow(a, b, result);
  case BinaryOp::Mul: return !llvm::MulOverflow(a, b, result);
  case BinaryOp::Div:
  case BinaryOp::Mod:
    if (a == INT64_MIN && b == -1)
      return false;
    result = op == BinaryOp::Div ? mlir::attn::floorDiv(a, b)
                                 : mlir::attn::floorMod(a, b);
    return true;
  default: return false;
  }
}

static double foldFloat(BinaryOp op, double a, double b) {
  switch (op) {
  case BinaryOp::Add: return a + b;
  case BinaryOp::Sub: return a - b;
  case BinaryOp::Mul: return a * b;
  case BinaryOp::Div: return a / b;
  case BinaryOp::Mod: return a - std::floor(a / b) * b;
  default: return 0.0;
  }
}

static bool compare(BinaryOp op, double a, double b) {
  switch (op) {
  case BinaryOp::Lt: return a < b;
  case BinaryOp::Le: return a <= b;
  case BinaryOp::Gt: return a > b;
  case BinaryOp::Ge: return a >= b;
  case BinaryOp::Eq: return a == b;
  case BinaryOp::Ne: return a != b;
  default: return false;
  }
}

static bool compareInt(BinaryOp op, int64_t a, int64_t b) {
  switch (op) {
  case BinaryOp::Lt: return a < b;
  case BinaryOp::Le: return a <= b;
  case BinaryOp::Gt: return a > b;
  case BinaryOp::Ge: return a >= b;
  case BinaryOp::Eq: return a == b;
  case BinaryOp::Ne: return a != b;
  default: return false;
  }
}

Checked Sema::checkBinary(BinaryExpr &expr, const ExprScope &scope) {
  Checked lhs = checkExpr(*expr.lhs, scope);
  Checked rhs = checkExpr(*expr.rhs, scope);
  if (lhs.type == ScalarType::Error || rhs.type == ScalarType::Error)
    return errorResult();
  BinaryOp op = expr.op;
  std::string opName = ("'" + toString(op) + "'").str();
  bool bothKnown = lhs.value && rhs.value;

  if (op == BinaryOp::And || op == BinaryOp::Or) {
    if (lhs.type != ScalarType::Bool || rhs.type != ScalarType::Bool) {
      diags.error(expr.getLoc(), "operator " + opName +
                                     " expects bool operands, found " +
                                     toString(lhs.type) + " and " +
                                     toString(rhs.type));
      return errorResult();
    }
    if (!bothKnown)
      return {ScalarType::Bool, {}};
    bool a = lhs.value->boolValue, b = rhs.value->boolValue;
    return {ScalarType::Bool,
            ConstValue::ofBool(op == BinaryOp::And ? a && b : a || b)};
  }

  bool isComparison = op >= BinaryOp::Lt && op <= BinaryOp::Ne;
  if (isComparison) {
    bool boolEquality = (op == BinaryOp::Eq || op == BinaryOp::Ne) &&
                        lhs.type == ScalarType::Bool &&
                        rhs.type == ScalarType::Bool;
    if (!boolEquality && (!isNumeric(lhs.type) || !isNumeric(rhs.type))) {
      diags.error(expr.getLoc(), "operator " + opName +
                                     " expects two numbers, found " +
                                     toString(lhs.type) + " and " +
                                     toString(rhs.type));
      return errorResult();
    }
    if (!bothKnown)
      return {ScalarType::Bool, {}};
    bool value;
    if (boolEquality)
      value = (lhs.value->boolValue == rhs.value->boolValue) ==
              (op == BinaryOp::Eq);
    else if (lhs.type == ScalarType::Int && rhs.type == ScalarType::Int)
      value = compareInt(op, lhs.value->intValue, rhs.value->intValue);
    else
      value = compare(op, lhs.value->asFloat(), rhs.value->asFloat());
    return {ScalarType::Bool, ConstValue::ofBool(value)};
  }

  if (!isNumeric(lhs.type) || !isNumeric(rhs.type)) {
    diags.error(expr.getLoc(), "operator " + opName +
                                   " expects two numbers, found " +
                                   toString(lhs.type) + " and " +
                                   toString(rhs.type));
    return errorResult();
  }
  ScalarType type = promote(lhs.type, rhs.type);
  if ((op == BinaryOp::Div || op == BinaryOp::Mod) && rhs.value &&
      rhs.value->asFloat() == 0.0) {
    diags.error(expr.getLoc(), (op == BinaryOp::Div ? "division" : "modulo") +
                                   Twine(" by zero; expected a non-zero "
                                         "divisor"));
    return errorResult();
  }
  if (!bothKnown)
    return {type, {}};
  if (type == ScalarType::Float)
    return {type, ConstValue::ofFloat(foldFloat(op, lhs.value->asFloat(),
                                                rhs.value->asFloat()))};
  int64_t folded;
  if (!foldInt(op, lhs.value->intValue, rhs.value->intValue, folded)) {
    diags.error(expr.getLoc(), "integer overflow in constant expression; "
                               "expected a result that fits in i64");
    return errorResult();
  }
  return {type, ConstValue::ofInt(folded)};
}

Checked Sema::checkTernary(TernaryExpr &expr, const ExprScope &scope) {
  Checked cond = checkExpr(*expr.cond, scope);
  Checked thenC = checkExpr(*expr.thenExpr, scope);
  Checked elseC = checkExpr(*expr.elseExpr, scope);
  if (cond.type == ScalarType::Error || thenC.type == ScalarType::Error ||
      elseC.type == ScalarType::Error)
    return errorResult();
  if (cond.type != ScalarType::Bool) {
    diags.error(expr.cond->getStartLoc(), "the condition of '?:' must be bool, "
                                     "found " + toString(cond.type));
    return errorResult();
  }
  ScalarType type;
  if (thenC.type == elseC.type)
    type = thenC.type;
  else if (isNumeric(thenC.type) && isNumeric(elseC.type))
    type = ScalarType::Float;
  else {
    diags.error(expr.getLoc(), "the branches of '?:' must both be numbers or "
                               "both be bool, found " +
                                   toString(thenC.type) + " and " +
                                   toString(elseC.type));
    return errorResult();
  }
  if (!cond.value)
    return {type, {}};
  Checked &chosen = cond.value->boolValue ? thenC : elseC;
  if (!chosen.value)
    return {type, {}};
  ConstValue v = *chosen.value;
  if (type == ScalarType::Float && v.type == ScalarType::Int)
    v = ConstValue::ofFloat(double(v.intValue));
  return {type, v};
}

Checked Sema::checkCall(CallExpr &expr, const ExprScope &scope) {
  std::vector<Checked> args;
  bool ok = true;
  for (ExprPtr &arg : expr.args) {
    args.push_back(checkExpr(*arg, scope));
    ok &= args.back().type != ScalarType::Error;
  }
  if (!ok)
    return errorResult();
  StringRef name = toString(expr.callee);
  bool allKnown = llvm::all_of(args, [](const Checked &c) {
    return c.value.has_value();
  });

  if (expr.callee == Builtin::Neighborhood ||
      expr.callee == Builtin::NeighborhoodCausal) {
    static const char *const names[] = {"query position", "key position",
                                        "extent", "size", "dilation"};
    for (auto [position, arg] : llvm::enumerate(args)) {
      if (arg.type == ScalarType::Int)
        continue;
      diags.error(expr.args[position]->getStartLoc(),
                  "argument " + Twine(position + 1) + " of '" + name + "' (" +
                      names[position] + ") must be an integer, found " +
                      toString(arg.type));
      return errorResult();
    }
    if (!allKnown)
      return {ScalarType::Bool, {}};
    bool in = mlir::attn::neighborhoodContains(
        args[0].value->intValue, args[1].value->intValue,
        args[2].value->intValue, args[3].value->intValue,
        args[4].value->intValue, expr.callee == Builtin::NeighborhoodCausal);
    return {ScalarType::Bool, ConstValue::ofBool(in)};
  }

  ScalarType type = ScalarType::Int;
  for (auto [position, arg] : llvm::enumerate(args)) {
    if (!isNumeric(arg.type)) {
      diags.error(expr.args[position]->getStartLoc(),
                  "argument " + Twine(position + 1) + " of '" + name +
                      "' must be a number, found " + toString(arg.type));
      return errorResult();
    }
    type = promote(type, arg.type);
  }
  bool isMath = expr.callee == Builtin::Exp || expr.callee == Builtin::Log ||
                expr.callee == Builtin::Tanh || expr.callee == Builtin::Sqrt;
  if (isMath)
    type = ScalarType::Float;
  if (!allKnown)
    return {type, {}};

  auto asInt = [&](unsigned i) { return args[i].value->intValue; };
  auto asFloat = [&](unsigned i) { return args[i].value->asFloat(); };
  switch (expr.callee) {
  case Builtin::Min:
  case Builtin::Max: {
    bool isMin = expr.callee == Builtin::Min;
    if (type == ScalarType::Int)
      return {type, ConstValue::ofInt(isMin ? std::min(asInt(0), asInt(1))
                                            : std::max(asInt(0), asInt(1)))};
    return {type, ConstValue::ofFloat(isMin ? std::fmin(asFloat(0), asFloat(1))
                                            : std::fmax(asFloat(0),
                                                        asFloat(1)))};
  }
  case Builtin::Clamp:
    if (type == ScalarType::Int)
      return {type, ConstValue::ofInt(
                        std::min(std::max(asInt(0), asInt(1)), asInt(2)))};
    return {type, ConstValue::ofFloat(
                      std::fmin(std::fmax(asFloat(0), asFloat(1)),
                                asFloat(2)))};
  case Builtin::Abs:
    if (type == ScalarType::Int) {
      if (asInt(0) == INT64_MIN) {
        diags.error(expr.getLoc(), "integer overflow in constant expression; "
                                   "expected a result that fits in i64");
        return errorResult();
      }
      return {type, ConstValue::ofInt(asInt(0) < 0 ? -asInt(0) : asInt(0))};
    }
    return {type, ConstValue::ofFloat(std::fabs(asFloat(0)))};
  case Builtin::Exp: return {type, ConstValue::ofFloat(std::exp(asFloat(0)))};
  case Builtin::Log: return {type, ConstValue::ofFloat(std::log(asFloat(0)))};
  case Builtin::Tanh:
    return {type, ConstValue::ofFloat(std::tanh(asFloat(0)))};
  case Builtin::Sqrt:
    return {type, ConstValue::ofFloat(std::sqrt(asFloat(0)))};
  default: break;
  }
  return {type, {}};
}

Checked Sema::checkReduce(ReduceExpr &expr, const ExprScope &scope) {
  std::string kindName = toString(expr.reduceKind).str();
  if (!scope.step) {
    diags.error(expr.getLoc(), "reduction '" + kindName + "(" + expr.index +
                                   ": ...)' is only allowed in cascade steps; "
                                   "expected '" + kindName +
                                   "(a, b)'-style arguments here");
    return errorResult();
  }
  for (const Param &index : scope.step->indices)
    if (index.name == expr.index) {
      diags.error(expr.indexLoc, "cannot reduce over index '" + expr.index +
                                     "' of '" + scope.step->name +
                                     "'; expected an index absent on the "
                                     "left-hand side");
      return errorResult();
    }
  if (llvm::is_contained(reductionIndices, expr.index)) {
    diags.error(expr.indexLoc, "index '" + expr.index + "' is already reduced "
                               "by an enclosing reduction");
    return errorResult();
  }
  reductionIndices.push_back(expr.index);
  Checked body = checkExpr(*expr.body, scope);
  reductionIndices.pop_back();
  if (body.type == ScalarType::Error)
    return errorResult();
  if (!isNumeric(body.type)) {
    diags.error(expr.body->getStartLoc(), "the body of '" + kindName +
                                         "' must be a number, found " +
                                         toString(body.type));
    return errorResult();
  }
  if (!indexExtents.count(expr.index)) {
    diags.error(expr.indexLoc, "reduction index '" + expr.index +
                                   "' does not appear in a subscript of the "
                                   "body, so its extent is unknown");
    return errorResult();
  }
  return {ScalarType::Float, {}};
}
