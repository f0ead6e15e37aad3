//===- CascadeBuilder.cpp - building cascade ops by rank name -------------===//

#include "CascadeBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cascade;

RankList mlir::attn::cascade::ranksOf(ArrayAttr ranks) {
  RankList list;
  for (Attribute a : ranks)
    list.push_back(cast<StringAttr>(a).getValue());
  return list;
}

Ranked CascadeBuilder::bind(Value v, RankList ranks) {
  auto type = cast<ShapedType>(v.getType());
  for (auto [rank, extent] : llvm::zip(ranks, type.getShape())) {
    auto [it, inserted] = extents.try_emplace(rank, extent);
    // A static extent seen later refines a dynamic one.
    if (!inserted && ShapedType::isDynamic(it->second))
      it->second = extent;
  }
  return {v, std::move(ranks)};
}

RankedTensorType CascadeBuilder::typeOf(llvm::ArrayRef<StringRef> ranks,
                                        Type element) {
  SmallVector<int64_t> shape;
  for (StringRef r : ranks) {
    auto it = extents.find(r);
    shape.push_back(it == extents.end() ? ShapedType::kDynamic : it->second);
  }
  return RankedTensorType::get(shape, element);
}

ArrayAttr CascadeBuilder::rankAttr(llvm::ArrayRef<StringRef> ranks) {
  SmallVector<Attribute> attrs;
  for (StringRef r : ranks)
    attrs.push_back(b.getStringAttr(r));
  return b.getArrayAttr(attrs);
}

Value CascadeBuilder::einsum(llvm::ArrayRef<Ranked> inputs,
                             llvm::ArrayRef<StringRef> result, Type element) {
  SmallVector<Value> values;
  SmallVector<Attribute> lists;
  for (const Ranked &in : inputs) {
    values.push_back(in.value);
    lists.push_back(rankAttr(in.ranks));
  }
  return EinsumOp::create(b, loc, typeOf(result, element), values,
                          b.getArrayAttr(lists), rankAttr(result));
}

Value CascadeBuilder::reduce(ReduceKind kind, const Ranked &input,
                             llvm::ArrayRef<StringRef> result) {
  Type element = cast<ShapedType>(input.value.getType()).getElementType();
  return ReduceOp::create(b, loc, typeOf(result, element), input.value,
                          ReduceKindAttr::get(b.getContext(), kind),
                          rankAttr(input.ranks), rankAttr(result));
}

Value CascadeBuilder::map(llvm::ArrayRef<Ranked> inputs,
                          llvm::ArrayRef<StringRef> result, Type element,
                          MapBodyFn body) {
  SmallVector<Value> values;
  SmallVector<Attribute> lists;
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  for (const Ranked &in : inputs) {
    values.push_back(in.value);
    lists.push_back(rankAttr(in.ranks));
    argTypes.push_back(cast<ShapedType>(in.value.getType()).getElementType());
    argLocs.push_back(loc);
  }
  auto op = MapOp::create(b, loc, typeOf(result, element), values,
                          b.getArrayAttr(lists), rankAttr(result));
  OpBuilder::InsertionGuard guard(b);
  Block *block = b.createBlock(&op.getBody(), {}, argTypes, argLocs);
  b.setInsertionPointToStart(block);
  Value y = body(b, loc, block->getArguments());
  YieldOp::create(b, loc, y);
  return op.getResult();
}

Value CascadeBuilder::constantFloat(Type type, double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}
