//===- LoweringUtils.cpp - builders shared by the kernel lowerings --------===//

#include "attn/Conversion/LoweringUtils.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::attn {

Value idx(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

void forEach(ImplicitLocOpBuilder &b, Value lb, Value ub, int64_t step,
             BodyFn body) {
  auto loop = scf::ForOp::create(b, lb, ub, idx(b, step));
  ImplicitLocOpBuilder inner =
      ImplicitLocOpBuilder::atBlockBegin(b.getLoc(), loop.getBody());
  body(inner, loop.getInductionVar());
}

SmallVector<Value> forEachCarry(ImplicitLocOpBuilder &b, Value lb, Value ub,
                                int64_t step, ValueRange init, CarryFn body) {
  auto loop = scf::ForOp::create(
      b, lb, ub, idx(b, step), init,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange carried) {
        ImplicitLocOpBuilder inner(loc, nested);
        scf::YieldOp::create(inner, body(inner, iv, carried));
      });
  return SmallVector<Value>(loop.getResults().begin(), loop.getResults().end());
}

void ifThen(ImplicitLocOpBuilder &b, Value cond,
            function_ref<void(ImplicitLocOpBuilder &)> then) {
  auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  ImplicitLocOpBuilder inner =
      ImplicitLocOpBuilder::atBlockBegin(b.getLoc(), ifOp.thenBlock());
  then(inner);
}

Value ifThenElse(ImplicitLocOpBuilder &b, Value cond, Type type,
                 function_ref<Value(ImplicitLocOpBuilder &)> then,
                 function_ref<Value(ImplicitLocOpBuilder &)> otherwise) {
  auto ifOp = scf::IfOp::create(b, TypeRange{type}, cond, /*withElse=*/true);
  ImplicitLocOpBuilder thenB =
      ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), ifOp.thenBlock());
  scf::YieldOp::create(thenB, then(thenB));
  ImplicitLocOpBuilder elseB =
      ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), ifOp.elseBlock());
  scf::YieldOp::create(elseB, otherwise(elseB));
  return ifOp.getResult(0);
}

Value toI64(ImplicitLocOpBuilder &b, Value index) {
  return arith::IndexCastOp::create(b, b.getI64Type(), index);
}

Value ceilDiv(ImplicitLocOpBuilder &b, Value x, int64_t d) {
  return arith::CeilDivUIOp::create(b, x, idx(b, d));
}

SmallVector<Value> boxOffsets(ImplicitLocOpBuilder &b, Value linear,
                              ArrayRef<int64_t> tile) {
  SmallVector<Value> offsets(tile.size());
  int64_t inner = 1;
  for (int64_t axis = tile.size() - 1; axis >= 0; --axis) {
    Value q = arith::DivUIOp::create(b, linear, idx(b, inner));
    offsets[axis] = arith::RemUIOp::create(b, q, idx(b, tile[axis]));
    inner *= tile[axis];
  }
  return offsets;
}

SmallVector<int64_t> boxDigits(int64_t v, ArrayRef<int64_t> tile) {
  SmallVector<int64_t> digits(tile.size());
  for (int64_t axis = tile.size() - 1; axis >= 0; --axis) {
    digits[axis] = axis == 0 ? v : v % tile[axis];
    v /= tile[axis];
  }
  return digits;
}

SmallVector<Value> carryFreeOffsets(ImplicitLocOpBuilder &b,
                                    ArrayRef<Value> dynamicDigits,
                                    ArrayRef<int64_t> dynamicValues,
                                    int64_t c, ArrayRef<int64_t> tile) {
  SmallVector<int64_t> constant = boxDigits(c, tile);
  for (int64_t d : dynamicValues) {
    SmallVector<int64_t> digits = boxDigits(d, tile);
    for (size_t axis = 1; axis < tile.size(); ++axis)
      if (digits[axis] + constant[axis] >= tile[axis])
        return {};
  }
  SmallVector<Value> offsets;
  for (auto [digit, add] : llvm::zip(dynamicDigits, constant))
    offsets.push_back(add ? Value(arith::AddIOp::create(b, digit, idx(b, add)))
                          : digit);
  return offsets;
}

SmallVector<Value> gridCoordinates(ImplicitLocOpBuilder &b, Value linear,
                                   ArrayRef<Value> counts) {
  SmallVector<Value> coords(counts.size());
  Value inner = idx(b, 1);
  for (int64_t axis = counts.size() - 1; axis >= 0; --axis) {
    Value q = axis == int64_t(counts.size()) - 1
                  ? linear
                  : Value(arith::DivUIOp::create(b, linear, inner));
    // The outermost index needs no remainder (linear < the product); a
    // division by a run-time count is dozens of instructions on a GPU.
    coords[axis] =
        axis == 0 ? q : Value(arith::RemUIOp::create(b, q, counts[axis]));
    inner = arith::MulIOp::create(b, inner, counts[axis]);
  }
  return coords;
}

Interval tileInterval(ImplicitLocOpBuilder &b, Value start, int64_t tile,
                      Value extent) {
  Value end = arith::AddIOp::create(b, start, idx(b, tile));
  Value last = arith::SubIOp::create(b, arith::MinUIOp::create(b, end, extent),
                                     idx(b, 1));
  return {toI64(b, start), toI64(b, last)};
}

LogicalResult checkAttentionFunctionForm(func::FuncOp func, AttentionOp op) {
  if (!func.getBody().hasOneBlock())
    return func.emitError("an attention function must have one block");
  auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
  if (!ret || ret.getOperands() != op.getResults())
    return func.emitError("an attention function must return exactly the "
                          "results of its attn.attention");
  SmallVector<Value> expected{op.getQuery(), op.getKey(), op.getValue()};
  llvm::append_range(expected, op.getInputs());
  if (func.getArguments().size() != expected.size() ||
      !llvm::equal(func.getArguments(), expected))
    return func.emitError("an attention function must take q, k, v and the "
                          "inputs, in that order, and pass them to its "
                          "attn.attention");
  return success();
}

Value expandNeighborhood(ImplicitLocOpBuilder &b, Value i, Value j, Value n,
                         Value size, Value dilation, bool causal) {
  using P = arith::CmpIPredicate;
  // Works on scalars and on vectors of positions alike.
  Type type = i.getType();
  auto c = [&](int64_t v) -> Value {
    TypedAttr scalar = b.getI64IntegerAttr(v);
    if (auto vectorType = dyn_cast<VectorType>(type))
      return arith::ConstantOp::create(b, DenseElementsAttr::get(vectorType, scalar));
    return arith::ConstantOp::create(b, scalar);
  };
  auto cmp = [&](P p, Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, p, x, y);
  };
  auto and_ = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, x, y);
  };
  Value zero = c(0), one = c(1);
  Value d = arith::MaxSIOp::create(b, dilation, one);
  Value ok = and_(and_(cmp(P::sge, i, zero), cmp(P::sge, j, zero)),
                  and_(cmp(P::slt, i, n), cmp(P::slt, j, n)));
  ok = and_(ok, and_(cmp(P::sgt, size, zero), cmp(P::sgt, dilation, zero)));
  Value r = arith::RemSIOp::create(b, i, d);
  ok = and_(ok, cmp(P::eq, arith::RemSIOp::create(b, j, d), r));
  Value g = arith::DivSIOp::create(b, i, d);
  Value gk = arith::DivSIOp::create(b, j, d);
  if (causal) {
    Value lo = arith::MaxSIOp::create(
        b, arith::AddIOp::create(b, arith::SubIOp::create(b, g, size), one),
        zero);
    return and_(ok, and_(cmp(P::sle, lo, gk), cmp(P::sle, gk, g)));
  }
  Value classLength = arith::DivSIOp::create(
      b,
      arith::AddIOp::create(b, arith::SubIOp::create(b, n, r),
                            arith::SubIOp::create(b, d, one)),
      d);
  ok = and_(ok, cmp(P::sle, size, classLength));
  Value half = arith::DivSIOp::create(b, size, c(2));
  Value start = arith::MaxSIOp::create(
      b,
      arith::MinSIOp::create(b, arith::SubIOp::create(b, g, half),
                             arith::SubIOp::create(b, classLength, size)),
      zero);
  return and_(ok, and_(cmp(P::sle, start, gk),
                       cmp(P::slt, gk, arith::AddIOp::create(b, start, size))));
}

RegionInliner::RegionInliner(ImplicitLocOpBuilder &b,
                             ArrayRef<TensorParam> inputs, TypeRange types)
    : inputs(inputs) {
  for (auto [input, type] : llvm::zip(inputs, types))
    placeholders.push_back(
        UnrealizedConversionCastOp::create(b, TypeRange{type}, input.data)
            .getResult(0));
}

bool RegionInliner::placeholdersInUse() const {
  return llvm::any_of(placeholders, [](Value p) { return !p.use_empty(); });
}

void RegionInliner::eraseUnusedPlaceholders() {
  for (Value placeholder : placeholders)
    if (placeholder.use_empty())
      placeholder.getDefiningOp()->erase();
  placeholders.clear();
}

LogicalResult RegionInliner::cloneOuterOps(ImplicitLocOpBuilder &b,
                                           func::FuncOp func, Operation *stop,
                                           ArrayRef<const TensorParam *> byArg) {
  for (Operation &o : func.getBody().front()) {
    if (&o == stop)
      break;
    if (auto dim = dyn_cast<tensor::DimOp>(o)) {
      auto arg = dyn_cast<BlockArgument>(dim.getSource());
      std::optional<int64_t> index = dim.getConstantIndex();
      // Bad IR (a dim of something else, or past the rank) is an error,
      // never an out-of-range read of `byArg`.
      if (!arg || !index || arg.getArgNumber() >= byArg.size() ||
          *index >= static_cast<int64_t>(byArg[arg.getArgNumber()]->sizes.size()))
        return dim.emitError("only tensor.dim of an argument at a constant "
                             "index is supported before the attn op");
      mapping.map(dim.getResult(), byArg[arg.getArgNumber()]->sizes[*index]);
      continue;
    }
    auto isTensor = [](Type t) { return isa<TensorType>(t); };
    if (llvm::any_of(o.getOperandTypes(), isTensor) ||
        llvm::any_of(o.getResultTypes(), isTensor) || o.getNumRegions())
      return o.emitError("unsupported op before the attn op in a kernel");
    b.clone(o, mapping);
  }
  return success();
}

void RegionInliner::lowerClonedOp(Operation *cloned,
                                  DenseMap<Value, Value> &replaced) {
  SmallVector<Operation *> worklist;
  cloned->walk([&](Operation *nested) { worklist.push_back(nested); });
  for (Operation *o : worklist) {
    ImplicitLocOpBuilder at(o->getLoc(), o);
    if (auto extract = dyn_cast<tensor::ExtractOp>(o)) {
      auto it = llvm::find(placeholders, extract.getTensor());
      if (it == placeholders.end())
        continue;
      const TensorParam &input = inputs[it - placeholders.begin()];
      SmallVector<Value> indices(extract.getIndices());
      Type resultType = extract.getType();
      Value value;
      if (readOverride)
        value = readOverride(at, it - placeholders.begin(), indices);
      auto read = [&](ImplicitLocOpBuilder &in, Value address) -> Value {
        Value loaded = input.load(in, input.elementType, address);
        if (resultType.isInteger(1))
          return arith::CmpIOp::create(
              in, arith::CmpIPredicate::ne, loaded,
              arith::ConstantIntOp::create(in, input.elementType, 0));
        return loaded;
      };
      // Kernels never read out of bounds: such a read is false / 0.
      if (!value) {
        Value inBounds = input.inBounds(at, indices);
        Value zero = arith::ConstantOp::create(at, at.getZeroAttr(resultType));
        if (outOfBoundsAddress) {
          Value address = arith::SelectOp::create(
              at, inBounds, input.addressOf(at, input.offsetOf(at, indices)),
              outOfBoundsAddress);
          value =
              arith::SelectOp::create(at, inBounds, read(at, address), zero);
        } else {
          value = ifThenElse(
              at, inBounds, resultType,
              [&](ImplicitLocOpBuilder &in) -> Value {
                return read(in,
                            input.addressOf(in, input.offsetOf(in, indices)));
              },
              [&](ImplicitLocOpBuilder &) -> Value { return zero; });
        }
      }
      replaced[extract.getResult()] = value;
      extract.replaceAllUsesWith(value);
      extract.erase();
    } else if (auto dim = dyn_cast<tensor::DimOp>(o)) {
      auto it = llvm::find(placeholders, dim.getSource());
      std::optional<int64_t> index = dim.getConstantIndex();
      if (it == placeholders.end() || !index)
        continue;
      Value size = inputs[it - placeholders.begin()].sizes[*index];
      replaced[dim.getResult()] = size;
      dim.replaceAllUsesWith(size);
      dim.erase();
    } else if (auto nb = dyn_cast<NeighborhoodOp>(o)) {
      Value expanded = expandNeighborhood(at, nb.getQuery(), nb.getKey(),
                                          nb.getExtent(), nb.getSize(),
                                          nb.getDilation(), nb.getCausal());
      replaced[nb.getResult()] = expanded;
      nb.replaceAllUsesWith(expanded);
      nb.erase();
    }
  }
}

/// Whether `o` may run where its branch would not have: pure ops (and the
/// bounds-safe loads), except integer divisions and remainders by anything
/// but a constant other than 0 and -1 — MLIR calls floordivsi and remsi
/// pure, but they lower to LLVM's sdiv/srem, undefined for such divisors,
/// and a guard like `w != 0 && t[i / w]` exists to avoid exactly that.
static bool isSafeToSpeculate(Operation &o) {
  if (isa<scf::YieldOp, LLVM::LoadOp>(o))
    return true;
  if (!isPure(&o))
    return false;
  if (isa<arith::DivSIOp, arith::DivUIOp, arith::CeilDivSIOp,
          arith::CeilDivUIOp, arith::FloorDivSIOp, arith::RemSIOp,
          arith::RemUIOp>(o)) {
    APInt divisor;
    return matchPattern(o.getOperand(1), m_ConstantInt(&divisor)) &&
           !divisor.isZero() && !divisor.isAllOnes();
  }
  return true;
}

/// Replaces `ifOp` by both of its branches, inlined before it, and selects
/// of their yields, when the branches (after flattening their own ifs) do
/// nothing but compute (pure, speculatable ops) and load; returns the
/// selects, one per result, or nothing where it could not. Loads are safe to
/// speculate only when every read is bounds-safe by construction
/// (RegionInliner::setOutOfBoundsAddress).
static std::optional<SmallVector<Value>> flattenIf(scf::IfOp ifOp) {
  if (!ifOp.elseBlock())
    return std::nullopt;
  for (Block *block : {ifOp.thenBlock(), ifOp.elseBlock()})
    for (Operation &o : llvm::make_early_inc_range(*block))
      if (auto inner = dyn_cast<scf::IfOp>(o); inner && !flattenIf(inner))
        return std::nullopt;
  for (Block *block : {ifOp.thenBlock(), ifOp.elseBlock()})
    for (Operation &o : *block)
      if (!isSafeToSpeculate(o))
        return std::nullopt;
  auto thenYield = cast<scf::YieldOp>(ifOp.thenBlock()->getTerminator());
  auto elseYield = cast<scf::YieldOp>(ifOp.elseBlock()->getTerminator());
  for (Block *block : {ifOp.thenBlock(), ifOp.elseBlock()})
    for (Operation &o : llvm::make_early_inc_range(block->without_terminator()))
      o.moveBefore(ifOp);
  ImplicitLocOpBuilder at(ifOp.getLoc(), ifOp);
  SmallVector<Value> selects;
  for (auto [result, yes, no] : llvm::zip(
           ifOp.getResults(), thenYield.getOperands(), elseYield.getOperands())) {
    selects.push_back(arith::SelectOp::create(at, ifOp.getCondition(), yes, no));
    result.replaceAllUsesWith(selects.back());
  }
  ifOp.erase();
  return selects;
}

Value RegionInliner::inlineRegion(ImplicitLocOpBuilder &b, Region &region,
                                  ValueRange leading) {
  IRMapping local = mapping;
  Block &block = region.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), leading))
    local.map(arg, value);
  for (auto [offset, placeholder] : llvm::enumerate(placeholders))
    local.map(block.getArgument(leading.size() + offset), placeholder);
  SmallVector<Operation *> cloned;
  for (Operation &o : block.without_terminator())
    cloned.push_back(b.clone(o, local));
  Value result = local.lookupOrDefault(
      cast<YieldOp>(block.getTerminator()).getValues()[0]);
  // Lowering erases some cloned ops (extracts, dims, neighborhoods), never
  // an scf.if: take the ifs first.
  SmallVector<scf::IfOp> ifs;
  for (Operation *o : cloned)
    if (auto ifOp = dyn_cast<scf::IfOp>(o))
      ifs.push_back(ifOp);
  DenseMap<Value, Value> replaced;
  for (Operation *o : cloned)
    lowerClonedOp(o, replaced);
  if (replaced.lookup(result))
    result = replaced.lookup(result);
  // With bounds-safe reads, the short-circuit branches the spec front end
  // emits around reads (`a && t[i]`) can be evaluated unconditionally:
  // straight-line code, whose equal loads LLVM shares.
  if (outOfBoundsAddress)
    for (scf::IfOp ifOp : ifs) {
      SmallVector<Value> results(ifOp.getResults());
      if (std::optional<SmallVector<Value>> selects = flattenIf(ifOp))
        for (auto [old, now] : llvm::zip(results, *selects))
          if (old == result)
            result = now;
    }
  return result;
}

} // namespace mlir::attn
