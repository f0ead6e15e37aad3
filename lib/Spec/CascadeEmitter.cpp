//===- CascadeEmitter.cpp - cascade blocks to attn.einsum/map/reduce ------===//
//
// A step that is a product of tensor reads becomes one attn.einsum (ranks
// absent on the left are summed). Otherwise every `sum(m: ...)` /
// `max(m: ...)` is hoisted into an attn.reduce (its body first becoming an
// attn.map when it is more than one f32 read), the remaining element-wise
// expression becomes an attn.map over the reads and hoisted results, and
// indices absent on the left are summed by a final attn.reduce sum. Rank
// names are the spec's index names.
//
//===----------------------------------------------------------------------===//

#include "IRGen.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::spec;

namespace mlir::attn::spec {

/// A tensor value and the rank name of each of its dimensions.
struct RankedValue {
  Value value;
  SmallVector<std::string, 4> ranks;
};

class CascadeEmitter {
public:
  explicit CascadeEmitter(FunctionBuilder &fb) : fb(fb), b(fb.b) {}

  /// Emits every step; returns the values of the output steps.
  SmallVector<Value> emitSteps();

private:
  Value emitStep(const CascadeStep &step);
  void collectIndexDims(const Expr &body);
  RankedValue readOf(const IndexExpr &read) const;
  RankedTensorType typeOfRanks(llvm::ArrayRef<std::string> ranks) const;
  ArrayAttr ranksAttr(llvm::ArrayRef<std::string> ranks) const;
  /// Emits the reductions of `expr` (not nested in another) as attn.reduce.
  void hoistReductions(const Expr &expr);
  RankedValue emitReduce(const ReduceExpr &reduce,
                         std::optional<llvm::ArrayRef<std::string>> order);
  /// The reads and hoisted reductions `expr` combines element-wise.
  void collectOperands(const Expr &expr,
                       SmallVector<std::pair<const Expr *, RankedValue>> &out);
  SmallVector<std::string, 4> ranksOfOperands(const Expr &expr);
  RankedValue emitMap(const Expr &body, llvm::ArrayRef<std::string> ranks);
  bool isFloatProduct(const Expr &expr) const;

  FunctionBuilder &fb;
  OpBuilder &b;
  std::vector<Value> stepValues;
  llvm::StringMap<Dim> indexDims;
  llvm::DenseMap<const Expr *, RankedValue> hoisted;
};

} // namespace mlir::attn::spec

/// Calls `fn` on the direct children of `expr`.
static void forEachChild(const Expr &expr,
                         const std::function<void(const Expr &)> &fn) {
  switch (expr.getKind()) {
  case Expr::Kind::Index:
    for (const ExprPtr &sub : llvm::cast<IndexExpr>(expr).subscripts)
      fn(*sub);
    break;
  case Expr::Kind::Unary: fn(*llvm::cast<UnaryExpr>(expr).operand); break;
  case Expr::Kind::Binary:
    fn(*llvm::cast<BinaryExpr>(expr).lhs);
    fn(*llvm::cast<BinaryExpr>(expr).rhs);
    break;
  case Expr::Kind::Ternary: {
    auto &t = llvm::cast<TernaryExpr>(expr);
    fn(*t.cond);
    fn(*t.thenExpr);
    fn(*t.elseExpr);
    break;
  }
  case Expr::Kind::Call:
    for (const ExprPtr &arg : llvm::cast<CallExpr>(expr).args)
      fn(*arg);
    break;
  case Expr::Kind::Reduce: fn(*llvm::cast<ReduceExpr>(expr).body); break;
  default: break;
  }
}

static std::string subscriptName(const ExprPtr &sub) {
  return llvm::cast<NameExpr>(*sub).name;
}

RankedValue CascadeEmitter::readOf(const IndexExpr &read) const {
  RankedValue result;
  result.value = read.input ? fb.argOf.lookup(read.input)
                            : stepValues[read.stepIndex];
  for (const ExprPtr &sub : read.subscripts)
    result.ranks.push_back(subscriptName(sub));
  return result;
}

void CascadeEmitter::collectIndexDims(const Expr &body) {
  walkExpr(body, [&](const Expr &e) {
    auto *read = llvm::dyn_cast<IndexExpr>(&e);
    if (!read)
      return;
    const std::vector<Dim> &dims =
        read->input ? read->input->dims
                    : fb.block.steps[read->stepIndex].dims;
    for (auto [position, sub] : llvm::enumerate(read->subscripts))
      indexDims.try_emplace(subscriptName(sub), dims[position]);
  });
}

RankedTensorType
CascadeEmitter::typeOfRanks(llvm::ArrayRef<std::string> ranks) const {
  SmallVector<Dim> dims;
  for (const std::string &rank : ranks)
    dims.push_back(indexDims.lookup(rank));
  return fb.typeOfDims(dims, b.getF32Type());
}

ArrayAttr CascadeEmitter::ranksAttr(llvm::ArrayRef<std::string> ranks) const {
  SmallVector<Attribute> names;
  for (const std::string &rank : ranks)
    names.push_back(b.getStringAttr(rank));
  return b.getArrayAttr(names);
}

bool CascadeEmitter::isFloatProduct(const Expr &expr) const {
  if (auto *read = llvm::dyn_cast<IndexExpr>(&expr))
    return isa<FloatType>(
        cast<ShapedType>(readOf(*read).value.getType()).getElementType());
  auto *binary = llvm::dyn_cast<BinaryExpr>(&expr);
  return binary && binary->op == BinaryOp::Mul &&
         isFloatProduct(*binary->lhs) && isFloatProduct(*binary->rhs);
}

void CascadeEmitter::hoistReductions(const Expr &expr) {
  if (auto *reduce = llvm::dyn_cast<ReduceExpr>(&expr)) {
    hoisted[&expr] = emitReduce(*reduce, std::nullopt);
    return;
  }
  forEachChild(expr, [&](const Expr &child) { hoistReductions(child); });
}

void CascadeEmitter::collectOperands(
    const Expr &expr, SmallVector<std::pair<const Expr *, RankedValue>> &out) {
  if (llvm::isa<ReduceExpr>(expr)) {
    out.push_back({&expr, hoisted.lookup(&expr)});
    return;
  }
  if (auto *read = llvm::dyn_cast<IndexExpr>(&expr)) {
    out.push_back({&expr, readOf(*read)});
    return;
  }
  forEachChild(expr, [&](const Expr &child) { collectOperands(child, out); });
}

SmallVector<std::string, 4> CascadeEmitter::ranksOfOperands(const Expr &expr) {
  SmallVector<std::pair<const Expr *, RankedValue>> operands;
  collectOperands(expr, operands);
  SmallVector<std::string, 4> ranks;
  for (auto &[node, operand] : operands)
    for (const std::string &rank : operand.ranks)
      if (!llvm::is_contained(ranks, rank))
        ranks.push_back(rank);
  return ranks;
}

RankedValue CascadeEmitter::emitMap(const Expr &body,
                                    llvm::ArrayRef<std::string> ranks) {
  SmallVector<std::pair<const Expr *, RankedValue>> uses;
  collectOperands(body, uses);
  // One operand per distinct (tensor, ranks): `X[p] - X[p]` reads X once.
  SmallVector<RankedValue> operands;
  llvm::DenseMap<const Expr *, unsigned> operandOf;
  for (auto &entry : uses) {
    const Expr *node = entry.first;
    const RankedValue &use = entry.second;
    auto it = llvm::find_if(operands, [&](const RankedValue &o) {
      return o.value == use.value && o.ranks == use.ranks;
    });
    operandOf[node] = it - operands.begin();
    if (it == operands.end())
      operands.push_back(use);
  }
  SmallVector<Value> values;
  SmallVector<Attribute> rankLists;
  SmallVector<Type> elementTypes;
  for (const RankedValue &operand : operands) {
    values.push_back(operand.value);
    rankLists.push_back(ranksAttr(operand.ranks));
    elementTypes.push_back(
        cast<ShapedType>(operand.value.getType()).getElementType());
  }
  Location loc = fb.loc(body.getLoc());
  auto map = MapOp::create(b, loc, typeOfRanks(ranks), values,
                           b.getArrayAttr(rankLists), ranksAttr(ranks));
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Location> locs(elementTypes.size(), loc);
  mlir::Block *block = b.createBlock(&map.getBody(), {}, elementTypes, locs);
  ExprEmitter emitter = fb.makeEmitter();
  for (auto [node, index] : operandOf)
    emitter.elementOf[node] = block->getArgument(index);
  Value result = emitter.convert(emitter.emit(body), body.type,
                                 ScalarType::Float, loc);
  YieldOp::create(b, loc, ValueRange{result});
  return {map.getResult(), SmallVector<std::string, 4>(ranks)};
}

RankedValue
CascadeEmitter::emitReduce(const ReduceExpr &reduce,
                           std::optional<llvm::ArrayRef<std::string>> order) {
  hoistReductions(*reduce.body);
  RankedValue operand;
  auto *read = llvm::dyn_cast<IndexExpr>(reduce.body.get());
  if (read && cast<ShapedType>(readOf(*read).value.getType())
                  .getElementType()
                  .isF32()) {
    operand = readOf(*read);
  } else if (llvm::isa<ReduceExpr>(*reduce.body)) {
    operand = hoisted.lookup(reduce.body.get());
  } else {
    operand = emitMap(*reduce.body, ranksOfOperands(*reduce.body));
  }
  SmallVector<std::string, 4> resultRanks;
  if (order) {
    resultRanks.assign(order->begin(), order->end());
  } else {
    for (const std::string &rank : operand.ranks)
      if (rank != reduce.index)
        resultRanks.push_back(rank);
  }
  auto kind = reduce.reduceKind == spec::ReduceKind::Sum
                  ? attn::ReduceKind::sum
                  : attn::ReduceKind::max;
  Value result = ReduceOp::create(
      b, fb.loc(reduce.getLoc()), typeOfRanks(resultRanks), operand.value,
      ReduceKindAttr::get(b.getContext(), kind), ranksAttr(operand.ranks),
      ranksAttr(resultRanks));
  return {result, resultRanks};
}

Value CascadeEmitter::emitStep(const CascadeStep &step) {
  indexDims.clear();
  hoisted.clear();
  collectIndexDims(*step.body);
  SmallVector<std::string, 4> lhs;
  for (const Param &index : step.indices)
    lhs.push_back(index.name);
  const Expr &body = *step.body;
  Location loc = fb.loc(step.loc);

  if (isFloatProduct(body)) {
    SmallVector<std::pair<const Expr *, RankedValue>> reads;
    collectOperands(body, reads);
    SmallVector<Value> values;
    SmallVector<Attribute> rankLists;
    for (auto &[node, read] : reads) {
      values.push_back(read.value);
      rankLists.push_back(ranksAttr(read.ranks));
    }
    return EinsumOp::create(b, loc, typeOfRanks(lhs), values,
                            b.getArrayAttr(rankLists), ranksAttr(lhs));
  }
  if (auto *reduce = llvm::dyn_cast<ReduceExpr>(&body))
    return emitReduce(*reduce, llvm::ArrayRef<std::string>(lhs)).value;

  hoistReductions(body);
  if (step.summedIndices.empty())
    return emitMap(body, lhs).value;
  SmallVector<std::string, 4> all(lhs);
  all.append(step.summedIndices.begin(), step.summedIndices.end());
  RankedValue terms = emitMap(body, all);
  return ReduceOp::create(b, loc, typeOfRanks(lhs), terms.value,
                          ReduceKindAttr::get(b.getContext(),
                                              attn::ReduceKind::sum),
                          ranksAttr(all), ranksAttr(lhs));
}

SmallVector<Value> CascadeEmitter::emitSteps() {
  SmallVector<Value> outputs;
  for (const CascadeStep &step : fb.block.steps) {
    stepValues.push_back(emitStep(step));
    if (step.isOutput)
      outputs.push_back(stepValues.back());
  }
  return outputs;
}

void FunctionBuilder::buildCascade() {
  std::vector<const TensorDecl *> args;
  for (const TensorDecl &input : block.inputs)
    args.push_back(&input);
  SmallVector<Type> results;
  for (const CascadeStep &step : block.steps)
    if (step.isOutput)
      results.push_back(typeOfDims(step.dims, b.getF32Type()));
  beginFunction(args, results);
  CascadeEmitter emitter(*this);
  SmallVector<Value> outputs = emitter.emitSteps();
  func::ReturnOp::create(b, loc(block.loc), outputs);
}
